// Softmax building blocks over one dim of a contiguous tensor seen as [outer, C, inner] (C the
// softmax dim), shared by the softmax/log_softmax kernels and the fused cross-entropy kernel.
// Single-threaded: callers split the work over the thread pool. See Note [Softmax layouts] in
// kernels/cpu/softmax.cpp.
#pragma once
#include <cstdint>

namespace terra::cpu {

// Softmax (log_softmax when `log`) of `rows` contiguous rows of `cols` elements.
void softmax_lastdim(const float* x, float* y, int64_t rows, int64_t cols, bool log);
void softmax_lastdim(const double* x, double* y, int64_t rows, int64_t cols, bool log);

// Softmax over C of positions [begin, end) of one [C, inner] slice, inner > 1.
void softmax_inner(const float* x, float* y, int64_t C, int64_t inner, int64_t begin, int64_t end, bool log);
void softmax_inner(const double* x, double* y, int64_t C, int64_t inner, int64_t begin, int64_t end, bool log);

// lse[r] = log(sum(exp(row r))) for `rows` contiguous rows of `cols` > 0 elements.
void logsumexp_lastdim(const float* x, float* lse, int64_t rows, int64_t cols);
void logsumexp_lastdim(const double* x, double* lse, int64_t rows, int64_t cols);

// lse[j - begin] = log(sum over c of exp(x[c * inner + j])) for j in [begin, end), C > 0.
void logsumexp_inner(const float* x, float* lse, int64_t C, int64_t inner, int64_t begin, int64_t end);
void logsumexp_inner(const double* x, double* lse, int64_t C, int64_t inner, int64_t begin, int64_t end);

// How many positions of a [C, inner] slice the _inner routines should take at a time: a block
// whose C rows stay in cache between the passes.
constexpr int64_t kSoftmaxInnerBlock = 256;

}  // namespace terra::cpu
