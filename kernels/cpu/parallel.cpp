#include "kernels/cpu/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <new>
#include <thread>
#include <utility>
#include <vector>

#include <pthread.h>

#include "tensor/parking_spot.hpp"

namespace terra::cpu {

namespace {

thread_local bool t_in_parallel = false;
thread_local bool t_keeps_reserved_cores_free = false;

// How a range of n items is cut for a pool of `threads`: into this many chunks, chunk `part` being
// chunk_of(...). The pool's jobs and nested parallel_fors cut alike, so a kernel that sums per
// chunk gives the same bits inside another parallel body as outside one.
int chunks_for(int64_t n, int64_t grain, int threads) {
  return static_cast<int>(std::min<int64_t>(threads, (n + grain - 1) / grain));
}
std::pair<int64_t, int64_t> chunk_of(int64_t begin, int64_t end, int part, int parts) {
  const int64_t chunk = (end - begin + parts - 1) / parts;
  const int64_t b = begin + part * chunk;
  return {b, std::min(end, b + chunk)};
}

// Note [Pool hand-off]
// Waking a sleeping worker costs a futex call, and the worker's wake-up a scheduler round trip:
// about 25 microseconds on these 2-core virtual machines, where an add of 65536 floats took 32 us
// split against 11 us on one thread, and the digits CNN trained 1.4x slower on two threads than
// on one. So workers wait for the next job, and the caller for the workers' parts, in a
// ParkingSpot (tensor/parking_spot.hpp) that spins for kSpin before it sleeps (yielding its core
// past ParkingSpot::kDefaultSpin): the kernels of a training step, issued back to back, find the
// workers awake and nobody makes a system call.
constexpr std::chrono::microseconds kSpin{200};

// A job is split into one chunk per thread, and its chunks are shared among `participants`
// threads (fewer than the chunks while cores are reserved: set_reserved_cores); the caller is one
// of them. How the range is cut depends only on the pool's size, never on the participants or on
// who runs which chunk, so a kernel that sums per chunk gives the same bits either way. Jobs are
// serialized by job_mutex_ (kernels issue one parallel_for at a time). A job is published by one
// atomic word (sequence number, participants, chunks), so a worker never pairs one job's number
// with another's counts.
//
// Note [Chunks are claimed]: participants take chunks from a shared counter instead of each
// running a fixed share. On a busy machine a worker may not get a core for milliseconds (another
// process, or on two cores the graph actor and Python); with fixed shares the caller waited for
// it (a 25 us max_pool2d took ~100 us while tests ran beside it), now it runs the chunks nobody
// has claimed and waits only for chunks being run. The counter carries the job's sequence number,
// so a worker that wakes late cannot claim a chunk of a later job as one of the job it saw;
// body_, begin_ and end_ stay valid while any chunk of their job is unfinished, and a claim
// succeeds only while one is.
class ThreadPool {
 public:
  explicit ThreadPool(int n) { resize(n); }
  ~ThreadPool() { stop(); }

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // New workers start having "seen" the last job, or they would rerun it with no body. Holding
  // job_mutex_ keeps jobs out while the pool changes size.
  void resize(int n) {
    std::lock_guard<std::mutex> job_lock(job_mutex_);
    stop();
    stopping_.store(false);
    const uint64_t seen = job_.load();
    for (int i = 0; i < n - 1; ++i) workers_.emplace_back([this, i, seen] { worker_loop(i + 1, seen); });
  }

