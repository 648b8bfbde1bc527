// Pinned host memory (cuda_device.hpp): a BlockPool over cudaHostAlloc, where a freed block that
// queued copies still use waits (on CUDA events) before it can be handed out again.
#include "tensor/cuda/pinned.hpp"

#include <mutex>
#include <unordered_map>
#include <vector>

#include "tensor/cuda/block_pool.hpp"
#include "tensor/cuda/check.hpp"
#include "tensor/cuda/cuda_device.hpp"
#include "tensor/error.hpp"

namespace terra::cuda {

namespace {

class HostAllocBackend final : public MemoryBackend {
 public:
  void* raw_allocate(size_t nbytes) override {
    void* ptr = nullptr;
    const cudaError_t err = cudaHostAlloc(&ptr, nbytes, cudaHostAllocDefault);
    if (err == cudaErrorMemoryAllocation) {
      (void)cudaGetLastError();
      return nullptr;
    }
    TERRA_CUDA_CHECK(err);
    return ptr;
  }
  void raw_free(void* ptr) override { TERRA_CUDA_CHECK(cudaFreeHost(ptr)); }
  std::string describe() const override { return "the host (page-locked memory)"; }
};

// The host reads and writes pinned memory, not a stream: one pool (stream 0) for all.
class PinnedPool {
 public:
  void* allocate(size_t nbytes) {
    collect();
    return pool_.allocate(nbytes, 0);
  }

  void record_use(const void* ptr, cudaStream_t stream) {
    void* block = pool_.block_containing(ptr);
    if (!block) return;
    cudaEvent_t event;
    TERRA_CUDA_CHECK(cudaEventCreateWithFlags(&event, cudaEventDisableTiming));
    TERRA_CUDA_CHECK(cudaEventRecord(event, stream));
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<cudaEvent_t>& events = uses_[block];
    // A tensor pinned for the whole run is copied again and again: keep only the pending copies.
    if (completed(events)) {
      for (cudaEvent_t done : events) TERRA_CUDA_CHECK(cudaEventDestroy(done));
      events.clear();
    }
    events.push_back(event);
  }

  void free(void* ptr) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = uses_.find(ptr);
      if (it != uses_.end()) {
        pending_.push_back({ptr, std::move(it->second)});
        uses_.erase(it);
        return;
      }
    }
    pool_.deallocate(ptr);
  }

  bool contains(const void* ptr) const { return pool_.block_containing(ptr) != nullptr; }
  MemoryStats stats() const { return pool_.stats(); }

 private:
  struct Pending {
    void* ptr;
    std::vector<cudaEvent_t> events;
  };

  // Gives the freed blocks whose copies have all completed back to the pool.
  void collect() {
    std::vector<void*> done;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (auto it = pending_.begin(); it != pending_.end();) {
        if (!completed(it->events)) {
          ++it;
          continue;
        }
        for (cudaEvent_t event : it->events) TERRA_CUDA_CHECK(cudaEventDestroy(event));
        done.push_back(it->ptr);
        it = pending_.erase(it);
      }
    }
    for (void* ptr : done) pool_.deallocate(ptr);
  }

  static bool completed(const std::vector<cudaEvent_t>& events) {
    for (cudaEvent_t event : events) {
      const cudaError_t err = cudaEventQuery(event);
      if (err == cudaErrorNotReady) {
        (void)cudaGetLastError();
        return false;
      }
      TERRA_CUDA_CHECK(err);
    }
    return true;
  }

  HostAllocBackend backend_;
  BlockPool pool_{backend_, "pinned host"};
  std::mutex mutex_;
  std::unordered_map<void*, std::vector<cudaEvent_t>> uses_;  // blocks in use that copies used
  std::vector<Pending> pending_;                               // freed, copies maybe in flight
};

// Never destroyed: tensors may be freed during static destruction.
PinnedPool& pinned_pool() {
  static PinnedPool* pool = new PinnedPool();
  return *pool;
}

}  // namespace

void* pinned_allocate(size_t nbytes) {
  TERRA_CHECK(is_available(), Runtime, "cannot pin memory: ", unavailable_reason());
  return pinned_pool().allocate(nbytes);
}

void pinned_free(void* ptr) {
  if (ptr) pinned_pool().free(ptr);
}

bool is_pinned(const void* ptr) { return is_available() && pinned_pool().contains(ptr); }

MemoryStats pinned_stats() { return is_available() ? pinned_pool().stats() : MemoryStats{}; }

void record_pinned_use(const void* ptr, cudaStream_t stream) {
  if (is_available()) pinned_pool().record_use(ptr, stream);
}

}  // namespace terra::cuda
