// CUDA graph capture for the graph executor (engine/graph/cuda_graph.cpp), behind an interface
// with no CUDA headers. Built with CUDA only.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace terra::cuda {

// Runs `work` with a stream of the calling thread's own as its current stream (stream.hpp's
// StreamGuard; the stream is made on the thread's first use, non-blocking, never destroyed),
// ordered after the work queued so far on the legacy default stream; when `work` returns or
// throws, the legacy default stream is ordered after what it queued. So its work is ordered as if
// it were on the default stream, seen from before and after, and can be captured while other
// threads use the default stream.
void on_own_stream(const std::function<void()>& work);

// An instantiated CUDA graph, with the device memory its kernels were captured with.
class CapturedGraph {
 public:
  CapturedGraph(void* exec, std::vector<void*> blocks) : exec_(exec), blocks_(std::move(blocks)) {}
  ~CapturedGraph();  // gives its blocks back to the caching allocator
  CapturedGraph(const CapturedGraph&) = delete;
  CapturedGraph& operator=(const CapturedGraph&) = delete;
  void launch() const;  // on the current stream

 private:
  void* exec_;  // cudaGraphExec_t
  std::vector<void*> blocks_;
};

// Captures the work the calling thread queues on its current stream (which must not be the legacy
// default stream) until end_capture, in thread-local mode: the work is recorded, not run.
// Note [Memory of a captured graph]: a graph replays the addresses it was captured with, so the
// blocks the thread allocates meanwhile (kernels' scratch, library workspaces, op-made
// intermediates) belong to the capture: freed during the capture, they stay out of the pool and
// the graph holds them until it dies. A block still in use at end_capture escaped the run (its
// owner would see every replay write it): the graph is dropped. cudaMalloc runs in relaxed
// capture mode, as in PyTorch: it is not recorded, and the memory is the graph's from then on.
// Copies to or from host memory (copy_bytes) refuse to run while capturing: a replay would touch
// host memory long gone.
void begin_capture();
// Ends the capture and instantiates the graph; null, with the reason in `why`, when the capture
// was invalidated (a call that cannot be captured, such as a synchronization, was made
// meanwhile) or memory escaped it. Never throws for those.
std::unique_ptr<CapturedGraph> end_capture(std::string& why);
bool capturing();  // the calling thread is between begin_capture and end_capture

// For the caching allocator (cuda_allocator.cpp), while capturing(): a block the thread got, and
// whether a block being freed is the capture's (then it is kept, not given back).
void captured_allocation(void* ptr);
bool keep_captured_block(void* ptr);

}  // namespace terra::cuda
