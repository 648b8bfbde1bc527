// One thread pool for all CPU kernels, sized to the cores (TERRA_NUM_THREADS overrides). The
// caller takes part in the work; a parallel_for issued from inside another runs serially, so
// kernels may call each other freely.
#pragma once
#include <cstdint>
#include <functional>

namespace terra::cpu {

int num_threads();
void set_num_threads(int n);

// Calls body(begin, end) on chunks of [begin, end) of at least `grain` items.
void parallel_for(int64_t begin, int64_t end, int64_t grain,
                  const std::function<void(int64_t, int64_t)>& body);

// Work below this many elements is not worth a thread hand-off for cheap elementwise math.
constexpr int64_t kElementwiseGrain = 32768;

}  // namespace terra::cpu
