#include "tensor/cpu_allocator.hpp"

#include <cstdlib>
#include <mutex>
#include <new>

#include "tensor/error.hpp"

namespace terra {

size_t CpuCachingAllocator::size_class(size_t nbytes) {
  if (nbytes == 0) nbytes = 1;
  if (nbytes <= 4096) return (nbytes + kAlignment - 1) / kAlignment * kAlignment;
  // Quarter powers of two: at most 25% waste, few enough classes that reuse is likely.
  size_t p = 4096;
  while (p * 2 < nbytes) p *= 2;
  size_t step = p / 4;
  return (nbytes + step - 1) / step * step;
}

void* CpuCachingAllocator::allocate(size_t nbytes) {
  const size_t cls = size_class(nbytes);
  {
    std::lock_guard<SpinLock> guard(lock_);
    stats_.allocations++;
    stats_.in_use += cls;
    if (stats_.in_use > stats_.peak) stats_.peak = stats_.in_use;
    auto it = free_lists_.find(cls);
    if (it != free_lists_.end() && !it->second.empty()) {
      void* ptr = it->second.back();
      it->second.pop_back();
      stats_.cached -= cls;
      stats_.cache_hits++;
      return ptr;
    }
  }
  // A miss: the system allocation runs outside the lock.
  void* ptr = std::aligned_alloc(kAlignment, cls);
  if (!ptr) {
    empty_cache();  // out of memory: give the cache back to the system and try once more
    ptr = std::aligned_alloc(kAlignment, cls);
  }
  if (!ptr) {
    std::lock_guard<SpinLock> guard(lock_);
    stats_.in_use -= cls;
  }
  TERRA_CHECK(ptr, OutOfMemory, "CPU out of memory: tried to allocate ", cls, " bytes");
  return ptr;
}

void CpuCachingAllocator::deallocate(void* ptr, size_t nbytes) {
  if (!ptr) return;
  const size_t cls = size_class(nbytes);
  std::lock_guard<SpinLock> guard(lock_);
  free_lists_[cls].push_back(ptr);
  stats_.in_use -= cls;
  stats_.cached += cls;
}

MemoryStats CpuCachingAllocator::stats() const {
  std::lock_guard<SpinLock> guard(lock_);
  MemoryStats s = stats_;
  s.reserved = s.in_use + s.cached;
  return s;
}

void CpuCachingAllocator::reset_peak() {
  std::lock_guard<SpinLock> guard(lock_);
  stats_.peak = stats_.in_use;
}

void CpuCachingAllocator::empty_cache() {
  std::unordered_map<size_t, std::vector<void*>> lists;
  {
    std::lock_guard<SpinLock> guard(lock_);
    lists.swap(free_lists_);
    stats_.cached = 0;
  }
  for (auto& [size, list] : lists)
    for (void* p : list) std::free(p);
}

CpuCachingAllocator::~CpuCachingAllocator() { empty_cache(); }

}  // namespace terra
