// Softmax over one dim of a contiguous array seen as [outer, C, inner] (C the softmax dim),
// multi-threaded: the softmax/log_softmax kernels and the fused cross-entropy kernels share it.
// See Note [Softmax layouts] in kernels/cpu/softmax.cpp. Instantiated for float and double.
#pragma once
#include <cstdint>

namespace terra::cpu {

// y = softmax(x) (log_softmax when `log`) over C. For softmax, a non-null `scale` multiplies
// the probabilities of position (o, j) by scale[o * inner + j] (cross-entropy's backward folds
// its per-sample factor into the normalizing pass this way).
template <class T>
void softmax_dim(const T* x, T* y, int64_t outer, int64_t C, int64_t inner, bool log, const T* scale = nullptr);

// lse[o * inner + j] = log(sum over c of exp(x[o, c, j])); needs C > 0.
template <class T>
void logsumexp_dim(const T* x, T* lse, int64_t outer, int64_t C, int64_t inner);

}  // namespace terra::cpu
