// The CPU kernels' thread pool (kernels/cpu/parallel.hpp): every index of every job visited once,
// whether the workers are spinning (jobs back to back) or asleep (a pause longer than their spin);
// errors reach the caller; nested calls run serially; and reserved cores (Note [A core for the
// interpreter]) change which threads run a job's chunks, never the chunks.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "helpers.hpp"
#include "kernels/cpu/parallel.hpp"

using namespace terra;

namespace {

// Runs one job, checks every index in [0, n) was visited exactly once, returns the chunks.
std::vector<std::pair<int64_t, int64_t>> run_job(int64_t n, int64_t grain) {
  std::vector<std::atomic<int>> visits(static_cast<size_t>(n));
  std::mutex mutex;
  std::vector<std::pair<int64_t, int64_t>> chunks;
  cpu::parallel_for(0, n, grain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) visits[i].fetch_add(1);
    std::lock_guard<std::mutex> lock(mutex);
    chunks.emplace_back(b, e);
  });
  int64_t wrong = 0;
  for (int64_t i = 0; i < n; ++i) wrong += visits[i].load() != 1;
  REQUIRE(wrong == 0);
  std::sort(chunks.begin(), chunks.end());
  return chunks;
}

// Restores the pool's size and reservation after a test changes them.
struct PoolState {
  int threads = cpu::num_threads();
  ~PoolState() {
    cpu::set_reserved_cores(0);
    cpu::keep_reserved_cores_free(false);
    cpu::set_num_threads(threads);
  }
};

}  // namespace

TEST_CASE("parallel_for visits every index once, workers spinning or asleep", "[parallel]") {
  PoolState restore;
  for (int threads : {1, 2, 3, 4}) {
    cpu::set_num_threads(threads);
    INFO("threads " << threads);
    for (int job = 0; job < 300; ++job) run_job(1 + job * 37 % 1000, 1 + job % 50);  // back to back
    for (int job = 0; job < 3; ++job) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // past the workers' spin: they sleep
      CHECK(run_job(4096, 16).size() == static_cast<size_t>(threads));
    }
  }
}

// Note [Chunks are claimed]: with every core busy elsewhere, workers wake late (or not before
// the caller is done): the caller runs the chunks nobody claimed, and a late worker never runs a
// chunk of a later job as one of the job it woke for (each index would then be visited twice, or
// with the wrong bounds).
TEST_CASE("chunks are claimed: late workers, busy cores, jobs back to back", "[parallel]") {
  PoolState restore;
  std::atomic<bool> stop{false};
  std::vector<std::thread> hogs;
  for (unsigned i = 0; i < std::max(2u, std::thread::hardware_concurrency()); ++i)
    hogs.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
      }
    });
  for (int threads : {2, 4, 8}) {
    cpu::set_num_threads(threads);
    INFO("threads " << threads);
    for (int job = 0; job < 2000; ++job) {
      const auto chunks = run_job(1 + job * 53 % 700, 1 + job % 7);
      int64_t covered = 0;
      for (const auto& [b, e] : chunks) covered += e - b;
      REQUIRE(covered == 1 + job * 53 % 700);  // the cut is the pool's, whoever ran each chunk
    }
  }
  stop.store(true);
  for (std::thread& t : hogs) t.join();
}

TEST_CASE("parallel_for raises a chunk's error in the caller and stays usable", "[parallel]") {
  PoolState restore;
  cpu::set_num_threads(3);
  for (int round = 0; round < 20; ++round) {
    CHECK_THROWS_AS(cpu::parallel_for(0, 300, 1,
                                      [&](int64_t b, int64_t) {
                                        if (b > 0) throw std::runtime_error("chunk failed");
                                      }),
                    std::runtime_error);
    run_job(300, 1);
  }
}

TEST_CASE("a parallel_for inside another runs serially on its caller's thread", "[parallel]") {
  PoolState restore;
  cpu::set_num_threads(2);
  std::atomic<int> mismatched{0};
  cpu::parallel_for(0, 2, 1, [&](int64_t, int64_t) {
    const auto outer = std::this_thread::get_id();
    cpu::parallel_for(0, 1000, 1, [&](int64_t, int64_t) {
      if (std::this_thread::get_id() != outer) mismatched.fetch_add(1);
    });
  });
  CHECK(mismatched.load() == 0);
}

TEST_CASE("reserved cores change the threads that run a job, not its chunks", "[parallel]") {
  PoolState restore;
  cpu::set_num_threads(3);
  const auto unreserved = run_job(3000, 10);
  REQUIRE(unreserved.size() == 3);
  std::thread marked([&] {
    cpu::keep_reserved_cores_free(true);
    for (int reserved : {1, 2, 5}) {
      cpu::set_reserved_cores(reserved);
      INFO("reserved " << reserved);
      CHECK(cpu::usable_threads() == std::max(1, 3 - reserved));
      for (int job = 0; job < 50; ++job) {
        std::mutex mutex;
        std::set<std::thread::id> threads;
        cpu::parallel_for(0, 3000, 10, [&](int64_t, int64_t) {
          std::lock_guard<std::mutex> lock(mutex);
          threads.insert(std::this_thread::get_id());
        });
        CHECK(threads.size() <= static_cast<size_t>(std::max(1, 3 - reserved)));
        CHECK(run_job(3000, 10) == unreserved);
      }
      {
        const cpu::ReservedCoresReleased released;
        CHECK(cpu::usable_threads() == 3);
      }
      CHECK(cpu::usable_threads() == std::max(1, 3 - reserved));
    }
  });
  marked.join();
  CHECK(cpu::usable_threads() == 3);  // an unmarked thread: every core, whatever is reserved
}
