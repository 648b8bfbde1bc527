// The caching allocator's block management (block_pool.hpp): best fit, splitting, coalescing,
// segments, and the out-of-memory retry.
#include "tensor/cuda/block_pool.hpp"

#include <iterator>

#include "tensor/error.hpp"

namespace terra {

std::string mib(size_t bytes) {
  std::string s = std::to_string(static_cast<double>(bytes) / (1 << 20));
  return s.substr(0, s.find('.') + 3) + " MiB";
}

BlockPool::BlockPool(MemoryBackend& backend, std::string what) : backend_(backend), what_(std::move(what)) {}

BlockPool::~BlockPool() {
  std::lock_guard<std::mutex> lock(mutex_);
  try {
    release_free_segments();
  } catch (const Error&) {
    // Destruction at exit may find the CUDA runtime gone; the driver frees everything then anyway.
  }
}

void* BlockPool::allocate(size_t nbytes, StreamId stream) {
  TERRA_CHECK(nbytes <= kMaxRequest, OutOfMemory, what_, " out of memory: tried to allocate ", nbytes, " bytes");
  const size_t size = size_class(nbytes);
  const bool small = size <= kSmallLimit;
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.allocations++;
  Block* block = take_free(size, stream, small);
  if (block)
    stats_.cache_hits++;
  else
    block = new_segment(size, nbytes, stream, small);
  split(block, size);
  block->in_use = true;
  in_use_.emplace(block->ptr, block);
  stats_.in_use += block->size;
  if (stats_.in_use > stats_.peak) stats_.peak = stats_.in_use;
  return block->ptr;
}

BlockPool::Block* BlockPool::take_free(size_t size, StreamId stream, bool small) {
  FreeSet& set = free_set(small);
  Block key{nullptr, size, stream, small};
  auto it = set.lower_bound(&key);
  if (it == set.end() || (*it)->stream != stream) return nullptr;
  Block* block = *it;
  set.erase(it);
  return block;
}

BlockPool::Block* BlockPool::new_segment(size_t size, size_t requested, StreamId stream, bool small) {
  size_t bytes = 0;
  // A whole shared segment, or just the request when there is no room for that.
  auto raw_allocate = [&]() -> void* {
    bytes = segment_size(size);
    if (void* p = backend_.raw_allocate(bytes)) return p;
    bytes = size;
    return size < segment_size(size) ? backend_.raw_allocate(bytes) : nullptr;
  };
  void* ptr = raw_allocate();
  if (!ptr) {
    // Cached segments of other sizes or streams may be what stands in the way: give them back
    // and try once more.
    stats_.alloc_retries++;
    release_free_segments();
    ptr = raw_allocate();
  }
  if (!ptr) {
    stats_.ooms++;
    fail(ErrorKind::OutOfMemory, what_, " out of memory: tried to allocate ", requested, " bytes (", mib(requested),
         ") on ", backend_.describe(), "; Terra's tensors hold ", mib(stats_.in_use), " and its caching allocator ",
         mib(stats_.reserved));
  }
  stats_.segments++;
  stats_.reserved += bytes;
  if (stats_.reserved > stats_.peak_reserved) stats_.peak_reserved = stats_.reserved;
  return new Block{static_cast<char*>(ptr), bytes, stream, small};
}

void BlockPool::split(Block* block, size_t size) {
  const size_t rest = block->size - size;
  // A large block keeps small remainders: a sliver under 1 MiB would serve no large request.
  if (block->small ? rest < kGranule : rest <= kSmallLimit) return;
  Block* tail = new Block{block->ptr + size, rest, block->stream, block->small};
  tail->prev = block;
  tail->next = block->next;
  if (block->next) block->next->prev = tail;
  block->next = tail;
  block->size = size;
  free_set(block->small).insert(tail);
}

// `block` takes over the bytes of the block after it in its segment, which is deleted.
void BlockPool::absorb_next(Block* block) {
  Block* next = block->next;
  block->size += next->size;
  block->next = next->next;
  if (next->next) next->next->prev = block;
  delete next;
}

void BlockPool::deallocate(void* ptr) {
  if (!ptr) return;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = in_use_.find(static_cast<const char*>(ptr));
  TERRA_CHECK(it != in_use_.end(), Runtime, "freeing memory the ", what_, " caching allocator did not hand out");
  Block* block = it->second;
  in_use_.erase(it);
  block->in_use = false;
  stats_.in_use -= block->size;
  FreeSet& set = free_set(block->small);
  // Coalesce with free neighbours: a neighbour is in the same segment, so on the same stream.
  if (Block* prev = block->prev; prev && !prev->in_use) {
    set.erase(prev);
    absorb_next(prev);
    block = prev;
  }
  if (Block* next = block->next; next && !next->in_use) {
    set.erase(next);
    absorb_next(block);
  }
  set.insert(block);
}

size_t BlockPool::block_size(const void* ptr) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = in_use_.find(static_cast<const char*>(ptr));
  return it == in_use_.end() ? 0 : it->second->size;
}

void* BlockPool::block_containing(const void* ptr) const {
  const char* p = static_cast<const char*>(ptr);
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = in_use_.upper_bound(p);
  if (it == in_use_.begin()) return nullptr;
  const Block* block = std::prev(it)->second;
  return p < block->ptr + block->size ? block->ptr : nullptr;
}

MemoryStats BlockPool::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  MemoryStats s = stats_;
  s.cached = s.reserved - s.in_use;
  return s;
}

void BlockPool::reset_peak() {
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.peak = stats_.in_use;
  stats_.peak_reserved = stats_.reserved;
}

void BlockPool::empty_cache() {
  std::lock_guard<std::mutex> lock(mutex_);
  release_free_segments();
}

void BlockPool::release_free_segments() {
  for (FreeSet* set : {&small_free_, &large_free_}) {
    for (auto it = set->begin(); it != set->end();) {
      Block* block = *it;
      // A free block without neighbours is a whole segment (coalescing keeps it so).
      if (block->prev || block->next) {
        ++it;
        continue;
      }
      it = set->erase(it);
      stats_.reserved -= block->size;
      stats_.segments--;
      void* ptr = block->ptr;
      delete block;
      backend_.raw_free(ptr);
    }
  }
}

}  // namespace terra
