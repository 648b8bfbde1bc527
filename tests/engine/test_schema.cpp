#include <catch2/catch.hpp>

#include "engine/registry/schema.hpp"
#include "tensor/error.hpp"

using namespace terra;

TEST_CASE("schemas parse into inputs, attributes and outputs", "[schema]") {
  Schema s = parse_schema(
      "cross_entropy(Tensor self, Tensor target, Tensor? weight=None, str reduction=\"mean\", int ignore_index=-100, "
      "float label_smoothing=0.0) -> Tensor");
  CHECK(s.name == "cross_entropy");
  REQUIRE(s.args.size() == 6);
  CHECK(s.inputs().size() == 3);
  CHECK(s.args[2].optional);
  CHECK(s.attr_names == std::vector<std::string>{"reduction", "ignore_index", "label_smoothing"});
  CHECK(std::get<std::string>(*s.args[3].default_value) == "mean");
  CHECK(std::get<int64_t>(*s.args[4].default_value) == -100);
  CHECK(std::get<double>(*s.args[5].default_value) == 0.0);

  Schema m = parse_schema("max_dim(Tensor self, int dim, bool keepdim=False) -> (Tensor values, Tensor indices)");
  CHECK(m.returns == std::vector<std::string>{"values", "indices"});
  CHECK_FALSE(m.args[1].default_value.has_value());

  Schema k = parse_schema("add(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor");
  CHECK(k.args[2].kwarg_only);
  CHECK(std::get<Scalar>(*k.args[2].default_value).as_int() == 1);
  CHECK(k.str() == "add(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor");

  Schema l = parse_schema("split(Tensor self, int[] split_size, int dim=0) -> Tensor[]");
  CHECK(l.returns_list);
  Schema c = parse_schema("cat(Tensor[] tensors, int dim=0) -> Tensor");
  CHECK(c.has_tensor_list());
  Schema d = parse_schema("f(Tensor self, int[2] stride=[1, 1], float? eps=-1e-05, ScalarType? dtype=None) -> Tensor");
  CHECK(std::get<std::vector<int64_t>>(*d.args[1].default_value) == std::vector<int64_t>{1, 1});
  CHECK(std::get<double>(*d.args[2].default_value) == -1e-05);
}

TEST_CASE("malformed schemas are rejected", "[schema]") {
  CHECK_THROWS_AS(parse_schema("f(Tensor self"), Error);
  CHECK_THROWS_AS(parse_schema("f(Matrix self) -> Tensor"), Error);
  CHECK_THROWS_AS(parse_schema("f(Tensor self) -> int"), Error);
}

TEST_CASE("attribute coercion", "[schema]") {
  Argument f{"eps", ArgType::Float, false, false, {}};
  CHECK(std::get<double>(coerce_attr(f, int64_t{2})) == 2.0);
  Argument i{"dim", ArgType::Int, false, false, {}};
  CHECK_THROWS_AS(coerce_attr(i, 2.5), Error);
  CHECK_THROWS_AS(coerce_attr(i, AttrValue{}), Error);
  Argument dt{"dtype", ArgType::ScalarType, true, false, {}};
  CHECK(std::get<DType>(coerce_attr(dt, std::string("float64"))) == DType::Float64);
}
