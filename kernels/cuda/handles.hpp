// The cuBLAS, cuBLASLt and cuDNN handles of the calling thread on the current device, and the
// checks around every call into those libraries. Handles are made on first use and bound to the
// current stream (tensor/cuda/stream.hpp) each time they are handed out. They are per thread as
// well as per device because a handle is not safe to use from two threads at once (the
// interpreter and the graph actor both run kernels); they live as long as the process (destroying
// them at exit could run after CUDA has shut down).
//
// TERRA_CUBLAS_CHECK(call) / TERRA_CUDNN_CHECK(call): a failing status throws terra::Error naming
// the call, the library's status name and message, and the file and line (an allocation failure as
// ErrorKind::OutOfMemory, anything else as Runtime), as TERRA_CUDA_CHECK does for the runtime.
// The libraries themselves are loaded on first use (libraries.hpp): call them through their tables.
#pragma once
#include <cstddef>

#include "kernels/cuda/libraries.hpp"
#include "tensor/cuda/check.hpp"
#include "terra_config.hpp"

namespace terra::cuda {

[[noreturn]] void throw_cublas_error(cublasStatus_t status, const char* call, const char* file, int line);

cublasHandle_t cublas_handle();
cublasLtHandle_t cublaslt_handle();

// Device memory for a library's scratch space, from the caching allocator, given back when the
// object dies: safe as soon as the calls using it are queued (the block returns to the pool of the
// stream it was taken on, per-stream pools in tensor/cuda/block_pool.hpp).
class Workspace {
 public:
  explicit Workspace(size_t nbytes);
  ~Workspace();
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  void* data() const { return data_; }
  size_t size() const { return nbytes_; }

 private:
  void* data_ = nullptr;
  size_t nbytes_ = 0;
};

#if TERRA_WITH_CUDNN
[[noreturn]] void throw_cudnn_error(cudnnStatus_t status, const char* call, const char* file, int line);
cudnnHandle_t cudnn_handle();
#endif

}  // namespace terra::cuda

#define TERRA_CUBLAS_CHECK(call) TERRA_STATUS_CHECK(call, CUBLAS_STATUS_SUCCESS, ::terra::cuda::throw_cublas_error)
#define TERRA_CUDNN_CHECK(call) TERRA_STATUS_CHECK(call, CUDNN_STATUS_SUCCESS, ::terra::cuda::throw_cudnn_error)
