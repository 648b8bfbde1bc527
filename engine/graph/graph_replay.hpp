// Which plan runs may be CUDA graphs, and when a run captures, replays or runs plainly: the CUDA-free
// half of CUDA graph replay, tested on the CPU (tests/engine/test_graph_replay.cpp); cuda_graph.cpp
// does the capturing.
//
// Note [CUDA graph replay]: a plan whose every kernel runs on one CUDA device and never needs
// the host in between (no host reads, host fallbacks, host copies, random draws, per-run
// attributes, data-dependent shapes; cuda_graph_blocker, and what only capturing finds out) can
// be queued as one CUDA graph instead of one launch per kernel, as PyTorch's CUDA graphs do. A
// captured graph holds every address its kernels touch (the arenas, the bound inputs, the kept
// storages), the layout of the bound inputs and the Python numbers they read on the host at
// launch, so a run replays a graph only when all of those are the ones it was captured with (the
// ReplayKey); otherwise it captures again. The first run is plain: it warms up everything a
// capture cannot hold (NVRTC modules loaded, lazy CUDA module loading, library handles and
// their workspaces, the caching allocator's blocks, the executor's direct kernels). A plan keeps
// kSlots graphs (addresses that alternate from run to run, as kept outputs of consecutive
// iterations do), and after kMaxCaptures captures, or any capture that fails, it gives up
// and runs plainly from then on: its addresses keep changing, or a kernel cannot be captured.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/graph/plan.hpp"

namespace terra::graph {

// Why runs of `plan` cannot be captured as CUDA graphs ("" when they can): the first value not on
// the plan's CUDA device, or the first step that needs the host between kernels (a host read or
// fallback inside a kernel is found only by capturing: the capture fails).
std::string cuda_graph_blocker(const CompiledPlan& plan);

// The addresses and layouts a captured run depends on: each arena's base, each bound input's
// data address and strides (a 0-d CPU input, a Python number kernels read at launch: its value),
// each kept storage's address (all allocated).
using ReplayKey = std::vector<intptr_t>;
ReplayKey replay_key(const std::vector<Storage>& arenas, const std::vector<Tensor>& bound,
                     const std::vector<Storage>& kept);

class ReplayPolicy {
 public:
  static constexpr int kSlots = 2;
  static constexpr int kMaxCaptures = 4;

  enum class Action {
    Plain,    // run the kernels one by one
    Capture,  // capture the run into `slot` (replacing what was there), then launch it
    Replay,   // launch the graph in `slot`
    GiveUp,   // drop every graph, then run plainly (this run and all later ones)
  };
  struct Decision {
    Action action = Action::Plain;
    int slot = -1;
  };

  Decision next(const ReplayKey& key);
  void capture_failed() { gave_up_ = true; }  // the capture was dropped: the run goes plain
  bool gave_up() const { return gave_up_; }

 private:
  bool warmed_up_ = false, gave_up_ = false;
  int captures_ = 0;
  uint64_t clock_ = 0;
  std::array<ReplayKey, kSlots> keys_{};  // empty: no graph in the slot
  std::array<uint64_t, kSlots> used_{};  // when the slot was last captured or replayed
};

}  // namespace terra::graph
