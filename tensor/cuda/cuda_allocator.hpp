// Terra's CUDA caching allocator. cudaMalloc is slow and cudaFree synchronizes the device, so
// freed blocks are never returned to CUDA during a run: each request is rounded up to a size
// class, and a freed block goes to its class's free list, from which the next request of that
// class is served. Statistics are the CPU arena's (bytes in use, peak, cached), read by
// terra.memory_stats(). When cudaMalloc fails, the cache is given back to CUDA and the request
// tried once more; a second failure throws terra::Error(OutOfMemory) naming the bytes requested.
//
// It serves the current device (cuda:0; cuda::check_device refuses other indices for now) and
// the one stream (see Note [One stream] in the .cpp). Block splitting, per-device pools and
// stream-aware reuse are for later. This header includes no CUDA headers; the allocator
// registers itself for DeviceType::CUDA when libterra loads and a device is present.
#pragma once
#include <mutex>
#include <unordered_map>
#include <vector>

#include "tensor/allocator.hpp"

namespace terra {

class CudaCachingAllocator final : public Allocator {
 public:
  static constexpr size_t kGranule = 512;               // small blocks are multiples of this
  static constexpr size_t kSmallLimit = size_t(1) << 20;  // "small": up to 1 MiB
  static constexpr size_t kLargeStep = size_t(2) << 20;   // large blocks round up by at most this
  static constexpr size_t kMaxRequest = size_t(1) << 56;  // larger requests fail at once

  // The block size serving a request of nbytes (nbytes <= kMaxRequest): 512-byte granules up to
  // 1 MiB; above, steps of an eighth of the power of two below nbytes, capped at 2 MiB, so the
  // rounding wastes at most 12.5% and at most 2 MiB while repeated requests of similar sizes
  // (the same model, step after step) share a class.
  static constexpr size_t size_class(size_t nbytes) {
    if (nbytes == 0) nbytes = 1;
    if (nbytes <= kSmallLimit) return round_up(nbytes, kGranule);
    size_t p = kSmallLimit;
    while (nbytes - p > p) p *= 2;  // now p < nbytes <= 2p
    return round_up(nbytes, p / 8 < kLargeStep ? p / 8 : kLargeStep);
  }

  ~CudaCachingAllocator() override;  // gives its cached blocks back (the registered one is never destroyed)
  void* allocate(size_t nbytes) override;
  void deallocate(void* ptr, size_t nbytes) override;
  MemoryStats stats() const override;
  void reset_peak() override;
  void empty_cache() override;

 private:
  static constexpr size_t round_up(size_t n, size_t step) { return (n + step - 1) / step * step; }
  void* malloc_or_throw(size_t block, size_t requested);
  void release_cache_locked();

  mutable std::mutex mutex_;
  std::unordered_map<size_t, std::vector<void*>> free_lists_;
  MemoryStats stats_;
};

}  // namespace terra
