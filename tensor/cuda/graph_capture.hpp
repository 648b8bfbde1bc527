// CUDA graph capture for the graph executor (engine/graph/cuda_graph.cpp), behind an interface
// with no CUDA headers. Built with CUDA only.
#pragma once
#include <memory>

namespace terra::cuda {

// While alive, the calling thread's current stream (stream.hpp) is a stream of its own (made on
// the thread's first use, non-blocking, never destroyed), ordered after the work queued so far on
// the legacy default stream; when it ends, the legacy default stream is ordered after the work
// queued on it. So work on it is ordered as if it were on the default stream, as seen from
// before and after the scope, and it can be captured while other threads use the default stream.
class OwnStream {
 public:
  OwnStream();
  ~OwnStream();
  OwnStream(const OwnStream&) = delete;
  OwnStream& operator=(const OwnStream&) = delete;

 private:
  void* previous_;  // the cudaStream_t current before
};

// An instantiated CUDA graph.
class CapturedGraph {
 public:
  explicit CapturedGraph(void* exec) : exec_(exec) {}
  ~CapturedGraph();
  CapturedGraph(const CapturedGraph&) = delete;
  CapturedGraph& operator=(const CapturedGraph&) = delete;
  void launch() const;  // on the current stream

 private:
  void* exec_;  // cudaGraphExec_t
};

// Captures the work the calling thread queues on its current stream (which must not be the legacy
// default stream) until end_capture, in thread-local mode: the work is recorded, not run. Meanwhile
// the caching allocator refuses this thread's allocations (capturing()): an address taken during
// capture would be written by every replay after the allocator handed it to someone else.
void begin_capture();
// Ends the capture and instantiates the graph; null when the capture was invalidated (a call that
// cannot be captured, such as a synchronization, was made meanwhile). Never throws for that.
std::unique_ptr<CapturedGraph> end_capture();
bool capturing();  // the calling thread is between begin_capture and end_capture

}  // namespace terra::cuda
