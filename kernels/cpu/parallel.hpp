// One thread pool for all CPU kernels, sized to the cores (TERRA_NUM_THREADS overrides). The
// caller takes part in the work; a parallel_for issued from inside another runs serially, on the
// chunks the pool would have cut, so kernels may call each other freely and a kernel run inside a
// parallel body (the plan executor's side-by-side kernels) gives the bits it gives outside one.
#pragma once
#include <algorithm>
#include <cstdint>
#include <functional>

namespace terra::cpu {

int num_threads();
void set_num_threads(int n);

// Cores kept free for another thread's work (Note [A core for the interpreter] in
// actors/graph_actor.cpp): a thread marked with keep_reserved_cores_free(true) (the graph actor's)
// runs each parallel_for's chunks on at most num_threads() - reserved cores (at least itself);
// the interpreter reserves one while it runs Python beside the graph and none while it waits for
// it. The chunks a job is cut into stay as they were, so results never change, only how many
// threads run them.
void set_reserved_cores(int n);
void keep_reserved_cores_free(bool on);  // for the calling thread
// The threads a parallel_for of the calling thread may occupy, at least 1.
int usable_threads();

// While alive, no core is reserved: the interpreter waits for the graph, its core is free.
class ReservedCoresReleased {
 public:
  ReservedCoresReleased();
  ~ReservedCoresReleased();
  ReservedCoresReleased(const ReservedCoresReleased&) = delete;
  ReservedCoresReleased& operator=(const ReservedCoresReleased&) = delete;

 private:
  int saved_;
};

// Calls body(begin, end) on chunks of [begin, end) of at least `grain` items.
void parallel_for(int64_t begin, int64_t end, int64_t grain,
                  const std::function<void(int64_t, int64_t)>& body);

// Work below this many elements is not worth a thread hand-off for cheap elementwise math.
constexpr int64_t kElementwiseGrain = 32768;

// The grain of a parallel_for whose items cost `cost` elements of cheap elementwise math each
// (a row of that many elements, a plane, a sample's classes): kElementwiseGrain's worth, at least 1.
inline int64_t grain_for(int64_t cost) { return std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(cost, 1)); }

}  // namespace terra::cpu
