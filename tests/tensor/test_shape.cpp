#include <catch2/catch.hpp>

#include "tensor/error.hpp"
#include "tensor/shape.hpp"

using namespace terra;

TEST_CASE("broadcast_shapes", "[shape]") {
  CHECK(broadcast_shapes({2, 1, 3}, {4, 1}) == Shape{2, 4, 3});
  CHECK(broadcast_shapes({}, {5}) == Shape{5});
  CHECK(broadcast_shapes({0, 1}, {1, 3}) == Shape{0, 3});
  try {
    broadcast_shapes({2, 3}, {4});
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("[2, 3]") != std::string::npos);
    CHECK(std::string(e.what()).find("[4]") != std::string::npos);
  }
}

TEST_CASE("contiguity and strides", "[shape]") {
  CHECK(contiguous_strides({2, 3, 4}) == Strides{12, 4, 1});
  CHECK(is_contiguous({2, 3}, {3, 1}));
  CHECK_FALSE(is_contiguous({2, 3}, {1, 2}));
  CHECK(is_contiguous({1, 3}, {100, 1}));  // size-1 dims do not matter
  CHECK(broadcast_strides({3, 1}, {1, 1}, {2, 3, 4}) == Strides{0, 1, 0});
}

TEST_CASE("normalize_dim", "[shape]") {
  CHECK(normalize_dim(-1, 3) == 2);
  CHECK(normalize_dim(0, 0) == 0);
  CHECK_THROWS_AS(normalize_dim(3, 3), Error);
  CHECK(normalize_dims({}, 3) == std::vector<int64_t>{0, 1, 2});
  CHECK(normalize_dims({-1, 0}, 3) == std::vector<int64_t>{0, 2});
  CHECK_THROWS_AS(normalize_dims({1, -2}, 3), Error);
}

TEST_CASE("element and byte counts that overflow are errors, not wrapped values", "[shape]") {
  CHECK(shape_numel({3, 0, 5}) == 0);
  CHECK(shape_numel({int64_t{1} << 31, int64_t{1} << 31}) == int64_t{1} << 62);
  CHECK_THROWS_AS(shape_numel({int64_t{1} << 32, int64_t{1} << 32}), Error);
  CHECK(storage_bytes({4, 5}, 8) == 160);
  CHECK_THROWS_AS(storage_bytes({int64_t{1} << 61, 2}, 4), Error);
}
