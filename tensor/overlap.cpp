#include "tensor/overlap.hpp"

#include <algorithm>
#include <numeric>
#include <vector>

namespace terra {

bool is_non_overlapping_and_dense(const Shape& shape, const Strides& strides) {
  // Dims of size 0 and 1 last (any stride will do for them), the others by stride.
  std::vector<size_t> order(shape.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (shape[a] < 2) return false;
    if (shape[b] < 2) return true;
    return strides[a] < strides[b];
  });
  int64_t expected = 1;
  for (size_t d : order) {
    if (shape[d] < 2) return true;
    if (strides[d] != expected) return false;
    expected *= shape[d];
  }
  return true;
}

bool has_internal_overlap(const Tensor& t) {
  for (size_t d = 0; d < t.shape().size(); ++d)
    if (t.shape()[d] > 1 && t.strides()[d] == 0) return true;
  return false;
}

Overlap overlap_between(const Tensor& a, const Tensor& b) {
  if (a.impl() == b.impl()) return Overlap::Full;
  // The storage first: most reads share none with what is written, and numel() multiplies.
  if (!a.shares_storage(b) || a.numel() == 0 || b.numel() == 0) return Overlap::None;
  if (!is_non_overlapping_and_dense(a.shape(), a.strides()) || !is_non_overlapping_and_dense(b.shape(), b.strides()))
    return Overlap::TooHard;
  // Dense (so no negative strides): each covers the bytes from its first element on.
  const int64_t a_begin = a.offset() * static_cast<int64_t>(a.itemsize());
  const int64_t b_begin = b.offset() * static_cast<int64_t>(b.itemsize());
  const int64_t a_end = a_begin + a.numel() * static_cast<int64_t>(a.itemsize());
  const int64_t b_end = b_begin + b.numel() * static_cast<int64_t>(b.itemsize());
  if (a_begin == b_begin && a_end == b_end)
    return a.strides() == b.strides() ? Overlap::Full : Overlap::Partial;
  return a_begin < b_end && b_begin < a_end ? Overlap::Partial : Overlap::None;
}

}  // namespace terra
