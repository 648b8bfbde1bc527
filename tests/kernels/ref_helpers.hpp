// Helpers for the plain-loop references of the shape, indexing and sort tests: the dtypes to run,
// row-major coordinates of a linear index and back, positions under broadcasting, and one tensor's
// values in several memory layouts.
#pragma once
#include "helpers.hpp"

namespace terra::test {

inline constexpr DType kAllDTypes[] = {DType::Float32, DType::Float64, DType::Int32, DType::Int64, DType::Bool};

inline std::vector<int64_t> unravel(int64_t linear, const Shape& shape) {
  std::vector<int64_t> idx(shape.size());
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    idx[d] = linear % shape[d];
    linear /= shape[d];
  }
  return idx;
}

inline int64_t ravel(const std::vector<int64_t>& idx, const Shape& shape) {
  int64_t linear = 0;
  for (size_t d = 0; d < shape.size(); ++d) linear = linear * shape[d] + idx[d];
  return linear;
}

// Linear index into a tensor of shape `ts` broadcast to `os`, at output coordinates `idx`.
inline int64_t broadcast_linear(const std::vector<int64_t>& idx, const Shape& ts, const Shape& os) {
  std::vector<int64_t> t(ts.size());
  for (size_t d = 0; d < ts.size(); ++d) t[d] = ts[d] == 1 ? 0 : idx[d + os.size() - ts.size()];
  return ravel(t, ts);
}

// Seeded values in [-9, 9] (never zero), so every copied or selected element is visible.
inline Tensor sample(const Shape& shape, DType dt, uint64_t seed) { return random_tensor(shape, dt, seed, -9, 9); }

// The same values as `t`, contiguous, strided and transposed.
inline std::vector<Tensor> layouts(const Tensor& t) { return {t, strided_copy(t), transposed_copy(t)}; }

}  // namespace terra::test
