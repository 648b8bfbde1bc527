// The CUDA caching allocator's block management (tensor/cuda/block_pool.hpp) without a device: a
// fake backend hands out addresses it never touches and runs out of memory on command, so size
// rounding, splitting, coalescing, per-stream pools, statistics and the out-of-memory retry are
// checked in every build.
#include <map>
#include <random>
#include <vector>

#include "helpers.hpp"
#include "tensor/cuda/block_pool.hpp"

using namespace terra;
using namespace terra::test;

namespace {

constexpr size_t MiB = size_t(1) << 20;
constexpr StreamId kS1 = 0x100, kS2 = 0x200;

// Distinct, never adjacent fake addresses; nullptr once more than `capacity` bytes would be live.
class FakeBackend final : public MemoryBackend {
 public:
  explicit FakeBackend(size_t capacity = size_t(1) << 40) : capacity(capacity) {}
  void* raw_allocate(size_t nbytes) override {
    calls.push_back(nbytes);
    if (live_bytes() + nbytes > capacity) return nullptr;
    auto* p = reinterpret_cast<char*>(next);
    next += nbytes + (uintptr_t(1) << 32);
    live[p] = nbytes;
    return p;
  }
  void raw_free(void* ptr) override {
    REQUIRE(live.erase(static_cast<char*>(ptr)) == 1);
    frees++;
  }
  std::string describe() const override { return "fake:0"; }
  size_t live_bytes() const {
    size_t n = 0;
    for (const auto& [p, size] : live) n += size;
    return n;
  }

  size_t capacity;
  uintptr_t next = uintptr_t(1) << 44;
  std::map<char*, size_t> live;  // segments handed out and not freed
  std::vector<size_t> calls;     // every raw_allocate, failed ones too
  size_t frees = 0;
};

char* alloc(BlockPool& pool, size_t n, StreamId s = kS1) { return static_cast<char*>(pool.allocate(n, s)); }

}  // namespace

TEST_CASE("block pool: size classes", "[cuda][allocator]") {
  using P = BlockPool;
  static_assert(P::size_class(1) == 512);
  static_assert(P::size_class(0) == 512);
  static_assert(P::size_class(512) == 512);
  static_assert(P::size_class(513) == 1024);
  static_assert(P::size_class(1 << 20) == 1 << 20);
  static_assert(P::size_class((1 << 20) + 1) == (1 << 20) + (1 << 17));
  static_assert(P::size_class(size_t(100) << 20) == size_t(100) << 20);
  static_assert(P::size_class((size_t(100) << 20) + 1) == size_t(102) << 20);
  static_assert(P::segment_size(512) == 2 * MiB && P::segment_size(MiB) == 2 * MiB);
  static_assert(P::segment_size(MiB + 512) == 20 * MiB && P::segment_size(10 * MiB) == 10 * MiB);
  size_t previous = 0;
  for (size_t n = 1; n < (size_t(1) << 40); n = n * 3 / 2 + 1) {
    INFO(n);
    const size_t c = P::size_class(n);
    CHECK(c >= n);
    CHECK(c % P::kGranule == 0);
    CHECK(c - n < std::max<size_t>(P::kGranule, std::min<size_t>(n / 8 + 1, P::kLargeStep)));
    CHECK(c >= previous);  // monotone, so a class serves every request that maps to it
    CHECK(P::size_class(c) == c);
    CHECK(P::segment_size(c) >= c);
    previous = c;
  }
}

TEST_CASE("block pool: a segment is split, and freed blocks coalesce", "[cuda][allocator]") {
  FakeBackend backend;
  BlockPool pool(backend, "CUDA");
  char* a = alloc(pool, 1000);  // a 2 MiB segment, split: 1024 bytes for a, the rest cached
  REQUIRE(backend.calls == std::vector<size_t>{2 * MiB});
  MemoryStats s = pool.stats();
  CHECK(s.in_use == 1024);
  CHECK(s.reserved == 2 * MiB);
  CHECK(s.cached == 2 * MiB - 1024);
  CHECK(s.segments == 1);
  CHECK(s.allocations == 1);
  CHECK(s.cache_hits == 0);
  CHECK(pool.block_size(a) == 1024);

  char* b = alloc(pool, 5000);  // from the remainder, right after a
  char* c = alloc(pool, 512);
  CHECK(b == a + 1024);
  CHECK(c == b + 5120);
  CHECK(backend.calls.size() == 1);
  CHECK(pool.stats().cache_hits == 2);
  CHECK(pool.stats().in_use == 1024 + 5120 + 512);

  // Interior pointers find their block; a pointer in free space finds none.
  CHECK(pool.block_containing(b + 17) == b);
  CHECK(pool.block_containing(b + 5119) == b);
  CHECK(pool.block_containing(c + 512) == nullptr);
  CHECK(pool.block_containing(a - 1) == nullptr);

  // Free the outer two, then the middle: all merge with the free tail into one block again.
  pool.deallocate(a);
  pool.deallocate(c);
  CHECK(pool.stats().in_use == 5120);
  pool.empty_cache();  // the segment is still in use: nothing to give back
  CHECK(backend.frees == 0);
  pool.deallocate(b);
  CHECK(pool.stats().in_use == 0);
  CHECK(pool.stats().cached == 2 * MiB);
  // Whole again: a 1 MiB request starts at the segment's start (unmerged, only the tail would fit).
  char* big = alloc(pool, MiB);
  CHECK(big == a);
  pool.deallocate(big);
  pool.empty_cache();
  CHECK(backend.frees == 1);
  CHECK(backend.live.empty());
  CHECK(pool.stats().reserved == 0);
  CHECK(pool.stats().segments == 0);
}

