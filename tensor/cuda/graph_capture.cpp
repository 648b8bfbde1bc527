// CUDA graph capture (graph_capture.hpp).
#include "tensor/cuda/graph_capture.hpp"

#include "tensor/cuda/check.hpp"
#include "tensor/cuda/stream.hpp"
#include "tensor/error.hpp"

namespace terra::cuda {

namespace {

thread_local bool tls_capturing = false;

// The calling thread's own stream and the event that joins it to the default stream; they live
// as long as the process (destroying them at exit could run after CUDA has shut down).
struct Own {
  cudaStream_t stream = nullptr;
  cudaEvent_t event = nullptr;
};
Own& own() {
  thread_local Own o;
  if (!o.stream) {
    TERRA_CUDA_CHECK(cudaStreamCreateWithFlags(&o.stream, cudaStreamNonBlocking));
    TERRA_CUDA_CHECK(cudaEventCreateWithFlags(&o.event, cudaEventDisableTiming));
  }
  return o;
}

// `waiter` waits for the work queued so far on `queue` (through the thread's event: a wait takes
// the event's state when it is queued, so the event can be recorded again at once).
void order_after(cudaStream_t waiter, cudaStream_t queue) {
  const Own& o = own();
  TERRA_CUDA_CHECK(cudaEventRecord(o.event, queue));
  TERRA_CUDA_CHECK(cudaStreamWaitEvent(waiter, o.event, 0));
}

}  // namespace

OwnStream::OwnStream() : previous_(current_stream()) {
  order_after(own().stream, cudaStreamLegacy);
  detail::current = own().stream;
}

OwnStream::~OwnStream() {
  detail::current = static_cast<cudaStream_t>(previous_);
  try {
    order_after(cudaStreamLegacy, own().stream);
  } catch (...) {
    // A destructor must not throw; a broken device surfaces again at the next CUDA call.
  }
}

CapturedGraph::~CapturedGraph() { (void)cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(exec_)); }

void CapturedGraph::launch() const {
  TERRA_CUDA_CHECK(cudaGraphLaunch(static_cast<cudaGraphExec_t>(exec_), current_stream()));
}

void begin_capture() {
  TERRA_ASSERT(current_stream() != cudaStreamLegacy && !tls_capturing);
  TERRA_CUDA_CHECK(cudaStreamBeginCapture(current_stream(), cudaStreamCaptureModeThreadLocal));
  tls_capturing = true;
}

std::unique_ptr<CapturedGraph> end_capture() {
  TERRA_ASSERT(tls_capturing);
  tls_capturing = false;
  cudaGraph_t graph = nullptr;
  const cudaError_t ended = cudaStreamEndCapture(current_stream(), &graph);
  cudaGraphExec_t exec = nullptr;
  const cudaError_t made = ended == cudaSuccess ? cudaGraphInstantiate(&exec, graph, 0) : ended;
  if (graph) (void)cudaGraphDestroy(graph);
  if (made != cudaSuccess) {
    (void)cudaGetLastError();  // capture errors are not sticky: clear it for the next check
    return nullptr;
  }
  return std::make_unique<CapturedGraph>(exec);
}

bool capturing() { return tls_capturing; }

}  // namespace terra::cuda
