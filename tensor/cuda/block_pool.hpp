// The block management of Terra's CUDA caching allocator, kept apart from CUDA so it is built in
// every configuration and tested without a device (tests/cuda/test_block_pool.cpp drives it with
// a fake backend). A MemoryBackend hands out raw memory (cudaMalloc for device memory,
// cudaHostAlloc for pinned host memory, host addresses in the tests); the pool keeps what it
// got as segments and serves requests from them:
//  - requests are rounded up (size_class) and served best-fit from the free blocks of the
//    requesting stream's pool; "small" requests (up to 1 MiB) and large ones have separate
//    pools, so small tensors do not fragment the large segments;
//  - a free block larger than the request is SPLIT: the request takes its front, the remainder
//    stays free in the pool (small blocks split down to 512 bytes, large ones only when more
//    than 1 MiB remains);
//  - a freed block is COALESCED with its free neighbours in the same segment, so a segment
//    whose blocks are all free is one block again;
//  - a new segment is 2 MiB for small requests, 20 MiB for requests under 10 MiB, else the
//    rounded request, so the next requests of a model's step find room in it;
//  - when the backend is out of memory, the segments with nothing in use are given back and the
//    request tried once more; a second failure throws terra::Error(OutOfMemory).
// Per-stream pools: a block freed goes back to the pool of the stream it was allocated on and is
// reused only by requests on that stream, whose later work runs after the old owner's. A block
// used on another stream must not be freed before that stream's work is done (no record_stream
// yet: Terra queues its work on the legacy default stream, and the only other streams, a thread's
// own for a plan run (on_own_stream in graph_capture.hpp), are joined to it both ways around it).
// Thread-safe: one mutex guards everything.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "tensor/allocator.hpp"

namespace terra {

class MemoryBackend {
 public:
  virtual ~MemoryBackend() = default;
  // nbytes of fresh memory, or nullptr when the device is out of memory; other failures throw.
  virtual void* raw_allocate(size_t nbytes) = 0;
  virtual void raw_free(void* ptr) = 0;
  // For the out-of-memory message: the device and what it has free ("cuda:0; the device has ...").
  virtual std::string describe() const = 0;
};

// "12.50 MiB", for messages.
std::string mib(size_t bytes);

// An opaque stream handle (a cudaStream_t's bits).
using StreamId = uintptr_t;

class BlockPool {
 public:
  static constexpr size_t kGranule = 512;                   // every block is a multiple of this
  static constexpr size_t kSmallLimit = size_t(1) << 20;    // "small": up to 1 MiB
  static constexpr size_t kLargeStep = size_t(2) << 20;     // large requests round up by at most this
  static constexpr size_t kSmallSegment = size_t(2) << 20;  // segment for small requests
  static constexpr size_t kMediumLimit = size_t(10) << 20;  // requests below share 20 MiB segments
  static constexpr size_t kMediumSegment = size_t(20) << 20;
  static constexpr size_t kMaxRequest = size_t(1) << 56;    // larger requests fail at once

  // The block size serving a request of nbytes (nbytes <= kMaxRequest): 512-byte granules up to
  // 1 MiB; above, steps of an eighth of the power of two below nbytes, capped at 2 MiB, so the
  // rounding wastes at most 12.5% and at most 2 MiB while repeated requests of similar sizes
  // (the same model, step after step) fit each other's blocks.
  static constexpr size_t size_class(size_t nbytes) {
    if (nbytes == 0) nbytes = 1;
    if (nbytes <= kSmallLimit) return round_up(nbytes, kGranule);
    size_t p = kSmallLimit;
    while (nbytes - p > p) p *= 2;  // now p < nbytes <= 2p
    return round_up(nbytes, p / 8 < kLargeStep ? p / 8 : kLargeStep);
  }
  // The segment asked of the backend when no free block serves a request of `rounded` bytes.
  static constexpr size_t segment_size(size_t rounded) {
    if (rounded <= kSmallLimit) return kSmallSegment;
    if (rounded < kMediumLimit) return kMediumSegment;
    return rounded;
  }

  BlockPool(MemoryBackend& backend, std::string what);  // what: "CUDA", "pinned host" (messages)
  // Gives the free segments back; segments still in use are left to the process's end.
  ~BlockPool();
  BlockPool(const BlockPool&) = delete;
  BlockPool& operator=(const BlockPool&) = delete;

  void* allocate(size_t nbytes, StreamId stream);
  // ptr must be a pointer allocate() returned and not yet freed.
  void deallocate(void* ptr);
  // The bytes of the block handed out at ptr (its rounded size), and the start of the block in
  // use that contains ptr (an interior pointer of a tensor view), or nullptr.
  size_t block_size(const void* ptr) const;
  void* block_containing(const void* ptr) const;
  MemoryStats stats() const;
  void reset_peak();
  // Gives every segment with nothing in use back to the backend.
  void empty_cache();

 private:
  struct Block {
    char* ptr;
    size_t size;
    StreamId stream;
    bool small;
    bool in_use = false;
    Block* prev = nullptr;  // neighbours in the same segment
    Block* next = nullptr;
  };
  // Free blocks ordered by (stream, size, address): lower_bound finds the best fit on a stream.
  struct ByStreamSize {
    bool operator()(const Block* a, const Block* b) const {
      if (a->stream != b->stream) return a->stream < b->stream;
      if (a->size != b->size) return a->size < b->size;
      return a->ptr < b->ptr;
    }
  };
  using FreeSet = std::set<Block*, ByStreamSize>;

  static constexpr size_t round_up(size_t n, size_t step) { return (n + step - 1) / step * step; }
  FreeSet& free_set(bool small) { return small ? small_free_ : large_free_; }
  Block* take_free(size_t size, StreamId stream, bool small);
  Block* new_segment(size_t size, size_t requested, StreamId stream, bool small);
  void split(Block* block, size_t size);
  static void absorb_next(Block* block);
  void release_free_segments();

  MemoryBackend& backend_;
  std::string what_;
  mutable std::mutex mutex_;
  FreeSet small_free_, large_free_;
  std::map<const char*, Block*> in_use_;  // by address, for deallocate and block_containing
  MemoryStats stats_;
};

}  // namespace terra
