// The per-thread, per-device library handles and the library error checks (handles.hpp).
#include "kernels/cuda/handles.hpp"

#include <array>

#include "tensor/allocator.hpp"
#include "tensor/cuda/check.hpp"
#include "tensor/cuda/stream.hpp"
#include "tensor/error.hpp"

namespace terra::cuda {
namespace {

constexpr int kMaxDevices = 64;

int current_device() {
  int device = 0;
  TERRA_CUDA_CHECK(cudaGetDevice(&device));
  TERRA_CHECK(device >= 0 && device < kMaxDevices, NotImplemented, "CUDA device ", device, " (at most ",
              kMaxDevices, " devices are served)");
  return device;
}

// The handle of type H for the current device, made by `create` the first time this thread asks.
template <class H, class Create>
H per_thread_handle(Create&& create) {
  thread_local std::array<H, kMaxDevices> handles{};
  H& h = handles[current_device()];
  if (!h) create(&h);
  return h;
}

}  // namespace

void throw_cublas_error(cublasStatus_t status, const char* call, const char* file, int line) {
  fail(status == CUBLAS_STATUS_ALLOC_FAILED ? ErrorKind::OutOfMemory : ErrorKind::Runtime, "cuBLAS error ",
       cublas().GetStatusName(status), " (", cublas().GetStatusString(status), ") in ", call, " at ", file, ":", line);
}

cublasHandle_t cublas_handle() {
  cublasHandle_t h =
      per_thread_handle<cublasHandle_t>([](cublasHandle_t* p) { TERRA_CUBLAS_CHECK(cublas().Create(p)); });
  TERRA_CUBLAS_CHECK(cublas().SetStream(h, current_stream()));
  return h;
}

// cuBLASLt takes its stream with each cublasLtMatmul call rather than on the handle.
cublasLtHandle_t cublaslt_handle() {
  return per_thread_handle<cublasLtHandle_t>([](cublasLtHandle_t* p) { TERRA_CUBLAS_CHECK(cublaslt().Create(p)); });
}

Workspace::Workspace(size_t nbytes) : nbytes_(nbytes) {
  if (nbytes_ > 0) data_ = allocator_for(DeviceType::CUDA).allocate(nbytes_);
}

Workspace::~Workspace() {
  if (data_) allocator_for(DeviceType::CUDA).deallocate(data_, nbytes_);
}

#if TERRA_WITH_CUDNN
void throw_cudnn_error(cudnnStatus_t status, const char* call, const char* file, int line) {
  const bool oom = status == CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED ||
                   status == CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED;
  fail(oom ? ErrorKind::OutOfMemory : ErrorKind::Runtime, "cuDNN error ",
       cudnn().GetErrorString(status), " in ", call, " at ", file, ":", line);
}

cudnnHandle_t cudnn_handle() {
  cudnnHandle_t h = per_thread_handle<cudnnHandle_t>([](cudnnHandle_t* p) { TERRA_CUDNN_CHECK(cudnn().Create(p)); });
  TERRA_CUDNN_CHECK(cudnn().SetStream(h, current_stream()));
  return h;
}
#endif

}  // namespace terra::cuda
