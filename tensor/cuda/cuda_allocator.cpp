// The CUDA caching allocator (cuda_allocator.hpp) and its registration for DeviceType::CUDA.
#include "tensor/cuda/cuda_allocator.hpp"

#include <cuda_runtime_api.h>

#include "tensor/cuda/check.hpp"
#include "tensor/cuda/cuda_device.hpp"
#include "tensor/error.hpp"

namespace terra {

// Note [One stream]
// A block freed while kernels queued on the stream may still read or write it goes straight back
// to its free list. That is safe because all CUDA work runs on one stream, in order: whatever the
// next owner queues runs after the old owner's work. With more streams, a block must remember
// the streams that used it and be reused only after an event on each has completed.

namespace {
std::string mib(size_t bytes) {
  std::string s = std::to_string(static_cast<double>(bytes) / (1 << 20));
  return s.substr(0, s.find('.') + 3) + " MiB";
}
}  // namespace

CudaCachingAllocator::~CudaCachingAllocator() {
  std::lock_guard<std::mutex> lock(mutex_);
  try {
    release_cache_locked();
  } catch (const Error&) {
    // Destruction at exit may find the CUDA runtime gone; the driver frees everything then anyway.
  }
}

void* CudaCachingAllocator::allocate(size_t nbytes) {
  TERRA_CHECK(nbytes <= kMaxRequest, OutOfMemory, "CUDA out of memory: tried to allocate ", nbytes, " bytes");
  const size_t block = size_class(nbytes);
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.allocations++;
  void* ptr = nullptr;
  auto it = free_lists_.find(block);
  if (it != free_lists_.end() && !it->second.empty()) {
    ptr = it->second.back();
    it->second.pop_back();
    stats_.cached -= block;
    stats_.cache_hits++;
  } else {
    ptr = malloc_or_throw(block, nbytes);
  }
  stats_.in_use += block;
  if (stats_.in_use > stats_.peak) stats_.peak = stats_.in_use;
  return ptr;
}

void* CudaCachingAllocator::malloc_or_throw(size_t block, size_t requested) {
  void* ptr = nullptr;
  cudaError_t err = cudaMalloc(&ptr, block);
  if (err == cudaErrorMemoryAllocation) {
    // Blocks of other sizes may be what stands in the way: give them back and try once more.
    (void)cudaGetLastError();
    release_cache_locked();
    err = cudaMalloc(&ptr, block);
  }
  if (err == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();
    size_t free_bytes = 0, total_bytes = 0;
    if (cudaMemGetInfo(&free_bytes, &total_bytes) != cudaSuccess) (void)cudaGetLastError();
    fail(ErrorKind::OutOfMemory, "CUDA out of memory: tried to allocate ", requested, " bytes (", mib(requested),
         ") on cuda:0; the device has ", mib(free_bytes), " free of ", mib(total_bytes), ", and Terra's tensors hold ",
         mib(stats_.in_use));
  }
  TERRA_CUDA_CHECK(err);
  return ptr;
}

void CudaCachingAllocator::deallocate(void* ptr, size_t nbytes) {
  if (!ptr) return;
  const size_t block = size_class(nbytes);
  std::lock_guard<std::mutex> lock(mutex_);
  free_lists_[block].push_back(ptr);  // Note [One stream]
  stats_.in_use -= block;
  stats_.cached += block;
}

MemoryStats CudaCachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void CudaCachingAllocator::reset_peak() {
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.peak = stats_.in_use;
}

void CudaCachingAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mutex_);
  release_cache_locked();
}

void CudaCachingAllocator::release_cache_locked() {
  // cudaFree waits for the device, so blocks still used by queued kernels are safe to free.
  cudaError_t first = cudaSuccess;
  for (auto& [size, list] : free_lists_)
    for (void* p : list) {
      cudaError_t err = cudaFree(p);
      if (err != cudaSuccess && first == cudaSuccess) first = err;
    }
  free_lists_.clear();
  stats_.cached = 0;
  if (first != cudaSuccess) cuda::throw_cuda_error(first, "cudaFree", __FILE__, __LINE__);
}

namespace {
// Without a device, allocator_for(DeviceType::CUDA) keeps throwing its "no such device" error.
// The allocator is never destroyed: tensors may be freed during static destruction.
[[maybe_unused]] const bool registered = [] {
  if (cuda::is_available()) register_allocator(DeviceType::CUDA, new CudaCachingAllocator());
  return true;
}();
}  // namespace

}  // namespace terra
