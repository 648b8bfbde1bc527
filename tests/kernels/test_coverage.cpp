// The registry is the only list of ops: walk it and fail for any op that lacks a shape rule, a
// CPU kernel or a row in the op test table (a TERRA_COVERS line in some kernel test).
#include "helpers.hpp"

using namespace terra;

TEST_CASE("every registered op has a shape rule, a CPU kernel and a test", "[registry]") {
  const auto& covered = test::covered_ops();
  for (const OpDef* op : Registry::instance().all()) {
    INFO(op->name());
    CHECK(op->infer);
    CHECK(op->kernel(DeviceType::CPU) != nullptr);
    CHECK(covered.count(op->name()) == 1);
  }
  for (const std::string& name : covered) {
    INFO(name);
    CHECK(Registry::instance().find(name) != nullptr);
  }
}
