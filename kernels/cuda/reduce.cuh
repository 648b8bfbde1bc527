// The GPU's reduction engine: the CUDA side of kernels/cpu/reduce_loops.hpp, running the same
// functors (kernels/common/reduce_math.hpp, Note [Reduction functors]) over the same host-side
// plan (make_reduce_plan: size-1 dims dropped, mergeable dims merged, ordered ops' reduced dims
// kept row-major so the position a functor sees is the CPU's).
//
// Each block folds one output's reduced positions (threads stride over them, then a tree combine
// in shared memory); a grid-stride loop covers outputs beyond the grid. When there are few outputs
// and long reductions, each output's positions are split into slices folded by separate blocks,
// whose partial accumulators a second kernel combines in slice order and stores (Note [Reduction
// splits]). Results differ from the CPU's only in the order float sums are taken.
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <vector>

#include "kernels/common/reduce_math.hpp"
#include "kernels/cuda/launch.cuh"
#include "kernels/cpu/reduce_loops.hpp"
#include "tensor/cuda/check.hpp"
#include "tensor/cuda/stream.hpp"

namespace terra::cuda {

// One side of a reduction plan (cpu::LoopDims) as plain arrays a kernel takes by value.
struct ReduceDims {
  int nd;
  int64_t size[cpu::kMaxLoopDims];
  int64_t stride[cpu::kMaxLoopDims];
  int64_t out_stride[cpu::kMaxLoopDims];
};

inline ReduceDims reduce_dims(const cpu::LoopDims& l) {
  ReduceDims d{};
  d.nd = l.nd;
  for (int k = 0; k < l.nd; ++k) {
    d.size[k] = l.size[k];
    d.stride[k] = l.stride[k];
    d.out_stride[k] = l.out_stride[k];
  }
  return d;
}

struct ReduceOffsets {
  int64_t in, out;
};

// Element offsets (input, output) of row-major position `pos` of `d`.
__device__ __forceinline__ ReduceOffsets offsets_of(const ReduceDims& d, int64_t pos) {
  ReduceOffsets r{0, 0};
  for (int k = 0; k < d.nd; ++k) {
    const int64_t i = pos % d.size[k];
    pos /= d.size[k];
    r.in += i * d.stride[k];
    r.out += i * d.out_stride[k];
  }
  return r;
}

namespace detail {

constexpr int kReduceThreads = 256;

// Block b folds slice b % splits of output b / splits. With one slice it stores the result,
// otherwise it writes its partial accumulator to partials[b].
template <class Op>
__global__ void reduce_blocks(Op op, const typename Op::In* in, ReduceDims kept, ReduceDims red, int64_t nout,
                              int64_t nred, int64_t splits, typename Op::Acc* partials) {
  using Acc = typename Op::Acc;
  __shared__ alignas(16) unsigned char raw[kReduceThreads * sizeof(Acc)];
  Acc* shared = reinterpret_cast<Acc*>(raw);
  for (int64_t b = blockIdx.x; b < nout * splits; b += gridDim.x) {
    const int64_t o = b / splits, slice = b % splits;
    const ReduceOffsets base = offsets_of(kept, o);
    const int64_t begin = nred * slice / splits, end = nred * (slice + 1) / splits;
    Acc a = op.init();
    for (int64_t r = begin + threadIdx.x; r < end; r += blockDim.x) a = op.step(a, in[base.in + offsets_of(red, r).in], r);
    a = block_combine(op, a, shared);
    if (threadIdx.x == 0) {
      if (splits == 1) op.store(base.out, a);
      else partials[b] = a;
    }
  }
}

template <class Op>
__global__ void combine_slices(Op op, ReduceDims kept, int64_t nout, int64_t splits, const typename Op::Acc* partials) {
  const int64_t step = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t o = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; o < nout; o += step) {
    typename Op::Acc a = partials[o * splits];
    for (int64_t k = 1; k < splits; ++k) a = op.combine(a, partials[o * splits + k]);
    op.store(offsets_of(kept, o).out, a);
  }
}

}  // namespace detail

// Note [Reduction splits]
// A block per output leaves most of the GPU idle when there are few outputs (a full reduction
// has one). Outputs then get `splits` blocks each, aiming at about 1024 blocks in all, each slice
// at least 4096 positions long so a slice's fold outweighs its partial's round trip.
inline int64_t reduction_splits(int64_t nout, int64_t nred) {
  return std::clamp<int64_t>(std::min<int64_t>(1024 / std::max<int64_t>(nout, 1), nred / 4096), 1, 1024);
}

// Folds `in` (on the device) over the dims flagged in `reduced`; op.store gets output element
// offsets of a contiguous output holding the kept dims in row-major order.
template <class Op>
void reduce(const Tensor& in, const std::vector<bool>& reduced, const Op& op) {
  using Acc = typename Op::Acc;
  const cpu::ReducePlan p = cpu::make_reduce_plan(in, reduced, Op::kOrdered);
  const int64_t nout = p.kept.numel, nred = p.reduced.numel;
  if (nout == 0) return;
  const ReduceDims kept = reduce_dims(p.kept), red = reduce_dims(p.reduced);
  const int64_t splits = reduction_splits(nout, nred);
  // Threads: a power of two (the tree combine), no more than a slice has positions, at least a warp.
  int threads = 32;
  while (threads < detail::kReduceThreads && threads < nred / splits) threads *= 2;
  Tensor partials;
  if (splits > 1) {
    const int64_t words = (nout * splits * static_cast<int64_t>(sizeof(Acc)) + 7) / 8;
    partials = Tensor::empty({words}, DType::Int64, in.device());
  }
  Acc* partial_data = splits > 1 ? static_cast<Acc*>(partials.raw_data()) : nullptr;
  cudaStream_t stream = current_stream();
  detail::reduce_blocks<<<grid_for(nout * splits), threads, 0, stream>>>(
      op, in.data<typename Op::In>(), kept, red, nout, nred, splits, partial_data);
  TERRA_CUDA_CHECK(cudaGetLastError());
  if (splits > 1) {
    detail::combine_slices<<<loop_blocks(nout), kLoopThreads, 0, stream>>>(op, kept, nout, splits,
                                                                                     partial_data);
    TERRA_CUDA_CHECK(cudaGetLastError());
  }
}

}  // namespace terra::cuda
