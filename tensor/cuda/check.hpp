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

// The shape of every CUDA library's status check (cuBLAS, cuDNN and NVRTC use it too): `thrower`
// gets the status, the call's text, the file and the line.
#define TERRA_STATUS_CHECK(call, ok, thrower)                          \
  do {                                                                 \
    const auto terra_status_ = (call);                                 \
    if (terra_status_ != (ok)) thrower(terra_status_, #call, __FILE__, __LINE__); \
  } while (0)

#define TERRA_CUDA_CHECK(call) TERRA_STATUS_CHECK(call, cudaSuccess, ::terra::cuda::throw_cuda_error)
