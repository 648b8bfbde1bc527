#include <catch2/catch.hpp>

#include "tensor/overlap.hpp"

using namespace terra;

TEST_CASE("dense layouts: contiguous, transposed, with size-1 and empty dims", "[overlap]") {
  CHECK(is_non_overlapping_and_dense({2, 3}, {3, 1}));
  CHECK(is_non_overlapping_and_dense({2, 3}, {1, 2}));          // a transpose
  CHECK(is_non_overlapping_and_dense({2, 1, 3}, {3, 99, 1}));   // size-1 dims have any stride
  CHECK(is_non_overlapping_and_dense({0, 3}, {3, 1}));
  CHECK_FALSE(is_non_overlapping_and_dense({0, 3}, {7, 5}));    // as PyTorch: the size-3 dim has a gap
  CHECK_FALSE(is_non_overlapping_and_dense({3}, {2}));          // a step: gaps
  CHECK_FALSE(is_non_overlapping_and_dense({2, 3}, {0, 1}));    // expanded: repeats
  CHECK_FALSE(is_non_overlapping_and_dense({2, 3}, {2, 1}));    // rows overlap
}

TEST_CASE("overlap between views of one storage", "[overlap]") {
  const Tensor base = Tensor::empty({6}, DType::Float32);
  const Tensor square = base.as_strided({2, 2}, {2, 1}, 0);
  CHECK(overlap_between(base, base) == Overlap::Full);
  CHECK(overlap_between(base.as_strided({5}, {1}, 1), base.as_strided({5}, {1}, 0)) == Overlap::Partial);
  CHECK(overlap_between(base.as_strided({3}, {1}, 0), base.as_strided({3}, {1}, 3)) == Overlap::None);
  CHECK(overlap_between(square, square.as_strided({2, 2}, {2, 1}, 0)) == Overlap::Full);  // another view, same layout
  CHECK(overlap_between(square, square.as_strided({2, 2}, {1, 2}, 0)) == Overlap::Partial);  // its transpose
  CHECK(overlap_between(base.as_strided({3}, {2}, 0), base.as_strided({3}, {2}, 1)) == Overlap::TooHard);
  CHECK(overlap_between(base, Tensor::empty({6}, DType::Float32)) == Overlap::None);
  CHECK(overlap_between(base.as_strided({0}, {1}, 2), base) == Overlap::None);
  CHECK(has_internal_overlap(base.as_strided({3, 2}, {0, 1}, 0)));
  CHECK_FALSE(has_internal_overlap(base.as_strided({1, 2}, {0, 1}, 0)));
  CHECK_FALSE(has_internal_overlap(square));
}