TEST_CASE("block pool: large blocks", "[cuda][allocator]") {
  FakeBackend backend;
  BlockPool pool(backend, "CUDA");
  char* a = alloc(pool, 3 * MiB);  // under 10 MiB: a 20 MiB segment, split
  CHECK(backend.calls == std::vector<size_t>{20 * MiB});
  char* b = alloc(pool, 4 * MiB);
  CHECK(b == a + 3 * MiB);
  // 13 MiB remain; 12 MiB leaves 1 MiB, too little to split off: the block keeps it.
  char* c = alloc(pool, 12 * MiB);
  CHECK(c == b + 4 * MiB);
  CHECK(pool.block_size(c) == 13 * MiB);
  CHECK(pool.stats().in_use == 20 * MiB);
  CHECK(backend.calls.size() == 1);
  // 10 MiB and more: a segment of exactly the rounded size.
  char* d = alloc(pool, 30 * MiB + 5);
  CHECK(backend.calls.back() == BlockPool::size_class(30 * MiB + 5));
  CHECK(pool.block_size(d) == 32 * MiB);
  // Small requests never take large blocks: a free 3 MiB block stays for large requests.
  pool.deallocate(a);
  char* small = alloc(pool, 4096);
  CHECK(backend.calls.back() == 2 * MiB);
  CHECK(pool.block_containing(small) == small);
  char* again = alloc(pool, 2 * MiB + 1);  // best fit: the freed 3 MiB block
  CHECK(again == a);
  CHECK(pool.block_size(again) == 3 * MiB);  // the 768 KiB left over stays with it
  for (char* p : {again, b, c, d, small}) pool.deallocate(p);
  CHECK(pool.stats().in_use == 0);
  pool.empty_cache();
  CHECK(backend.live.empty());
}

TEST_CASE("block pool: each stream has its own pool", "[cuda][allocator]") {
  FakeBackend backend;
  BlockPool pool(backend, "CUDA");
  char* a = alloc(pool, 1000, kS1);
  pool.deallocate(a);
  char* b = alloc(pool, 1000, kS2);  // the free block is stream 1's: a new segment
  CHECK(backend.calls.size() == 2);
  CHECK(b != a);
  char* c = alloc(pool, 1000, kS1);  // stream 1 gets its cached block back
  CHECK(c == a);
  pool.deallocate(b);  // goes back to stream 2's pool
  char* d = alloc(pool, 2000, kS1);
  CHECK(d == a + 1024);  // stream 1's segment, not stream 2's free one
  CHECK(backend.calls.size() == 2);
  char* e = alloc(pool, 2000, kS2);
  CHECK(e == b);
  CHECK(pool.stats().cache_hits == 3);
  for (char* p : {c, d, e}) pool.deallocate(p);
  pool.empty_cache();
  CHECK(backend.live.empty());
}

TEST_CASE("block pool: statistics", "[cuda][allocator]") {
  FakeBackend backend;
  BlockPool pool(backend, "CUDA");
  char* a = alloc(pool, 3 * MiB);
  char* b = alloc(pool, 100);
  MemoryStats s = pool.stats();
  CHECK(s.in_use == 3 * MiB + 512);
  CHECK(s.peak == s.in_use);
  CHECK(s.reserved == 22 * MiB);
  CHECK(s.peak_reserved == 22 * MiB);
  CHECK(s.cached == s.reserved - s.in_use);
  CHECK(s.segments == 2);
  CHECK(s.allocations == 2);
  pool.deallocate(a);
  CHECK(pool.stats().peak == 3 * MiB + 512);
  pool.reset_peak();
  CHECK(pool.stats().peak == 512);
  CHECK(pool.stats().peak_reserved == 22 * MiB);
  pool.empty_cache();
  CHECK(pool.stats().reserved == 2 * MiB);
  CHECK(pool.stats().peak_reserved == 22 * MiB);
  pool.reset_peak();
  CHECK(pool.stats().peak_reserved == 2 * MiB);
  CHECK(pool.stats().alloc_retries == 0);
  CHECK(pool.stats().ooms == 0);
  pool.deallocate(b);
}

