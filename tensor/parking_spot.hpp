// ParkingSpot: where threads wait for a condition another thread makes true, spinning briefly
// first and then blocking, so that the thread making it true pays for a wake-up (a mutex and a
// notify) only when a waiter is really asleep. The op ring uses one per side, the graph actor one
// per direction, the CPU kernels' thread pool one for its workers and one for the caller.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "tensor/spin_lock.hpp"

namespace terra {

class ParkingSpot {
 public:
  // How long a waiter spins before it blocks, by default: long enough to catch a producer that is
  // mid-burst, short enough not to steal a core from it on a two-core machine for long.
  static constexpr std::chrono::microseconds kDefaultSpin{50};

  explicit ParkingSpot(std::chrono::microseconds spin = kDefaultSpin) : spin_(spin) {}

  // Returns once ready() is true. ready() must become true only through writes that are followed
  // by notify(), and must read state published with release/acquire (or stronger) atomics.
  template <class Ready>
  void wait_until(Ready ready) {
    if (ready()) return;
    // The clock is read once per 64 rounds: a pause is tens of nanoseconds, a clock read more.
    // Past the default spin the waiter yields between rounds, so a runnable thread (a kernel's
    // worker) can have its core while it waits.
    const auto start = std::chrono::steady_clock::now();
    for (unsigned i = 1;; ++i) {
      if (ready()) return;
      cpu_relax();
      if (i % 64 != 0) continue;
      const auto spun = std::chrono::steady_clock::now() - start;
      if (spun >= spin_) break;
      if (spun >= kDefaultSpin) std::this_thread::yield();
    }
    std::unique_lock<std::mutex> lock(mutex_);
    // Note [Parking handshake]: the waiter announces itself, then reads the condition; the
    // notifier publishes the condition, then reads the announcements. Both touch `sleeping_` with
    // an acq_rel read-modify-write, so the two RMWs are ordered: if the notifier's comes second
    // it reads the waiter's count and wakes it (under the mutex, which the waiter holds until it
    // is inside wait()); if it comes first, the waiter's RMW reads from it and so sees the
    // condition the notifier published. (RMWs rather than fences, so ThreadSanitizer can check it.)
    sleeping_.fetch_add(1, std::memory_order_acq_rel);
    cv_.wait(lock, ready);
    sleeping_.fetch_sub(1, std::memory_order_relaxed);
  }

  // Call after making the waiters' condition true: wakes every one that sleeps.
  void notify() {
    if (sleeping_.fetch_add(0, std::memory_order_acq_rel) == 0) return;  // Note [Parking handshake]
    std::lock_guard<std::mutex> lock(mutex_);
    cv_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::atomic<unsigned> sleeping_{0};  // how many waiters sleep
  std::chrono::microseconds spin_;
};

}  // namespace terra
