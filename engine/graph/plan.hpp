// A compiled plan (DESIGN.md §8): the Program after the passes, its execution order (ordinary
// steps and fused elementwise groups), where every buffer lives, and what one run costs. The
// executor (executor.hpp) runs it; compile.hpp builds it.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <optional>

#include "engine/graph/program.hpp"
#include "engine/graph/side_by_side.hpp"
#include "kernels/cpu/fused_elementwise.hpp"

namespace terra::cuda {
class FusedKernel;  // kernels/cuda/fused_elementwise.hpp (built with CUDA only)
}

namespace terra::graph {

class CudaGraphs;  // cuda_graph.hpp (built with CUDA only)

// TERRA_CUDA_GRAPHS: CUDA graph capture of plan runs is on unless it is "0" (read each time).
bool cuda_graphs_from_env();

struct CompileOptions {
  bool dce = true;
  bool cse = true;
  bool constant_folding = true;
  bool fusion = true;  // off: every result is bitwise equal to eager execution
  bool memory_planning = true;  // off: every Internal buffer gets its own arena slot
  bool inplace_reuse = true;
  bool validate_each_pass = false;  // run Program::validate() after every pass (tests, debugging)
  // Also generate and compile with NVRTC the CUDA kernel of every CPU fused group (CI's proof
  // that the corpus's fused kernels compile; TERRA_CHECK_NVRTC=1). Without CUDA built: nothing.
  bool check_nvrtc = false;
  // Runs of a plan whose every kernel runs on one CUDA device are captured as a CUDA graph and
  // replayed (Note [CUDA graph replay] in graph_replay.hpp).
  bool cuda_graphs = cuda_graphs_from_env();
  // Kernels of a CPU plan side by side on the pool (Note [Steps side by side]): 0 never, 1 whenever
  // a run has threads to spare, -1 when the plan is wide enough and takes long enough.
  int side_by_side = side_by_side_from_env();
};

// Elementwise steps run as one fused kernel. Only `outputs` are materialized; the other values the
// members define never leave the kernel's registers.
struct FusedGroup {
  std::vector<int> steps;    // members, in program order
  std::vector<int> inputs;   // values read from outside the group
  std::vector<int> outputs;  // values read after the group or on Kept buffers
  Shape shape;
  DType dtype = DType::Float32;
  std::shared_ptr<cpu::FusedKernel> kernel;  // the program; the CPU runs it
  // A CUDA group's kernel (the program as CUDA C++, compiled with NVRTC when the plan was built);
  // the executor launches it instead of running `kernel`.
  std::shared_ptr<const cuda::FusedKernel> cuda_kernel;
  std::string cuda_hash;  // the NVRTC kernel's hash, for dumps (also for CPU groups under check_nvrtc)
};

// One entry of the execution order: an ordinary step or a fused group.
struct Kernel {
  int step = -1;
  int group = -1;
};

enum class Placement : uint8_t {
  Bound,         // the bound input's storage
  Kept,          // the caller's pending storage
  Arena,         // at `offset` in the plan's arena
  OpAllocated,   // made by an op that creates its own outputs, adopted as it is
  Constant,      // a folded constant
  NotMaterialized,  // only ever inside a fused kernel
};
const char* placement_name(Placement p);

struct BufferPlacement {
  Placement where = Placement::NotMaterialized;
  int arena = -1;         // Arena: which of PlanStats::arenas (the one of the buffer's device)
  size_t offset = 0;      // Arena: within that arena
  int first = -1;         // first and last schedule position that touches the buffer
  int last = -1;
  int reused_from = -1;   // Arena: the dying input buffer whose space it took in place
};

// One arena of a plan: the Internal buffers of one device.
struct ArenaSize {
  Device device;
  size_t bytes = 0;
};

struct PlanStats {
  int steps_before = 0;        // steps of the program handed to compile()
  int steps_after = 0;         // steps left after dce, cse and constant folding
  int kernels_per_run = 0;     // ordinary non-view steps plus fused groups
  int views_per_run = 0;       // view steps (metadata only, no kernel)
  int fused_groups = 0;
  int fused_steps = 0;         // steps inside fused groups
  int nvrtc_kernels = 0;       // fused groups compiled with NVRTC (CUDA groups, all under check_nvrtc)
  size_t bytes_moved = 0;      // per run: bytes read + written by every kernel (fused: external only)
  size_t arena_bytes = 0;         // all arenas together (a CPU plan has one arena at most)
  std::vector<ArenaSize> arenas;  // one per device that has arena buffers, in order of first placement
  size_t kept_bytes = 0;
  size_t constant_bytes = 0;
  // arena + kept + constants + the most bytes of op-allocated buffers alive at once (it leaves out
  // kernels' own scratch and type-promotion copies).
  size_t peak_bytes = 0;
  double compile_seconds = 0;
  // Counted by runs: CUDA graphs captured and replayed (Note [CUDA graph replay]).
  int cuda_graph_captures = 0;
  int cuda_graph_replays = 0;
  int side_by_side_runs = 0;  // runs that put kernels side by side (Note [Steps side by side])
};

struct CompiledPlan {
  Program program;  // after dce, cse and constant folding
  CompileOptions options;
  std::vector<FusedGroup> groups;
  std::vector<Kernel> schedule;
  std::vector<BufferPlacement> placement;  // per buffer of `program`
  PlanStats stats;
  // Why runs of this plan are not captured as CUDA graphs (graph_replay.hpp), for dumps; empty
  // when they are. A failed capture writes its reason here too.
  std::string cuda_graph_blocker;
  // Which kernels may run side by side on the pool (Note [Steps side by side]); `alone` is empty
  // for a plan that runs in order (off the CPU).
  SideBySide side_by_side;
  // Whole runs in order and side by side, and the fastest of each (wall clock, all pieces; the
  // first run in order is not timed): executor.cpp decides between the two from them.
  SideBySideTimes side_by_side_times;

  std::string to_json() const;
  std::string to_dot() const;

  // Run state (executor.cpp, Note [Arena per run]): a tensor for every value that lives in an
  // arena or is a constant (undefined for the others, made per run), over one storage per arena
  // buffer at `prepared_bases` (one per arena); remade when a run's arenas land elsewhere.
  // `arena_storage` holds the arenas during a run (empty storages between runs).
  std::vector<Tensor> prepared;
  std::vector<const void*> prepared_bases;
  bool prepared_once = false;
  std::vector<Storage> arena_storage;
  // Per step: the kernel to call directly with the step's own outputs, once the first run found
  // that the eager dispatcher would do nothing else for it (Note [Direct kernel calls]); empty
  // until the first run, null when the step needs the dispatcher (casts, copies into outputs).
  std::vector<std::optional<KernelFn>> direct;
  // The captured CUDA graphs and their replay policy; made by the first run when
  // cuda_graph_blocker is empty (cuda_graph.cpp).
  std::shared_ptr<CudaGraphs> cuda_graphs;
};

}  // namespace terra::graph
