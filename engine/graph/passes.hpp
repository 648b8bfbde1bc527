// The compiler's passes (DESIGN.md §8), one per file. The first three rewrite the Program; fusion
// and memory planning produce the plan's schedule and buffer placement (plan.hpp). Every pass
// respects read/write order on buffers, not just on values (program.hpp).
#pragma once
#include <vector>

#include "engine/graph/plan.hpp"

namespace terra::graph {

// Removes steps whose outputs are all Internal and never read, and whose op is Pure or View.
// Random and side-effecting ops, and in-place or out= writes, always stay. Returns steps removed.
int eliminate_dead_code(Program& p);

// Merges a Pure functional step into an earlier one with the same op, attributes and input
// values, when no step between them overwrites an input's buffer and neither result's buffer is
// overwritten afterwards. Returns steps removed.
int eliminate_common_subexpressions(Program& p);

// Evaluates Pure functional steps whose inputs are all constants (or that have no tensor inputs:
// zeros, full, arange) now, through the dispatcher; their results become Program::constants.
// Never folds a result on a Kept buffer or one whose buffer is overwritten later. Returns steps
// folded.
int fold_constants(Program& p);

// Groups Pure functional elementwise steps of one float dtype and one output shape into fused
// kernels (kernels/cpu/fused_elementwise.hpp), never moving a read past a write to its buffer.
// Groups of one step are not returned (they run as ordinary kernels).
std::vector<FusedGroup> fuse_elementwise(const Program& p);

// The CUDA side of fusion (cuda_fusion.cpp): each CUDA group's kernel is generated and compiled with
// NVRTC now, at plan build, and with `check_all` every CPU group's as well (a compile error raises
// terra::Error naming the group, with NVRTC's log). Returns the number of groups compiled.
int compile_cuda_kernels(const Program& p, std::vector<FusedGroup>& groups, bool check_all);

// The execution order: each step not fused, and each fused group at the place of its last member.
std::vector<Kernel> make_schedule(const Program& p, const std::vector<FusedGroup>& groups);

// Decides where every buffer lives and places the materialized Internal ones in 64-byte-aligned
// arenas, one per device (BufferPlacement::arena): liveness over the schedule, best-fit reuse of
// dead buffers' space of the same device (options.memory_planning; off: one slot each), and with
// options.inplace_reuse an elementwise kernel's output may take the space of an input dying there
// when device, size, dtype and layout agree. Returns the arenas' devices and sizes, in order of
// first placement (none when no buffer lives in an arena). With `order` (side_by_side.hpp), space
// is shared only between buffers that order already separates, so kernels stay free to run side by
// side.
std::vector<ArenaSize> plan_memory(const Program& p, const std::vector<FusedGroup>& groups,
                                   const std::vector<Kernel>& schedule, const CompileOptions& options,
                                   std::vector<BufferPlacement>& placement, const Ancestry* order = nullptr);

}  // namespace terra::graph
