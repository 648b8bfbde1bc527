// Terra's CPU caching arena: requests are rounded up to a size class (64-byte granules for small
// blocks, quarter powers of two above 4 KiB), freed blocks go to a per-class free list and are
// handed out again without touching malloc. One spin lock guards the lists (the interpreter and
// the graph actor allocate and free at once; a system allocation happens outside it).
#pragma once
#include <unordered_map>
#include <vector>

#include "tensor/allocator.hpp"
#include "tensor/spin_lock.hpp"

namespace terra {

class CpuCachingAllocator final : public Allocator {
 public:
  static constexpr size_t kAlignment = 64;
  ~CpuCachingAllocator() override;
  void* allocate(size_t nbytes) override;
  void deallocate(void* ptr, size_t nbytes) override;
  MemoryStats stats() const override;
  void reset_peak() override;
  void empty_cache() override;

  static size_t size_class(size_t nbytes);

  // Held across fork() (Note [Fork] in kernels/cpu/parallel.cpp): a child must not inherit the
  // lock held by a thread that does not exist there, or its first allocation would spin for ever.
  void lock_for_fork() { lock_.lock(); }
  void unlock_after_fork() { lock_.unlock(); }

 private:
  mutable SpinLock lock_;
  std::unordered_map<size_t, std::vector<void*>> free_lists_;
  MemoryStats stats_;
};

}  // namespace terra
