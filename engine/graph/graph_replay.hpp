// Which plan runs may be CUDA graphs, and when a run captures, replays or runs plainly: the CUDA-free
// half of CUDA graph replay, tested on the CPU (tests/engine/test_graph_replay.cpp); cuda_graph.cpp
// does the capturing.
//
// Note [CUDA graph replay]: a plan whose every kernel runs on one CUDA device and never needs
// the host in between (no host reads, host fallbacks, host copies, random draws, per-run
// attributes, data-dependent shapes; cuda_graph_blocker, and what only capturing finds out) can
// be queued as one CUDA graph instead of one launch per kernel, as PyTorch's CUDA graphs do. A
// captured graph holds every address its kernels touch and every value its launches read on the
// host. Addresses that change from run to run are taken out of it, as PyTorch's static inputs
// and outputs do: the graph writes its kept values into storages of its own, copied into the
// caller's after each launch (a fresh pending storage every run, in co-execution), and reads a
// bound input whose address moved (the next batch, a value carried from the last iteration)
// from a storage of its own, copied in before each launch, when the plan never writes its
// buffer (stageable_inputs, stage_moved_inputs). What stays in the graph, the arenas' bases,
// the other bound inputs' addresses, every bound input's layout and the Python numbers kernels
// read at launch, is the ReplayKey: a run replays a graph only when it is the one the graph was
// captured with; otherwise it captures again. The first run is plain: it warms up everything a
// capture cannot hold (NVRTC modules loaded, lazy CUDA module loading, library handles and
// their workspaces, the caching allocator's blocks, the executor's direct kernels). A plan keeps
// kSlots graphs (for addresses that alternate), and after kMaxCaptures captures, or any capture
// that fails, it gives up and runs plainly from then on: its addresses keep changing, or a
// kernel cannot be captured.
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

// Per bound input: whether a graph may read it from a copy (staged): no step of the plan writes
// its buffer.
std::vector<bool> stageable_inputs(const Program& p);

// Marks for staging the stageable bound inputs whose data address differs from the last run's
// (`last`, updated to this run's); true when that added any (graphs captured before are stale).
bool stage_moved_inputs(const std::vector<Tensor>& bound, const std::vector<bool>& stageable,
                        std::vector<const void*>& last, std::vector<bool>& staged);

// What a captured run depends on: each arena's base, each bound input's layout and, unless it is
// staged, data address (a 0-d CPU input, a Python number kernels read at launch: its value).
using ReplayKey = std::vector<intptr_t>;
ReplayKey replay_key(const std::vector<Storage>& arenas, const std::vector<Tensor>& bound,
                     const std::vector<bool>& staged);

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
  void forget_graphs() { keys_ = {}; }        // they are stale (more inputs staged)
  bool gave_up() const { return gave_up_; }

 private:
  bool warmed_up_ = false, gave_up_ = false;
  int captures_ = 0;
  uint64_t clock_ = 0;
  std::array<ReplayKey, kSlots> keys_{};  // empty: no graph in the slot
  std::array<uint64_t, kSlots> used_{};  // when the slot was last captured or replayed
};

}  // namespace terra::graph
