// Helpers for CPU kernels that move elements rather than compute with them (shape ops, indexing,
// sorting): a raw copy between views of one dtype, a loop over the 1-D slices of tensors along
// one dim, and a Python number converted to an element type. Moving needs only the element's
// size, so copies are templates over unsigned integers of that size, not over dtypes.
#pragma once
#include <array>
#include <cstring>
#include <type_traits>

#include "kernels/cpu/loops.hpp"
#include "tensor/scalar.hpp"

namespace terra::cpu {

// Calls f(U{}) with U an unsigned integer type as wide as one element.
template <class F>
decltype(auto) dispatch_bits(size_t itemsize, F&& f) {
  switch (itemsize) {
    case 1: return f(uint8_t{});
    case 2: return f(uint16_t{});
    case 4: return f(uint32_t{});
    case 8: return f(uint64_t{});
  }
  fail(ErrorKind::Runtime, "internal error: unsupported element size ", itemsize);
}

// dst = src for two views of the same dtype and shape (src may broadcast), any strides.
inline void copy_elements(const Tensor& dst, const Tensor& src) {
  TERRA_ASSERT(dst.dtype() == src.dtype());
  dispatch_bits(dst.itemsize(), [&](auto tag) {
    using U = decltype(tag);
    elementwise<U, U>(dst, {src}, [](U x) { return x; });
  });
}

// A fill value or a scattered scalar as element type T (bool: nonzero is true, as PyTorch).
template <class T>
T scalar_to(const Scalar& s) {
  if constexpr (std::is_same_v<T, bool>) return s.as_double() != 0;
  else return s.to<T>();
}

// Byte distance between neighbours along `dim` (0 for a 0-d tensor, whose one slice has length 1).
inline int64_t dim_step(const Tensor& t, int64_t dim) {
  return t.dim() == 0 ? 0 : t.stride(dim) * static_cast<int64_t>(t.itemsize());
}

// Calls f(slice, ptrs) once for each 1-D slice along `dim`, where ptrs[k] points at element 0 of
// that slice in tensor k and `slice` numbers the slices in row-major order of the other dims.
// Operand 0's sizes define the slices; other operands must be at least as large in every dim but
// `dim` (gather reads a self larger than its index). Slices run in parallel, each on one thread,
// so a kernel that only writes inside its own slices needs no synchronisation.
template <size_t N, class F>
void for_each_slice(const std::array<Tensor, N>& ts, int64_t dim, int64_t slice_len, const F& f) {
  auto drop_dim = [dim](const std::vector<int64_t>& v) {
    std::vector<int64_t> out;
    for (size_t d = 0; d < v.size(); ++d)
      if (static_cast<int64_t>(d) != dim) out.push_back(v[d]);
    return out;
  };
  const Shape outer = drop_dim(ts[0].shape());
  std::array<Tensor, N> views;
  std::array<const Tensor*, N> ops;
  for (size_t k = 0; k < N; ++k) {
    views[k] = ts[k].as_strided(outer, drop_dim(ts[k].strides()), ts[k].offset());
    ops[k] = &views[k];
  }
  LoopPlan<N> plan = make_loop_plan(ops);
  if (plan.numel == 0) return;
  const int64_t grain = grain_for(slice_len);
  parallel_for(0, plan.numel, grain, [&](int64_t begin, int64_t end) {
    int64_t slice = begin;
    for_each_run(plan, begin, end, [&](const std::array<char*, N>& ptr, const std::array<int64_t, N>& st, int64_t n) {
      for (int64_t i = 0; i < n; ++i, ++slice) {
        std::array<char*, N> p;
        for (size_t k = 0; k < N; ++k) p[k] = ptr[k] + i * st[k];
        f(slice, p);
      }
    });
  });
}

}  // namespace terra::cpu
