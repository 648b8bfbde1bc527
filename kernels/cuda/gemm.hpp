// The fused linear layer on CUDA, for callers outside the op kernels (the graph compiler's
// epilogue fusion, DESIGN §8): out = act(input · weightᵀ + bias) in one cuBLASLt call, the bias
// and activation applied by the GEMM's epilogue. No CUDA headers.
#pragma once
#include "tensor/tensor.hpp"

namespace terra::cuda {

enum class GemmEpilogue {
  Bias,      // input · weightᵀ + bias (what linear runs)
  ReluBias,  // relu(input · weightᵀ + bias)
  GeluBias,  // gelu(..., approximate='tanh'): cuBLASLt's GELU is the tanh approximation only
};

// input [..., K] and out [..., N] contiguous float32 device tensors, weight [N, K] and bias [N]
// contiguous. Returns false, having done nothing, when cuBLASLt has no algorithm for the call
// (other dtypes, layouts or alignments); the caller then runs the unfused ops.
bool linear_with_epilogue(const Tensor& out, const Tensor& input, const Tensor& weight, const Tensor& bias,
                          GemmEpilogue epilogue);

}  // namespace terra::cuda
