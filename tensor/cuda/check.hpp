// TERRA_CUDA_CHECK(call): every CUDA runtime call is checked; a failure throws terra::Error naming
// the call, CUDA's error name and message, and the file and line (cudaErrorMemoryAllocation as
// ErrorKind::OutOfMemory, anything else as Runtime). Kernel launches are followed by
// TERRA_CUDA_CHECK(cudaGetLastError()). Includes CUDA headers: only tensor/cuda and kernels/cuda
// may include it.
#pragma once
#include <cuda_runtime_api.h>

namespace terra::cuda {

// Clears the runtime's last-error slot and throws for `err`.
[[noreturn]] void throw_cuda_error(cudaError_t err, const char* call, const char* file, int line);

}  // namespace terra::cuda

#define TERRA_CUDA_CHECK(call)                                                        \
  do {                                                                                \
    const cudaError_t terra_cuda_err_ = (call);                                       \
    if (terra_cuda_err_ != cudaSuccess)                                               \
      ::terra::cuda::throw_cuda_error(terra_cuda_err_, #call, __FILE__, __LINE__);    \
  } while (0)
