#include <catch2/catch.hpp>

#include <cstdint>

#include "tensor/cpu_allocator.hpp"
#include "tensor/tensor.hpp"

using namespace terra;

TEST_CASE("cpu allocator: alignment, reuse and statistics", "[allocator]") {
  CpuCachingAllocator a;
  void* p = a.allocate(1000);
  REQUIRE(reinterpret_cast<uintptr_t>(p) % 64 == 0);
  MemoryStats s = a.stats();
  CHECK(s.in_use == CpuCachingAllocator::size_class(1000));
  CHECK(s.peak == s.in_use);
  a.deallocate(p, 1000);
  CHECK(a.stats().in_use == 0);
  CHECK(a.stats().cached == CpuCachingAllocator::size_class(1000));
  void* q = a.allocate(990);  // same size class: served from the cache
  CHECK(q == p);
  CHECK(a.stats().cache_hits == 1);
  a.deallocate(q, 990);
  a.empty_cache();
  CHECK(a.stats().cached == 0);
  CHECK(a.stats().peak == CpuCachingAllocator::size_class(1000));
  a.reset_peak();
  CHECK(a.stats().peak == 0);
}

TEST_CASE("cpu allocator: size classes bound the waste", "[allocator]") {
  for (size_t n : {1ul, 63ul, 64ul, 65ul, 4096ul, 4097ul, 100000ul, (1ul << 24) + 1}) {
    size_t c = CpuCachingAllocator::size_class(n);
    CHECK(c >= n);
    CHECK(c % 64 == 0);
    CHECK(static_cast<double>(c) <= static_cast<double>(n) * 1.25 + 64);
  }
}

TEST_CASE("tensors return their memory to the arena", "[allocator]") {
  Allocator& a = allocator_for(DeviceType::CPU);
  size_t before = a.stats().in_use;
  {
    Tensor t = Tensor::empty({256, 256}, DType::Float32);
    CHECK(a.stats().in_use >= before + 256 * 256 * 4);
    Tensor view = t.as_strided({256}, {1}, 10);
    CHECK(view.shares_storage(t));
  }
  CHECK(a.stats().in_use == before);
}

TEST_CASE("external buffers are released exactly once", "[allocator]") {
  int released = 0;
  std::vector<float> buf(12, 1.5f);
  {
    Tensor t = Tensor::from_blob(buf.data(), {3, 4}, {4, 1}, DType::Float32, Device{}, [&] { released++; });
    Tensor v = t.as_strided({4, 3}, {1, 4}, 0);
    CHECK(v.data<float>()[0] == 1.5f);
  }
  CHECK(released == 1);
}

TEST_CASE("negative sizes are rejected", "[tensor]") {
  CHECK_THROWS_AS(Tensor::empty({2, -1}, DType::Float32), Error);
}
