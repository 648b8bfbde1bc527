// as_contiguous(t) on the device: t itself when it is already contiguous (or absent), else a
// packed copy, for kernels that index rows and columns directly (the CUDA twin of
// kernels/cpu/contiguous.hpp).
#pragma once
#include "kernels/cuda/loops.cuh"

namespace terra::cuda {

template <class T>
struct Identity {
  TERRA_HD T operator()(T x) const { return x; }
};

inline Tensor as_contiguous(const Tensor& t) {
  if (!t.defined() || t.is_contiguous()) return t;
  Tensor out = Tensor::empty(t.shape(), t.dtype(), t.device());
  dispatch_dtype(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    elementwise<T, T>(out, {t}, Identity<T>{});
  });
  return out;
}

}  // namespace terra::cuda
