// Trace records: attribute equality and hashing over every attribute type, the node key (equal
// exactly when the identity fields are), and the printable form.
#include <cmath>
#include <functional>
#include <limits>

#include "trace_records.hpp"

using namespace terra;
using namespace terra::test;
using trace::Record;

namespace {

const std::vector<std::string> kOneAttr{"x"};
Attrs one_attr(AttrValue v) { return Attrs(&kOneAttr, {std::move(v)}); }

void check_same(const AttrValue& a, const AttrValue& b) {
  CHECK(trace::attrs_equal(one_attr(a), one_attr(b)));
  CHECK(trace::hash_attrs(one_attr(a)) == trace::hash_attrs(one_attr(b)));
}

void check_differ(const AttrValue& a, const AttrValue& b) {
  CHECK_FALSE(trace::attrs_equal(one_attr(a), one_attr(b)));
  CHECK(trace::hash_attrs(one_attr(a)) != trace::hash_attrs(one_attr(b)));
}

Record add_record() {
  Tensor a = random_tensor({2, 3}, DType::Float32, 1);
  Tensor b = random_tensor({2, 3}, DType::Float32, 2);
  return make_record("add", {{internal(0), a}, {param(0), b}}, 42, {{"alpha", 2}});
}

}  // namespace

TEST_CASE("attrs_equal and hash_attrs agree for every attribute type", "[trace][record]") {
  double nan = std::numeric_limits<double>::quiet_NaN();
  auto gen = std::make_shared<Generator>(7);
  check_same(std::monostate{}, std::monostate{});
  check_same(true, true);
  check_same(int64_t{3}, int64_t{3});
  check_same(nan, nan);
  check_same(Scalar(2.5), Scalar(2.5));
  check_same(std::string("mean"), std::string("mean"));
  check_same(std::vector<int64_t>{1, 2}, std::vector<int64_t>{1, 2});
  check_same(std::vector<double>{nan, 1.0}, std::vector<double>{nan, 1.0});
  check_same(DType::Float64, DType::Float64);
  check_same(Device{DeviceType::CUDA, 1}, Device{DeviceType::CUDA, 1});
  check_same(gen, gen);

  check_differ(std::monostate{}, false);
  check_differ(true, false);
  check_differ(int64_t{1}, true);
  check_differ(int64_t{3}, int64_t{4});
  check_differ(0.0, -0.0);  // bitwise
  check_differ(1.0, int64_t{1});
  check_differ(Scalar(1), Scalar(1.0));  // the kind matters for type promotion
  check_differ(Scalar(true), Scalar(1));
  check_differ(Scalar(1), Scalar(2));
  check_differ(std::string("mean"), std::string("sum"));
  check_differ(std::vector<int64_t>{1, 2}, std::vector<int64_t>{1, 2, 3});
  check_differ(std::vector<int64_t>{1, 2}, std::vector<int64_t>{2, 1});
  check_differ(std::vector<double>{1.0}, std::vector<double>{1.5});
  check_differ(DType::Float64, DType::Float32);
  check_differ(Device{DeviceType::CUDA, 0}, Device{DeviceType::CUDA, 1});
  check_differ(gen, std::make_shared<Generator>(7));  // generators by identity, not by state
}

TEST_CASE("attrs_equal compares attributes made from real schemas", "[trace][record]") {
  const OpDef& sum = Registry::instance().get("sum");
  Attrs a = make_attrs(sum, {{"dim", {0, 1}}, {"keepdim", true}});
  CHECK(trace::attrs_equal(a, make_attrs(sum, {{"dim", {0, 1}}, {"keepdim", true}})));
  CHECK(trace::hash_attrs(a) == trace::hash_attrs(make_attrs(sum, {{"dim", {0, 1}}, {"keepdim", true}})));
  CHECK_FALSE(trace::attrs_equal(a, make_attrs(sum, {{"dim", {0, 1}}})));
  CHECK_FALSE(trace::attrs_equal(a, Attrs()));
}

