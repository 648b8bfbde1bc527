// as_contiguous(t): t itself when it is already contiguous (or absent), else a packed copy. For
// kernels whose fast loops need unit strides and would read the whole tensor anyway: one copy up
// front instead of strided indexing in every inner loop.
#pragma once
#include "kernels/cpu/loops.hpp"

namespace terra::cpu {

inline Tensor as_contiguous(const Tensor& t) {
  if (!t.defined() || t.is_contiguous()) return t;
  Tensor out = Tensor::empty(t.shape(), t.dtype(), t.device());
  dispatch_dtype(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    elementwise<T, T>(out, {t}, [](T v) { return v; });
  });
  return out;
}

}  // namespace terra::cpu
