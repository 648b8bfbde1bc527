// The parameters of a generated fused CUDA kernel (kernels/fused_codegen.hpp) that are not the
// ops' functors: the outputs' shape and each operand's strides, in elements, innermost dim first.
// The host code that launches the kernel and the kernel itself (NVRTC, which gets this header
// embedded) both read this one definition, so the two layouts cannot drift apart.
#pragma once

namespace terra::fused {

constexpr int kMaxDims = 8;  // a fused group of more dims stays on the CPU (graph/fusion.cpp)

struct Index {
  long long numel;
  int ndim;
  int contiguous;  // every non-scalar operand is contiguous: element i sits at offset i
  long long shape[kMaxDims];
};

struct Strides {
  long long s[kMaxDims];
};

}  // namespace terra::fused
