// CUDA graph capture and replay of plan runs (cuda_graph.hpp).
#include "engine/graph/cuda_graph.hpp"

#if TERRA_WITH_CUDA
#include "engine/graph/tensor_on.hpp"
#include "tensor/cuda/cuda_device.hpp"
#include "tensor/cuda/graph_capture.hpp"

namespace terra::graph {

namespace {

// A captured graph and the storages it reads and writes instead of the caller's: a copy of each
// staged bound input (undefined for the others) and one storage per kept slot.
struct Slot {
  std::vector<Tensor> inputs;
  std::vector<Storage> kept;
  std::unique_ptr<cuda::CapturedGraph> graph;  // declared last: destroyed first
};

}  // namespace

class CudaGraphs {
 public:
  explicit CudaGraphs(const Program& p) : stageable(stageable_inputs(p)), kept_bytes(p.num_kept) {
    for (const Buffer& b : p.buffers)
      if (b.kind == BufferKind::Kept) kept_bytes[b.index] = b.nbytes;
  }
  ReplayPolicy policy;
  std::vector<bool> stageable, staged;
  std::vector<const void*> last;  // the bound inputs' addresses in the last run
  std::vector<size_t> kept_bytes;  // per kept slot: what the plan writes
  std::array<Slot, ReplayPolicy::kSlots> slots;
};

std::shared_ptr<CudaGraphs> make_cuda_graphs(const CompiledPlan& plan) {
  return std::make_shared<CudaGraphs>(plan.program);
}

namespace {

// The bytes a tensor's elements span from its first one (strides are not negative).
size_t span_bytes(const Tensor& t) {
  if (t.numel() == 0) return 0;
  int64_t last = 0;
  for (int64_t d = 0; d < t.dim(); ++d) last += (t.shape()[d] - 1) * t.strides()[d];
  return static_cast<size_t>(last + 1) * t.itemsize();
}

// On the current stream; a copy between device addresses never waits.
void copy_device_bytes(void* dst, const void* src, size_t nbytes, Device device) {
  cuda::copy_bytes(dst, device, src, device, nbytes, false);
}

// A slot's storages for a run on `bound` and `kept` (the graph is captured next).
Slot make_slot(const CudaGraphs& g, const std::vector<Tensor>& bound, const std::vector<Storage>& kept) {
  Slot slot;
  slot.inputs.resize(bound.size());
  for (size_t v = 0; v < bound.size(); ++v) {
    if (!g.staged[v]) continue;
    const Tensor& t = bound[v];
    const size_t nbytes = static_cast<size_t>(t.offset()) * t.itemsize() + span_bytes(t);
    slot.inputs[v] = tensor_on(std::make_shared<StorageImpl>(nbytes, t.device()), trace::meta_of(t));
  }
  for (size_t k = 0; k < kept.size(); ++k) slot.kept.push_back(std::make_shared<StorageImpl>(g.kept_bytes[k], kept[k]->device()));
  return slot;
}

// Captures `run_kernels` on the slot's storages; null (and the capture ended) when it failed,
// with the reason in `why`.
std::unique_ptr<cuda::CapturedGraph> capture(const Slot& slot, const std::vector<Tensor>& bound,
                                             const RunKernels& run_kernels, std::string& why) {
  std::vector<Tensor> inputs = bound;
  for (size_t v = 0; v < inputs.size(); ++v)
    if (slot.inputs[v].defined()) inputs[v] = slot.inputs[v];
  cuda::begin_capture();
  std::string ignored;
  try {
    run_kernels(inputs, slot.kept);
  } catch (const Error& e) {
    (void)cuda::end_capture(ignored);  // a partial graph: dropped
    why = e.what();
    return nullptr;
  } catch (...) {
    (void)cuda::end_capture(ignored);
    throw;
  }
  return cuda::end_capture(why);
}

// The staged inputs copied in, the graph, the kept values copied out.
void launch(const CudaGraphs& g, const Slot& slot, const std::vector<Tensor>& bound, const std::vector<Storage>& kept) {
  for (size_t v = 0; v < bound.size(); ++v)
    if (slot.inputs[v].defined())
      copy_device_bytes(slot.inputs[v].raw_data(), bound[v].raw_data(), span_bytes(bound[v]), bound[v].device());
  slot.graph->launch();
  for (size_t k = 0; k < kept.size(); ++k)
    copy_device_bytes(kept[k]->data_unsynced(), slot.kept[k]->data_unsynced(), g.kept_bytes[k], kept[k]->device());
}

}  // namespace

void run_with_cuda_graphs(CompiledPlan& plan, const std::vector<Tensor>& bound, const std::vector<Storage>& kept,
                          const RunKernels& run_kernels) {
  cuda::on_own_stream([&] {
    CudaGraphs& g = *plan.cuda_graphs;
    if (stage_moved_inputs(bound, g.stageable, g.last, g.staged)) {  // the graphs read the old addresses
      g.policy.forget_graphs();
      g.slots = {};
    }
    const ReplayPolicy::Decision d = g.policy.next(replay_key(plan.arena_storage, bound, g.staged));
    switch (d.action) {
      case ReplayPolicy::Action::Plain:
        return run_kernels(bound, kept);
      case ReplayPolicy::Action::GiveUp:
        g.slots = {};
        plan.cuda_graph_blocker =
            "its addresses kept changing (" + std::to_string(ReplayPolicy::kMaxCaptures) + " captures)";
        return run_kernels(bound, kept);
      case ReplayPolicy::Action::Replay:
        launch(g, g.slots[d.slot], bound, kept);
        ++plan.stats.cuda_graph_replays;
        return;
      case ReplayPolicy::Action::Capture: {
        Slot& slot = g.slots[d.slot];
        slot = make_slot(g, bound, kept);
        std::string why;
        slot.graph = capture(slot, bound, run_kernels, why);
        if (!slot.graph) {
          g.policy.capture_failed();
          g.slots = {};
          plan.cuda_graph_blocker = "capture failed: " + why;
          return run_kernels(bound, kept);
        }
        ++plan.stats.cuda_graph_captures;
        launch(g, slot, bound, kept);  // capturing ran nothing
        return;
      }
    }
  });
}

}  // namespace terra::graph
#endif
