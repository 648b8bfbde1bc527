// Per-device allocators. Every Storage gets its bytes from the allocator registered for its
// device type, so the CPU arena and the CUDA caching allocator report the same statistics
// (terra.memory_stats(), terra.cuda.memory_stats()).
#pragma once
#include <cstddef>
#include <cstdint>

#include "tensor/device.hpp"

namespace terra {

struct MemoryStats {
  size_t in_use = 0;      // bytes handed out and not yet returned
  size_t peak = 0;        // high-water mark of in_use since the last reset_peak()
  size_t cached = 0;      // bytes held in free lists, ready for reuse
  size_t allocations = 0; // calls to allocate()
  size_t cache_hits = 0;  // allocate() calls served from the cache
  size_t reserved = 0;    // bytes held from the system: in use + cached
  // The CUDA caching allocator's (tensor/cuda/block_pool.hpp); 0 for the CPU arena.
  size_t peak_reserved = 0;  // high-water mark of reserved since the last reset_peak()
  size_t segments = 0;       // separate system allocations held (cudaMalloc calls not yet freed)
  size_t alloc_retries = 0;  // system allocations that failed, freed the cache and tried again
  size_t ooms = 0;           // allocate() calls that still failed and threw OutOfMemory
};

class Allocator {
 public:
  virtual ~Allocator() = default;
  // Returns memory for at least `nbytes` (64-byte aligned on the CPU); never nullptr for nbytes>0.
  virtual void* allocate(size_t nbytes) = 0;
  virtual void deallocate(void* ptr, size_t nbytes) = 0;
  virtual MemoryStats stats() const = 0;
  virtual void reset_peak() = 0;
  // Returns all cached (free) blocks to the system.
  virtual void empty_cache() = 0;
};

// The allocator for a device type; throws if that device type was not built in.
Allocator& allocator_for(DeviceType type);
// Called once by a device backend (CUDA) when it is initialised.
void register_allocator(DeviceType type, Allocator* allocator);
bool has_allocator(DeviceType type);

}  // namespace terra
