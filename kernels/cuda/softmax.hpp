// Softmax over one dim of a contiguous device array seen as [outer, C, inner] (C the softmax
// dim): the softmax/log_softmax kernels and the fused cross-entropy kernels share it, as on the
// CPU (kernels/cpu/softmax.hpp, whose contract this repeats). Pointers are device pointers; work
// is queued on the current stream. Instantiated for float and double.
#pragma once
#include <cstdint>

namespace terra::cuda {

// y = softmax(x) (log_softmax when `log`) over C. For softmax, a non-null `scale` multiplies
// the probabilities of position (o, j) by scale[o * inner + j].
template <class T>
void softmax_dim(const T* x, T* y, int64_t outer, int64_t C, int64_t inner, bool log, const T* scale = nullptr);

// lse[o * inner + j] = log(sum over c of exp(x[o, c, j])); needs C > 0.
template <class T>
void logsumexp_dim(const T* x, T* lse, int64_t outer, int64_t C, int64_t inner);

}  // namespace terra::cuda
