// Helpers shared by the sliding-window CPU kernels (convolution, pooling, padding, upsampling):
// reading their int[N] arguments and getting operands into the dense layout the loops index.
// The shape rules have already validated every argument, so nothing here checks.
#pragma once
#include <vector>

#include "kernels/kernel.hpp"

namespace terra::cpu {

// Element i of an int[N] argument that the caller may have given as a single value ([3] means
// [3, 3]), as PyTorch's int[2] arguments accept.
inline int64_t window_param(const std::vector<int64_t>& values, size_t i) {
  return values.size() == 1 ? values[0] : values[i];
}

// The kernels index dense row-major memory; a strided operand is copied once up front (through
// the registered contiguous kernel) rather than paying strided indexing in every inner loop.
inline Tensor dense(const Tensor& t) {
  if (t.is_contiguous()) return t;
  KernelCall inner{"contiguous", {t}, {}, {}};
  find_kernel("contiguous", t.device().type)(inner);
  return inner.outputs[0];
}

}  // namespace terra::cpu
