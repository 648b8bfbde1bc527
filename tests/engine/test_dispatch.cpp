// The dispatcher: attribute defaults and keyword checks, device checks, errors carrying the op,
// the shapes and dtypes of the inputs.
#include "helpers.hpp"
#include "tensor/cuda/cuda_device.hpp"

using namespace terra;
using namespace terra::test;

TEST_CASE("make_attrs fills defaults and rejects unknown keywords", "[dispatch]") {
  const OpDef& op = Registry::instance().get("add");
  Attrs a = make_attrs(op, {});
  CHECK(a.get<Scalar>("alpha").as_int() == 1);
  Attrs b = make_attrs(op, {{"alpha", 2.5}});
  CHECK(b.get<Scalar>("alpha").as_double() == 2.5);
  require_error([&] { make_attrs(op, {{"beta", 1}}); }, ErrorKind::Type, {"add", "beta"});
  const OpDef& sel = Registry::instance().get("select");
  require_error([&] { make_attrs(sel, {{"dim", 0}}); }, ErrorKind::Type, {"select", "index"});
  require_error([&] { make_attrs(sel, {{"dim", 0.5}, {"index", 0}}); }, ErrorKind::Type, {"dim"});
}

TEST_CASE("errors name the op and describe its inputs", "[dispatch][errors]") {
  Tensor a = random_tensor({2, 3}, DType::Float32, 1);
  Tensor b = random_tensor({3, 2}, DType::Float64, 2);
  try {
    call1("mul", {a, b});
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(e.op() == "mul");
    std::string m = e.what();
    CHECK(m.rfind("mul: ", 0) == 0);
    CHECK(m.find("float32[2, 3]") != std::string::npos);
    CHECK(m.find("float64[3, 2]") != std::string::npos);
  }
  require_error([&] { call1("not_an_op", {a}); }, ErrorKind::NotImplemented, {"not_an_op"});
}

TEST_CASE("wrong input counts and missing device kernels are clear errors", "[dispatch][errors]") {
  Tensor a = random_tensor({2}, DType::Float32, 3);
  require_error([&] { call1("exp", {}); }, ErrorKind::Type, {"exp", "expected 1 tensor"});
  require_error([&] { call1("exp", {a, a}); }, ErrorKind::Type, {"exp", "got 2"});
  // Trailing optional tensors may be left out: linear(input, weight) means bias=None.
  Tensor w = random_tensor({3, 2}, DType::Float32, 4);
  CHECK(call1("linear", {a, w}).shape() == Shape{3});
  require_error([&] { call1("linear", {a}); }, ErrorKind::Type, {"linear", "got 1"});
  // Without CUDA there is no kernel; with CUDA but no GPU the op's rule refuses the device.
  if (!has_allocator(DeviceType::CUDA))
    require_error([&] { call1("zeros", {}, {{"size", {2}}, {"device", "cuda"}}); },
                  cuda::is_built() ? ErrorKind::Runtime : ErrorKind::NotImplemented, {"zeros", "cuda"});
}
