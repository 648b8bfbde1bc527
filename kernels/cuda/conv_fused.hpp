// Convolution + bias + activation as one cuDNN graph (the backend API), for callers outside the
// op kernels: the graph compiler's epilogue fusion (DESIGN §8). No CUDA headers.
#pragma once
#include <array>
#include <cstdint>

#include "tensor/tensor.hpp"

namespace terra::cuda {

enum class ConvActivation { Identity, Relu, GeluTanh };

// out = act(conv2d(input, weight, stride, padding, dilation, groups) + bias[:, None, None]) for
// dense float32 / float64 device tensors input [N, C, H, W], weight [K, C / groups, R, S], bias [K]
// and out [N, K, P, Q]. float32 uses no TF32 tensor cores unless terra.backends.cudnn.allow_tf32.
// Returns false, having done nothing, when cuDNN has no engine for the graph (many fused engines
// take only half precision or channels-last data) or Terra was built without cuDNN; the caller
// then runs conv2d and the activation as ops. The graph is planned on every call (no plan cache
// yet).
bool conv2d_bias_activation(const Tensor& out, const Tensor& input, const Tensor& weight, const Tensor& bias,
                            std::array<int64_t, 2> stride, std::array<int64_t, 2> padding,
                            std::array<int64_t, 2> dilation, int64_t groups, ConvActivation activation);

}  // namespace terra::cuda
