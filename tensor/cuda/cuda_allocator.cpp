// The CUDA caching allocator (cuda_allocator.hpp): a BlockPool over cudaMalloc/cudaFree, and its
// registration for DeviceType::CUDA.
#include "tensor/cuda/cuda_allocator.hpp"

#include <cuda_runtime_api.h>

#include "tensor/cuda/check.hpp"
#include "tensor/cuda/cuda_device.hpp"
#include "tensor/cuda/graph_capture.hpp"
#include "tensor/cuda/stream.hpp"

namespace terra {

namespace {

class CudaMallocBackend final : public MemoryBackend {
 public:
  void* raw_allocate(size_t nbytes) override {
    void* ptr = nullptr;
    cudaError_t err;
    if (cuda::capturing()) {
      // Note [Memory of a captured graph] (graph_capture.hpp): relaxed mode lets cudaMalloc run
      // during a thread-local capture. Out of memory, it must not give cached segments back
      // (cudaFree cannot run during a capture): the capture fails and the run goes plain.
      cudaStreamCaptureMode mode = cudaStreamCaptureModeRelaxed;
      TERRA_CUDA_CHECK(cudaThreadExchangeStreamCaptureMode(&mode));
      err = cudaMalloc(&ptr, nbytes);
      TERRA_CUDA_CHECK(cudaThreadExchangeStreamCaptureMode(&mode));
      TERRA_CUDA_CHECK(err);
      return ptr;
    }
    err = cudaMalloc(&ptr, nbytes);
    if (err == cudaErrorMemoryAllocation) {
      (void)cudaGetLastError();  // not sticky: clear it so the next check does not see it
      return nullptr;
    }
    TERRA_CUDA_CHECK(err);
    return ptr;
  }
  // cudaFree waits for the device, so memory still used by queued kernels is safe to free.
  void raw_free(void* ptr) override { TERRA_CUDA_CHECK(cudaFree(ptr)); }
  std::string describe() const override {
    size_t free_bytes = 0, total_bytes = 0;
    if (cudaMemGetInfo(&free_bytes, &total_bytes) != cudaSuccess) (void)cudaGetLastError();
    return "cuda:0; the device has " + mib(free_bytes) + " free of " + mib(total_bytes);
  }
};

}  // namespace

CudaCachingAllocator::CudaCachingAllocator()
    : backend_(std::make_unique<CudaMallocBackend>()), pool_(std::make_unique<BlockPool>(*backend_, "CUDA")) {}

CudaCachingAllocator::~CudaCachingAllocator() = default;

void* CudaCachingAllocator::allocate(size_t nbytes) {
  void* ptr = pool_->allocate(nbytes, reinterpret_cast<StreamId>(cuda::current_stream()));
  if (cuda::capturing()) cuda::captured_allocation(ptr);  // Note [Memory of a captured graph]
  return ptr;
}

void CudaCachingAllocator::deallocate(void* ptr, size_t) {
  if (cuda::capturing() && cuda::keep_captured_block(ptr)) return;  // the graph holds it
  pool_->deallocate(ptr);
}

MemoryStats CudaCachingAllocator::stats() const { return pool_->stats(); }

void CudaCachingAllocator::reset_peak() { pool_->reset_peak(); }

void CudaCachingAllocator::empty_cache() { pool_->empty_cache(); }

namespace {
// Without a device, allocator_for(DeviceType::CUDA) keeps throwing its "no such device" error.
// The allocator is never destroyed: tensors may be freed during static destruction.
[[maybe_unused]] const bool registered = [] {
  if (cuda::is_available()) register_allocator(DeviceType::CUDA, new CudaCachingAllocator());
  return true;
}();
}  // namespace

}  // namespace terra
