// SpinLock: a lock for critical sections of a few dozen instructions that two threads take at
// once often (the CPU caching arena's free lists, hit by the interpreter and the graph actor
// together). A contended std::mutex parks the loser in the kernel, a futex round trip of tens of
// microseconds on these virtual machines; here the loser spins with a pause, and yields after a
// while in case the holder was preempted. Never hold it across a call that can block.
#pragma once
#include <atomic>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace terra {

// What a spinning thread does between two reads of what it waits for.
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

class SpinLock {
 public:
  void lock() {
    for (unsigned spins = 0; locked_.exchange(true, std::memory_order_acquire);) {
      while (locked_.load(std::memory_order_relaxed)) {
        if (++spins < kSpinsBeforeYield) cpu_relax();
        else std::this_thread::yield();
      }
    }
  }
  void unlock() { locked_.store(false, std::memory_order_release); }

 private:
  static constexpr unsigned kSpinsBeforeYield = 1024;
  std::atomic<bool> locked_{false};
};

}  // namespace terra