TEST_CASE("block pool: out of memory frees the cache, retries once, then raises", "[cuda][allocator]") {
  FakeBackend backend(20 * MiB);
  BlockPool pool(backend, "CUDA");
  pool.deallocate(alloc(pool, 1000));  // a cached 2 MiB segment
  // 20 MiB do not fit beside it: the free segment goes back and the retry succeeds.
  char* big = alloc(pool, 19 * MiB);
  CHECK(pool.block_size(big) == 20 * MiB);
  CHECK(backend.frees == 1);
  CHECK(pool.stats().alloc_retries == 1);
  CHECK(pool.stats().ooms == 0);
  CHECK(pool.stats().reserved == 20 * MiB);

  // Nothing cached to give back: the error names the request and the device, and counts.
  require_error([&] { alloc(pool, MiB); }, ErrorKind::OutOfMemory,
                {"CUDA out of memory", "tried to allocate 1048576 bytes (1.00 MiB)", "on fake:0",
                 "tensors hold 20.00 MiB"});
  CHECK(pool.stats().alloc_retries == 2);
  CHECK(pool.stats().ooms == 1);
  CHECK(pool.stats().in_use == 20 * MiB);
  CHECK(pool.stats().allocations == 3);  // the failed call counts as a call

  // A partly used segment is not given back on a retry: a small block of a big segment in use.
  pool.deallocate(big);
  char* part = alloc(pool, 2 * MiB);  // the 20 MiB segment, split
  const size_t frees = backend.frees;
  require_error([&] { alloc(pool, 19 * MiB); }, ErrorKind::OutOfMemory, {"CUDA out of memory"});
  CHECK(backend.frees == frees);
  pool.deallocate(part);

  // The pool keeps working after the failure: the free 20 MiB segment (large) is given back so a
  // small request can have a segment of its own.
  char* small = alloc(pool, 1000);
  CHECK(backend.live.size() == 1);
  CHECK(backend.live.begin()->second == 2 * MiB);
  pool.deallocate(small);

  // Too big to try at all.
  const size_t calls = backend.calls.size();
  require_error([&] { alloc(pool, BlockPool::kMaxRequest + 1); }, ErrorKind::OutOfMemory, {"CUDA out of memory"});
  CHECK(backend.calls.size() == calls);
}

TEST_CASE("block pool: without room for a whole segment, a segment of just the request", "[cuda][allocator]") {
  FakeBackend backend(21 * MiB);
  BlockPool pool(backend, "pinned host");
  char* big = alloc(pool, 20 * MiB);
  char* small = alloc(pool, 1000);  // 2 MiB do not fit; 1024 bytes do
  CHECK(backend.calls == std::vector<size_t>{20 * MiB, 2 * MiB, 1024});
  CHECK(pool.block_size(small) == 1024);
  CHECK(pool.stats().alloc_retries == 0);
  pool.deallocate(small);
  pool.deallocate(big);
  require_error([&] { alloc(pool, 22 * MiB); }, ErrorKind::OutOfMemory, {"pinned host out of memory"});
  CHECK(backend.live.empty());  // the retry gave everything back
}

TEST_CASE("block pool: freeing a pointer it did not hand out is an error", "[cuda][allocator]") {
  FakeBackend backend;
  BlockPool pool(backend, "CUDA");
  char* a = alloc(pool, 1000);
  require_error([&] { pool.deallocate(a + 512); }, ErrorKind::Runtime, {"did not hand out"});
  pool.deallocate(a);
  require_error([&] { pool.deallocate(a); }, ErrorKind::Runtime, {"did not hand out"});
  pool.deallocate(nullptr);  // a no-op, as free(nullptr)
}

TEST_CASE("block pool: random allocations on two streams", "[cuda][allocator]") {
  FakeBackend backend;
  BlockPool pool(backend, "CUDA");
  std::mt19937_64 rng(42);
  std::map<char*, std::pair<size_t, StreamId>> live;  // block -> (rounded size, stream)
  size_t in_use = 0;
  for (int step = 0; step < 4000; ++step) {
    if (live.empty() || rng() % 100 < 55) {
      // Mostly small, sometimes large, now and then huge.
      const size_t r = rng() % 100;
      const size_t n = r < 70 ? rng() % (64 << 10) : (r < 97 ? rng() % (8 * MiB) : rng() % (40 * MiB));
      const StreamId s = rng() % 2 ? kS1 : kS2;
      char* p = alloc(pool, n, s);
      const size_t size = pool.block_size(p);
      REQUIRE(size >= BlockPool::size_class(n));
      // No overlap with a block in use.
      auto next = live.lower_bound(p);
      if (next != live.end()) REQUIRE(p + size <= next->first);
      if (next != live.begin()) REQUIRE(std::prev(next)->first + std::prev(next)->second.first <= p);
      live[p] = {size, s};
      in_use += size;
    } else {
      auto it = live.begin();
      std::advance(it, rng() % live.size());
      in_use -= it->second.first;
      pool.deallocate(it->first);
      live.erase(it);
    }
    const MemoryStats s = pool.stats();
    REQUIRE(s.in_use == in_use);
    REQUIRE(s.reserved == backend.live_bytes());
    REQUIRE(s.segments == backend.live.size());
    REQUIRE(s.cached == s.reserved - s.in_use);
    if (step % 500 == 0) pool.empty_cache();
  }
  for (auto& [p, info] : live) pool.deallocate(p);
  // Every segment coalesced back into one free block, so every one goes back.
  pool.empty_cache();
  CHECK(backend.live.empty());
  CHECK(pool.stats().reserved == 0);
}
