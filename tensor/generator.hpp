// A random-number generator state: a seed (Philox key) and an offset (the next unused counter).
// A random op reserves as many counters as it needs up front and its kernel derives element i's
// numbers from (seed, offset + f(i)), so the draw is the same however the work is split.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>

namespace terra {

class Generator {
 public:
  explicit Generator(uint64_t seed = 67280421310721ull) : seed_(seed) {}
  void manual_seed(uint64_t seed);
  uint64_t seed() const;
  // Reserves `count` counters and returns the first; thread-safe.
  uint64_t reserve(uint64_t count);
  uint64_t offset() const;
  // For get_state()/set_state(): (seed, offset).
  void set_state(uint64_t seed, uint64_t offset);

 private:
  mutable std::mutex mutex_;
  uint64_t seed_;
  uint64_t offset_ = 0;
};

// The process-wide default generator (terra.manual_seed seeds it).
Generator& default_generator();

}  // namespace terra
