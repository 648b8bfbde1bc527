// Host-side bookkeeping of embedding and embedding_backward shared by the CPU and CUDA kernels:
// the bounds check of the indices (PyTorch's IndexError, raised in order before anything is
// written) and the counting sort that buckets positions by weight row for the deterministic
// backward (Note [Deterministic embedding backward] in kernels/cpu/embedding.cpp).
#pragma once
#include <cstdint>
#include <vector>

#include "tensor/error.hpp"

namespace terra::embedding_rows {

inline void check_indices(const int64_t* ip, int64_t n, int64_t rows) {
  for (int64_t i = 0; i < n; ++i) TERRA_CHECK(ip[i] >= 0 && ip[i] < rows, Index, "index out of range in self");
}

// Positions order[start[w]], ..., order[start[w + 1] - 1] hold index w, in position order.
struct Buckets {
  std::vector<int64_t> start, order;
};

inline Buckets bucket_by_row(const int64_t* ip, int64_t n, int64_t rows) {
  Buckets b{std::vector<int64_t>(rows + 1, 0), std::vector<int64_t>(n)};
  for (int64_t i = 0; i < n; ++i) ++b.start[ip[i] + 1];
  for (int64_t w = 0; w < rows; ++w) b.start[w + 1] += b.start[w];
  std::vector<int64_t> next(b.start.begin(), b.start.end() - 1);
  for (int64_t i = 0; i < n; ++i) b.order[next[ip[i]]++] = i;
  return b;
}

}  // namespace terra::embedding_rows
