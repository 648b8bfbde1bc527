#include <catch2/catch.hpp>

#include <cmath>

#include "tensor/generator.hpp"
#include "tensor/philox.hpp"

using namespace terra;

// Known-answer test from the Random123 distribution (kat_vectors: philox4x32 10 rounds,
// counter 0, key 0).
TEST_CASE("philox4x32-10 matches the Random123 known answers", "[philox]") {
  Philox4x32 r = philox4x32(0, 0, 0);
  CHECK(r.v[0] == 0x6627e8d5u);
  CHECK(r.v[1] == 0xe169c58du);
  CHECK(r.v[2] == 0xbc57ac4cu);
  CHECK(r.v[3] == 0x9b00dbd8u);
  // counter = all ones, key = all ones
  Philox4x32 s = philox4x32(~0ull, ~0ull, ~0ull);
  CHECK(s.v[0] == 0x408f276du);
  CHECK(s.v[1] == 0x41c83b0eu);
  CHECK(s.v[2] == 0xa20bc7c6u);
  CHECK(s.v[3] == 0x6d5451fdu);
}

TEST_CASE("philox uniforms are in [0, 1) with the right mean", "[philox]") {
  double sum = 0;
  const int n = 40000;
  for (int i = 0; i < n; ++i) {
    Philox4x32 r = philox4x32(i, 0, 42);
    float u = uniform_float(r.v[0]);
    double d = uniform_double(r.v[1], r.v[2]);
    REQUIRE(u >= 0.0f);
    REQUIRE(u < 1.0f);
    REQUIRE(d >= 0.0);
    REQUIRE(d < 1.0);
    sum += d;
  }
  CHECK(std::fabs(sum / n - 0.5) < 0.01);
}

TEST_CASE("generator reserves disjoint counter ranges and reseeds", "[philox]") {
  Generator g(7);
  CHECK(g.reserve(10) == 0);
  CHECK(g.reserve(5) == 10);
  g.manual_seed(9);
  CHECK(g.seed() == 9);
  CHECK(g.reserve(1) == 0);
  g.set_state(3, 100);
  CHECK(g.offset() == 100);
}
