// as_contiguous(t) on the device: t itself when it is already contiguous (or absent), else a
// packed copy, for kernels that index rows and columns directly (the CUDA twin of
// kernels/cpu/contiguous.hpp); copy_into(out, src): src, broadcast to out's shape, written into
// out (same dtype).
#pragma once
#include "kernels/cuda/loops.cuh"

namespace terra::cuda {

template <class T>
struct Identity {
  TERRA_HD T operator()(T x) const { return x; }
};

inline void copy_into(const Tensor& out, const Tensor& src) {
  dispatch_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    elementwise<T, T>(out, {src}, Identity<T>{});
  });
}

inline Tensor as_contiguous(const Tensor& t) {
  if (!t.defined() || t.is_contiguous()) return t;
  Tensor out = Tensor::empty(t.shape(), t.dtype(), t.device());
  copy_into(out, t);
  return out;
}

}  // namespace terra::cuda