TEST_CASE("record keys are equal exactly when the node identity is", "[trace][record]") {
  Record base = add_record();
  Record same = add_record();
  CHECK(base.key == same.key);
  CHECK(base.same_node(same));

  using Edit = std::function<void(Record&)>;
  std::vector<std::pair<std::string, Edit>> identity_edits{
      {"op", [](Record& r) { r.op = &Registry::instance().get("sub"); }},
      {"form", [](Record& r) { r.form = trace::CallForm::InPlace; }},
      {"attribute", [](Record& r) { r.attrs = make_attrs(*r.op, {{"alpha", 3}}); }},
      {"location", [](Record& r) { r.location = 43; }},
      {"source kind", [](Record& r) { r.inputs[1] = internal(0); }},  // external -> internal
      {"source alias", [](Record& r) { r.inputs[1] = param(1); }},
      {"source record", [](Record& r) { r.inputs[0] = internal(1); }},
      {"source output", [](Record& r) { r.inputs[0] = internal(0, 1); }},
      {"shape", [](Record& r) { r.input_metas[0]->shape = {3, 2}; }},
      {"strides", [](Record& r) { r.input_metas[0]->strides = {1, 2}; }},
      {"dtype", [](Record& r) { r.input_metas[0]->dtype = DType::Float64; }},
      {"device", [](Record& r) { r.input_metas[0]->device = Device{DeviceType::CUDA, 0}; }},
      {"absent input", [](Record& r) { r.input_metas[1].reset(); }},
  };
  for (const auto& [what, edit] : identity_edits) {
    INFO(what);
    Record r = add_record();
    edit(r);
    r.finish_key();
    CHECK(r.key != base.key);
    CHECK_FALSE(r.same_node(base));
  }

  std::vector<std::pair<std::string, Edit>> other_edits{
      // Which kind of external input (InputSource::external): a plan binds them alike.
      {"external kind", [](Record& r) { r.inputs[1] = feed(0); }},
      {"offset", [](Record& r) { r.input_metas[0]->offset = 6; }},
      {"fetched", [](Record& r) { r.fetched = 1; }},
      {"output meta", [](Record& r) { r.outputs[0].meta.offset = 6; }},
  };
  for (const auto& [what, edit] : other_edits) {
    INFO(what);
    Record r = add_record();
    edit(r);
    r.finish_key();
    CHECK(r.key == base.key);
    CHECK(r.same_node(base));
  }
}

TEST_CASE("same_node compares the fields, not only the key", "[trace][record]") {
  Record base = add_record();
  Record r = add_record();
  r.location = 43;  // key left stale on purpose: as if two identities hashed alike
  CHECK_FALSE(r.same_node(base));
}

TEST_CASE("records print op, inputs with their sources and the location", "[trace][record]") {
  Record r = add_record();
  CHECK(r.str() == "add(float32[2, 3] <- #0.0, float32[2, 3] <- param@0) at location 0x2a");
  r.form = trace::CallForm::InPlace;
  CHECK(r.str().rfind("add_(", 0) == 0);
  trace::set_location_describer([](uint64_t key) { return "model.py:" + std::to_string(key); });
  CHECK(r.str() == "add_(float32[2, 3] <- #0.0, float32[2, 3] <- param@0) at model.py:42");
  trace::set_location_describer(nullptr);
  CHECK(trace::describe_location(255) == "location 0xff");
}

TEST_CASE("difference names the first part of the identity that differs", "[trace][record]") {
  const Record base = add_record();
  CHECK(base.difference(add_record()).empty());

  Record r = add_record();
  r.attrs = make_attrs(*r.op, {{"alpha", 3}});
  CHECK(base.difference(r) == "attribute alpha = 3, expected 2");
  r = add_record();
  r.attrs = make_attrs(*r.op, {{"alpha", 2.5}});
  CHECK(base.difference(r) == "attribute alpha = 2.5, expected 2");

  r = add_record();
  r.inputs[1] = feed(1);
  CHECK(base.difference(r) == "input 1 comes from feed@1, expected param@0");

  Tensor wide = random_tensor({3, 2}, DType::Float32, 3);
  r = make_record("add", {{internal(0), random_tensor({2, 3}, DType::Float32, 1)}, {param(0), wide.as_strided({2, 3}, {1, 2}, 0)}}, 42,
                  {{"alpha", 2}});
  CHECK(r.str() == base.str());  // the two print alike: only the strides tell them apart
  CHECK(base.difference(r) == "input 1 has strides [1, 2], expected [3, 1]");

  r = make_record("add", {{internal(0), random_tensor({2, 3}, DType::Float64, 1)}, {param(0), wide.as_strided({2, 3}, {1, 2}, 0)}}, 42,
                  {{"alpha", 2}});
  CHECK(base.difference(r) == "input 0 is float64[2, 3], expected float32[2, 3]");

  r = add_record();
  r.form = trace::CallForm::InPlace;
  CHECK(base.difference(r) == "called inplace, expected functional");

  trace::set_location_describer([](uint64_t key) { return key < 100 ? std::string("model.py:7") : "model.py:9"; });
  r = add_record();
  r.location = 43;
  CHECK(base.difference(r) == "the same line reached through other calls (another location key)");
  r.location = 143;
  CHECK(base.difference(r) == "called at model.py:9, expected model.py:7");
  trace::set_location_describer(nullptr);

  r = make_record("mul", {{internal(0), random_tensor({2, 3}, DType::Float32, 1)}, {param(0), wide.as_strided({2, 3}, {1, 2}, 0)}}, 42);
  CHECK(base.difference(r) == "another op");
}