  void run(int64_t begin, int64_t end, int64_t grain, const std::function<void(int64_t, int64_t)>& body) {
    std::lock_guard<std::mutex> job_lock(job_mutex_);
    const int parts = chunks_for(end - begin, grain, size());
    const int participants = std::min(parts, usable());
    body_ = &body;
    begin_ = begin;
    end_ = end;
    error_ = nullptr;
    if (participants == 1) {  // no hand-off at all
      for (int part = 0; part < parts; ++part) run_part(part, parts);
      body_ = nullptr;
      if (error_) std::rethrow_exception(error_);
      return;
    }
    const uint64_t sequence = ((job_.load() >> (2 * kCountBits)) + 1) & 0xffffffffu;  // wraps as in job_
    unfinished_.store(parts);
    next_chunk_.store(sequence << 32, std::memory_order_release);
    job_.store(sequence << (2 * kCountBits) | static_cast<uint64_t>(participants) << kCountBits |
               static_cast<uint64_t>(parts));
    job_posted_.notify();
    run_claimed(sequence, parts);
    job_done_.wait_until([&] { return unfinished_.load() == 0; });
    body_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

  // Note [Fork]: a forked child has only the thread that forked. Before the fork, the forking
  // thread takes job_mutex_, so no job is in flight and every worker waits for the next one; in
  // the child, the workers' std::thread objects are leaked (joining or destroying them would wait
  // for threads that do not exist there), and the lock and the parking spots are made anew (a
  // worker may sleep on a spot's condition variable, which would wait for it on the next
  // notify). The child runs parallel_for on its one thread until set_num_threads makes workers.
  void before_fork() { job_mutex_.lock(); }
  void after_fork_in_parent() { job_mutex_.unlock(); }
  void after_fork_in_child() {
    new std::vector<std::thread>(std::move(workers_));  // leaked on purpose
    workers_.clear();
    new (&job_mutex_) std::mutex();
    new (&error_mutex_) std::mutex();
    new (&job_posted_) ParkingSpot(kSpin);
    new (&job_done_) ParkingSpot(kSpin);
    unfinished_.store(0);
    stopping_.store(false);
  }

  // Cores parallel_for leaves to other threads (set_reserved_cores).
  void set_reserved(int n) { reserved_.store(std::max(0, n)); }
  int reserved() const { return reserved_.load(); }
  int usable() const { return t_keeps_reserved_cores_free ? std::max(1, size() - reserved_.load()) : size(); }

 private:
  // A job word: sequence number, participants, chunks, the counts kCountBits each.
  static constexpr int kCountBits = 16;

  // Note [Chunks are claimed]: runs chunks of job `sequence` until none is left to claim.
  void run_claimed(uint64_t sequence, int parts) {
    uint64_t next = next_chunk_.load(std::memory_order_acquire);
    for (;;) {
      if (next >> 32 != sequence || static_cast<int>(next & 0xffffffffu) >= parts) return;
      if (!next_chunk_.compare_exchange_weak(next, next + 1, std::memory_order_acq_rel)) continue;
      run_part(static_cast<int>(next & 0xffffffffu), parts);
      if (unfinished_.fetch_sub(1) == 1) job_done_.notify();
      next = next_chunk_.load(std::memory_order_acquire);
    }
  }

  void run_part(int part, int parts) {
    const auto [b, e] = chunk_of(begin_, end_, part, parts);
    if (b >= e) return;
    t_in_parallel = true;
    try {
      (*body_)(b, e);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex_);
      if (!error_) error_ = std::current_exception();
    }
    t_in_parallel = false;
  }

  void worker_loop(int participant, uint64_t seen) {
    for (;;) {
      uint64_t job = seen;
      job_posted_.wait_until([&] {
        job = job_.load();
        return stopping_.load() || job != seen;
      });
      if (stopping_.load()) return;
      seen = job;
      const uint64_t mask = (uint64_t{1} << kCountBits) - 1;
      const int parts = static_cast<int>(job & mask), participants = static_cast<int>((job >> kCountBits) & mask);
      if (participant >= participants) continue;
      run_claimed(job >> (2 * kCountBits), parts);
    }
  }

  void stop() {
    stopping_.store(true);
    job_posted_.notify();
    for (auto& w : workers_) w.join();
    workers_.clear();
  }

  std::mutex job_mutex_, error_mutex_;
  ParkingSpot job_posted_{kSpin}, job_done_{kSpin};  // Note [Pool hand-off]
  std::vector<std::thread> workers_;
  const std::function<void(int64_t, int64_t)>* body_ = nullptr;
  int64_t begin_ = 0, end_ = 0;
  std::atomic<uint64_t> job_{0};
  std::atomic<uint64_t> next_chunk_{0};  // the job's sequence number << 32 | the next chunk to claim
  std::atomic<int> unfinished_{0}, reserved_{0};  // the job's chunks not yet run to their end
  std::atomic<bool> stopping_{false};
  std::exception_ptr error_;
};

int default_threads() {
  if (const char* env = std::getenv("TERRA_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) return n;
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

ThreadPool& pool() {
  // Leaked on purpose: worker threads must not be joined during static destruction.
  static ThreadPool* p = [] {
    auto* made = new ThreadPool(default_threads());
    pthread_atfork([] { pool().before_fork(); }, [] { pool().after_fork_in_parent(); },
                   [] { pool().after_fork_in_child(); });  // Note [Fork]
    return made;
  }();
  return *p;
}

}  // namespace

int num_threads() { return pool().size(); }

void set_num_threads(int n) { pool().resize(std::max(1, n)); }

void set_reserved_cores(int n) { pool().set_reserved(n); }

void keep_reserved_cores_free(bool on) { t_keeps_reserved_cores_free = on; }

int usable_threads() { return pool().usable(); }

ReservedCoresReleased::ReservedCoresReleased() : saved_(pool().reserved()) { pool().set_reserved(0); }

ReservedCoresReleased::~ReservedCoresReleased() { pool().set_reserved(saved_); }

void parallel_for(int64_t begin, int64_t end, int64_t grain, const std::function<void(int64_t, int64_t)>& body) {
  if (end <= begin) return;
  grain = std::max<int64_t>(grain, 1);
  if (end - begin <= grain || pool().size() == 1) {
    body(begin, end);
    return;
  }
  if (t_in_parallel) {  // nested: on this thread, but cut into the chunks the pool would cut
    const int parts = chunks_for(end - begin, grain, pool().size());
    for (int part = 0; part < parts; ++part) {
      const auto [b, e] = chunk_of(begin, end, part, parts);
      if (b < e) body(b, e);
    }
    return;
  }
  pool().run(begin, end, grain, body);
}

}  // namespace terra::cpu
