#include <catch2/catch.hpp>

#include "engine/registry/registry.hpp"

using namespace terra;

TEST_CASE("the registry finds ops and reports effects", "[registry]") {
  auto& r = Registry::instance();
  REQUIRE(r.find("add") != nullptr);
  CHECK(r.find("no_such_op") == nullptr);
  CHECK_THROWS_AS(r.get("no_such_op"), Error);
  CHECK(r.get("copy_").effect == Effect::InPlace);
  CHECK(r.get("copy_").inplace_input == 0);
  CHECK(r.get("view").effect == Effect::View);
  CHECK(r.get("exp").fusion == FusionKind::Elementwise);
  auto all = r.all();
  CHECK(all.size() > 50);
  for (size_t i = 1; i < all.size(); ++i) CHECK(all[i - 1]->name() < all[i]->name());
}
