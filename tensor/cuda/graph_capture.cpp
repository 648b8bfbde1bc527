// CUDA graph capture (graph_capture.hpp).
#include "tensor/cuda/graph_capture.hpp"

#include <algorithm>

#include "tensor/allocator.hpp"
#include "tensor/cuda/check.hpp"
#include "tensor/cuda/stream.hpp"
#include "tensor/error.hpp"

namespace terra::cuda {

namespace {

// The blocks of the calling thread's capture (Note [Memory of a captured graph]): in use, and
// freed during the capture (kept for the graph).
struct CaptureBlocks {
  std::vector<void*> live, kept;
};
thread_local CaptureBlocks* tls_capture = nullptr;

void give_back(const std::vector<void*>& blocks) {
  Allocator& cuda = allocator_for(DeviceType::CUDA);
  for (void* p : blocks) cuda.deallocate(p, 0);
}

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

void on_own_stream(const std::function<void()>& work) {
  const cudaStream_t stream = own().stream;
  order_after(stream, cudaStreamLegacy);
  struct Join {
    cudaStream_t stream;
    ~Join() {
      try {
        order_after(cudaStreamLegacy, stream);
      } catch (...) {
        // A destructor must not throw; a broken device surfaces again at the next CUDA call.
      }
    }
  } join{stream};
  const StreamGuard current(stream);
  work();
}

CapturedGraph::~CapturedGraph() {
  // A launch still running keeps the graph until it ends; the blocks return to the pool of the
  // capturing thread's own stream, and every later use of them is ordered after this graph's
  // launches (each run joins the default stream at both ends, on_own_stream).
  (void)cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(exec_));
  give_back(blocks_);
}

void CapturedGraph::launch() const {
  TERRA_CUDA_CHECK(cudaGraphLaunch(static_cast<cudaGraphExec_t>(exec_), current_stream()));
}

void begin_capture() {
  TERRA_ASSERT(current_stream() != cudaStreamLegacy && !tls_capture);
  TERRA_CUDA_CHECK(cudaStreamBeginCapture(current_stream(), cudaStreamCaptureModeThreadLocal));
  tls_capture = new CaptureBlocks;
}

std::unique_ptr<CapturedGraph> end_capture(std::string& why) {
  TERRA_ASSERT(tls_capture);
  const std::unique_ptr<CaptureBlocks> blocks(tls_capture);
  tls_capture = nullptr;
  cudaGraph_t graph = nullptr;
  const cudaError_t ended = cudaStreamEndCapture(current_stream(), &graph);
  cudaGraphExec_t exec = nullptr;
  cudaError_t made = ended;
  if (ended == cudaSuccess && blocks->live.empty()) made = cudaGraphInstantiate(&exec, graph, 0);
  if (graph) (void)cudaGraphDestroy(graph);
  if (made != cudaSuccess || !exec) {
    (void)cudaGetLastError();  // capture errors are not sticky: clear it for the next check
    why = made != cudaSuccess ? std::string("CUDA: ") + cudaGetErrorString(made)
                              : "device memory allocated during the capture outlived it";
    give_back(blocks->kept);  // nothing ran: the escaped live blocks go back when their owners free them
    return nullptr;
  }
  return std::make_unique<CapturedGraph>(exec, std::move(blocks->kept));
}

bool capturing() { return tls_capture != nullptr; }

void captured_allocation(void* ptr) { tls_capture->live.push_back(ptr); }

bool keep_captured_block(void* ptr) {
  std::vector<void*>& live = tls_capture->live;
  const auto it = std::find(live.begin(), live.end(), ptr);
  if (it == live.end()) return false;
  live.erase(it);
  tls_capture->kept.push_back(ptr);
  return true;
}

}  // namespace terra::cuda
