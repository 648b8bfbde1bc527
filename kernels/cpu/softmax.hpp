// Softmax over one dim of a contiguous array seen as [outer, C, inner] (C the softmax dim),
// multi-threaded: the softmax/log_softmax kernels and the fused cross-entropy kernel share it.
// See Note [Softmax layouts] in kernels/cpu/softmax.cpp. Instantiated for float and double.
#pragma once
#include <cstdint>

namespace terra::cpu {

// y = softmax(x) (log_softmax when `log`) over C.
template <class T>
void softmax_dim(const T* x, T* y, int64_t outer, int64_t C, int64_t inner, bool log);

// lse[o * inner + j] = log(sum over c of exp(x[o, c, j])); needs C > 0.
template <class T>
void logsumexp_dim(const T* x, T* lse, int64_t outer, int64_t C, int64_t inner);

}  // namespace terra::cpu
