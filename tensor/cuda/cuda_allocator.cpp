// The CUDA caching allocator (cuda_allocator.hpp): a BlockPool over cudaMalloc/cudaFree, and its
// registration for DeviceType::CUDA.
#include "tensor/cuda/cuda_allocator.hpp"

#include <cuda_runtime_api.h>

#include "tensor/cuda/check.hpp"
#include "tensor/cuda/cuda_device.hpp"
#include "tensor/cuda/graph_capture.hpp"
#include "tensor/cuda/stream.hpp"
#include "tensor/error.hpp"

namespace terra {

namespace {

class CudaMallocBackend final : public MemoryBackend {
 public:
  void* raw_allocate(size_t nbytes) override {
    void* ptr = nullptr;
    const cudaError_t err = cudaMalloc(&ptr, nbytes);
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
  // A graph would keep writing the block after it went back to the pool (graph_capture.hpp); the
  // graph executor gives up capturing that plan and runs it plainly.
  TERRA_CHECK(!cuda::capturing(), Runtime, "cannot allocate CUDA memory during CUDA graph capture");
  return pool_->allocate(nbytes, reinterpret_cast<StreamId>(cuda::current_stream()));
}

void CudaCachingAllocator::deallocate(void* ptr, size_t) { pool_->deallocate(ptr); }

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
