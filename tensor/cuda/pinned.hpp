// Inside tensor/cuda: marks a pinned block as read or written by work queued on `stream`, so
// pinned_free (cuda_device.hpp) keeps it from reuse until that work is done. A pointer outside
// the pinned pool is ignored. Includes CUDA headers.
#pragma once
#include <cuda_runtime_api.h>

namespace terra::cuda {

void record_pinned_use(const void* ptr, cudaStream_t stream);

}  // namespace terra::cuda
