// Launch helpers the CUDA kernels share: the grid size of a grid-stride loop, and the combine of
// every thread's accumulator across a block in shared memory.
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

namespace terra::cuda {

// Blocks for `items` units of work: at most 2^16, the grid-stride loops cover the rest.
inline unsigned grid_for(int64_t items) { return static_cast<unsigned>(std::clamp<int64_t>(items, 1, int64_t(1) << 16)); }

// Threads per block of the one-element-per-thread grid-stride loops, and their grid for n elements.
constexpr int kLoopThreads = 256;
inline unsigned loop_blocks(int64_t n) { return grid_for((n + kLoopThreads - 1) / kLoopThreads); }

// Combines every thread's accumulator with op.combine (blockDim.x a power of two, `shared` room
// for blockDim.x accumulators); every thread gets the result.
template <class Op>
__device__ typename Op::Acc block_combine(const Op& op, typename Op::Acc a, typename Op::Acc* shared) {
  shared[threadIdx.x] = a;
  __syncthreads();
  for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) shared[threadIdx.x] = op.combine(shared[threadIdx.x], shared[threadIdx.x + s]);
    __syncthreads();
  }
  const typename Op::Acc r = shared[0];
  __syncthreads();  // shared may be reused right after
  return r;
}

}  // namespace terra::cuda
