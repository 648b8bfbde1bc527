// Terra's CUDA caching allocator: a BlockPool (block_pool.hpp: size-rounded blocks, per-stream
// pools, splitting and coalescing, statistics, the out-of-memory retry) over cudaMalloc and
// cudaFree, registered for DeviceType::CUDA when libterra loads and a device is present.
// cudaMalloc is slow and cudaFree synchronizes the device, so segments go back to CUDA only on
// empty_cache() or when cudaMalloc runs out of memory. Requests are served on the current
// stream (tensor/cuda/stream.hpp). It serves the current device (cuda:0; cuda::check_device
// refuses other indices for now). This header includes no CUDA headers.
#pragma once
#include <memory>

#include "tensor/allocator.hpp"
#include "tensor/cuda/block_pool.hpp"

namespace terra {

class CudaCachingAllocator final : public Allocator {
 public:
  CudaCachingAllocator();
  ~CudaCachingAllocator() override;  // gives its free segments back (the registered one is never destroyed)
  void* allocate(size_t nbytes) override;
  void deallocate(void* ptr, size_t nbytes) override;
  MemoryStats stats() const override;
  void reset_peak() override;
  void empty_cache() override;

 private:
  std::unique_ptr<MemoryBackend> backend_;
  std::unique_ptr<BlockPool> pool_;
};

}  // namespace terra
