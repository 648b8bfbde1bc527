#include <catch2/catch.hpp>

#include "tensor/dtype.hpp"

using namespace terra;

TEST_CASE("promote_types follows PyTorch's lattice", "[dtype]") {
  CHECK(promote_types(DType::Bool, DType::Int32) == DType::Int32);
  CHECK(promote_types(DType::Int32, DType::Int64) == DType::Int64);
  CHECK(promote_types(DType::Int64, DType::Float32) == DType::Float32);
  CHECK(promote_types(DType::Float32, DType::Float64) == DType::Float64);
  CHECK(promote_types(DType::Bool, DType::Bool) == DType::Bool);
}

TEST_CASE("can_cast forbids lowering the category", "[dtype]") {
  CHECK(can_cast(DType::Int64, DType::Float32));
  CHECK_FALSE(can_cast(DType::Float32, DType::Int64));
  CHECK_FALSE(can_cast(DType::Int32, DType::Bool));
  CHECK(can_cast(DType::Bool, DType::Float64));
}

TEST_CASE("dtype names and sizes", "[dtype]") {
  for (DType dt : {DType::Bool, DType::Int32, DType::Int64, DType::Float32, DType::Float64})
    CHECK(dtype_from_name(dtype_name(dt)) == dt);
  CHECK(dtype_from_name("long") == DType::Int64);
  CHECK(itemsize(DType::Float64) == 8);
  CHECK(itemsize(DType::Bool) == 1);
  CHECK_THROWS_AS(dtype_from_name("complex64"), Error);
}

TEST_CASE("default float dtype", "[dtype]") {
  CHECK(default_float_dtype() == DType::Float32);
  set_default_float_dtype(DType::Float64);
  CHECK(default_float_dtype() == DType::Float64);
  set_default_float_dtype(DType::Float32);
  CHECK_THROWS_AS(set_default_float_dtype(DType::Int64), Error);
}
