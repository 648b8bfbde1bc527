// The stream CUDA work is queued on: the calling thread's current stream, the legacy default
// stream unless a StreamGuard says otherwise. Launchers, copies, library handles and the caching
// allocator take the stream from here. Work on the legacy default stream is ordered without
// events (the caching allocator relies on it: per-stream pools in block_pool.hpp); code that
// switches a thread to a stream of its own orders it against the default stream itself (the graph
// executor's on_own_stream, graph_capture.hpp).
#pragma once
#include <cuda_runtime_api.h>

namespace terra::cuda {

namespace detail {
inline thread_local cudaStream_t current = cudaStreamLegacy;
}

inline cudaStream_t current_stream() { return detail::current; }

// Makes `stream` the calling thread's current stream while it lives.
class StreamGuard {
 public:
  explicit StreamGuard(cudaStream_t stream) : previous_(detail::current) { detail::current = stream; }
  ~StreamGuard() { detail::current = previous_; }
  StreamGuard(const StreamGuard&) = delete;
  StreamGuard& operator=(const StreamGuard&) = delete;

 private:
  cudaStream_t previous_;
};

}  // namespace terra::cuda
