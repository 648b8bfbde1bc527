// ParkingSpot: where one thread waits for a condition another thread makes true, spinning
// briefly first and then blocking, so that the thread making it true pays for a wake-up (a mutex
// and a notify) only when the waiter is really asleep. The op ring uses one per side.
#pragma once
#include <atomic>
#include <condition_variable>
#include <mutex>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace terra::actors {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

class ParkingSpot {
 public:
  // Spins this many rounds (a few microseconds) before blocking: long enough to catch a producer
  // that is mid-burst, short enough not to steal a core from it on a two-core machine.
  static constexpr int kSpinRounds = 2000;

  // Returns once ready() is true. ready() must become true only through writes that are followed
  // by notify(), and must read state published with release/acquire (or stronger) atomics.
  template <class Ready>
  void wait_until(Ready ready) {
    for (int i = 0; i < kSpinRounds; ++i) {
      if (ready()) return;
      cpu_relax();
    }
    std::unique_lock<std::mutex> lock(mutex_);
    sleeping_.store(true, std::memory_order_relaxed);
    // Note [Parking handshake]: the waiter stores `sleeping_` then reads the condition; the
    // notifier writes the condition then reads `sleeping_`. With a seq_cst fence between the two
    // on both sides, at least one of them sees the other's write, so either the waiter sees the
    // condition and never sleeps or the notifier sees the sleeper and wakes it (under the mutex,
    // which the waiter holds until it is inside wait()).
    std::atomic_thread_fence(std::memory_order_seq_cst);
    cv_.wait(lock, ready);
    sleeping_.store(false, std::memory_order_relaxed);
  }

  // Call after making the waiter's condition true.
  void notify() {
    std::atomic_thread_fence(std::memory_order_seq_cst);  // Note [Parking handshake]
    if (!sleeping_.load(std::memory_order_relaxed)) return;
    std::lock_guard<std::mutex> lock(mutex_);
    cv_.notify_one();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::atomic<bool> sleeping_{false};
};

}  // namespace terra::actors
