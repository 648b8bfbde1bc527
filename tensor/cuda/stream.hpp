// The stream CUDA work is queued on. For now every kernel, copy and allocation uses the legacy
// default stream, so work is ordered without events (the caching allocator relies on it: see
// Note [One stream] in cuda_allocator.cpp). Launchers take the stream from here, so streams per
// actor can come later without touching them.
#pragma once
#include <cuda_runtime_api.h>

namespace terra::cuda {

inline cudaStream_t current_stream() { return cudaStreamLegacy; }

}  // namespace terra::cuda
