// The compiler's driver (compile.hpp): the passes in order, then the plan's statistics.
#include "engine/graph/compile.hpp"

#include <algorithm>
#include <chrono>

#include "engine/graph/analysis.hpp"
#include "engine/graph/graph_replay.hpp"
#include "engine/graph/passes.hpp"

namespace terra::graph {

namespace {

size_t kernel_bytes(const Program& p, const std::vector<int>& reads, const std::vector<int>& writes) {
  size_t n = 0;
  for (const std::vector<int>* list : {&reads, &writes})
    for (int v : *list)
      if (v >= 0) n += value_nbytes(p.values[v]);
  return n;
}

void count_stats(CompiledPlan& plan) {
  const Program& p = plan.program;
  PlanStats& st = plan.stats;
  st.steps_after = static_cast<int>(p.steps.size());
  st.fused_groups = static_cast<int>(plan.groups.size());
  for (const FusedGroup& g : plan.groups) st.fused_steps += static_cast<int>(g.steps.size());
  std::vector<size_t> op_allocated_live(plan.schedule.size() + 1, 0);
  for (const Kernel& k : plan.schedule) {
    if (k.group >= 0) {
      ++st.kernels_per_run;
      st.bytes_moved += kernel_bytes(p, plan.groups[k.group].inputs, plan.groups[k.group].outputs);
    } else if (p.steps[k.step].op->effect == Effect::View) {
      ++st.views_per_run;
    } else {
      ++st.kernels_per_run;
      const Step& s = p.steps[k.step];
      // An out= step reads its regular inputs and writes its out= values.
      const std::vector<int> reads(s.inputs.begin(), s.inputs.begin() + static_cast<long>(first_out_input(s)));
      st.bytes_moved += kernel_bytes(p, reads, s.outputs);
    }
  }
  for (size_t b = 0; b < p.buffers.size(); ++b) {
    const BufferPlacement& bp = plan.placement[b];
    if (bp.where == Placement::Kept) st.kept_bytes += p.buffers[b].nbytes;
    if (bp.where == Placement::Constant) st.constant_bytes += p.buffers[b].nbytes;
    if (bp.where == Placement::OpAllocated)
      for (int k = bp.first; k <= bp.last; ++k) op_allocated_live[k] += p.buffers[b].nbytes;
  }
  size_t most = 0;
  for (size_t live : op_allocated_live) most = std::max(most, live);
  st.peak_bytes = st.arena_bytes + st.kept_bytes + st.constant_bytes + most;
}

size_t total_bytes(const std::vector<ArenaSize>& arenas) {
  size_t n = 0;
  for (const ArenaSize& a : arenas) n += a.bytes;
  return n;
}

// Note [Steps side by side] (side_by_side.cpp): memory planned in schedule order shares bytes
// between kernels that could otherwise run at once. Planned again keeping the program's own order
// (ancestry), the plan is kept that way when that makes it wide enough to run side by side, and
// wider than before, for at most twice the arena and a MiB (an LSTM over time steps: 3.1 instead
// of 1.75 for 5.6 kB instead of 2.4 kB).
void place_for_side_by_side(CompiledPlan& plan, const CompileOptions& options) {
  const Ancestry order = ancestry(plan.program, plan.groups, plan.schedule);
  if (order.empty()) return;
  std::vector<BufferPlacement> packed = std::move(plan.placement);
  std::vector<ArenaSize> arenas = plan_memory(plan.program, plan.groups, plan.schedule, options, plan.placement, &order);
  SideBySide wider = side_by_side(plan);
  const size_t limit = 2 * total_bytes(plan.stats.arenas) + (size_t{1} << 20);
  if (wider.width >= kMinWidth && wider.width > 1.1 * plan.side_by_side.width && total_bytes(arenas) <= limit) {
    plan.stats.arenas = std::move(arenas);
    plan.side_by_side = std::move(wider);
  } else {
    plan.placement = std::move(packed);
  }
}

}  // namespace

CompiledPlan compile(Program program, const CompileOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  CompiledPlan plan;
  plan.options = options;
  plan.stats.steps_before = static_cast<int>(program.steps.size());
  program.validate();
  auto pass = [&](bool on, auto&& fn) {
    if (!on) return;
    fn(program);
    if (options.validate_each_pass) program.validate();
  };
  pass(options.constant_folding, fold_constants);
  pass(options.cse, eliminate_common_subexpressions);
  pass(options.dce, eliminate_dead_code);
  plan.program = std::move(program);
  if (options.fusion) plan.groups = fuse_elementwise(plan.program);
  plan.stats.nvrtc_kernels = compile_cuda_kernels(plan.program, plan.groups, options.check_nvrtc);
  plan.schedule = make_schedule(plan.program, plan.groups);
  plan.stats.arenas = plan_memory(plan.program, plan.groups, plan.schedule, options, plan.placement);
  plan.side_by_side = side_by_side(plan);
  if (options.side_by_side != 0 && !plan.side_by_side.alone.empty()) place_for_side_by_side(plan, options);
  plan.stats.arena_bytes = total_bytes(plan.stats.arenas);
  count_stats(plan);
  plan.cuda_graph_blocker = options.cuda_graphs ? cuda_graph_blocker(plan) : "turned off (TERRA_CUDA_GRAPHS=0)";
  plan.stats.compile_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return plan;
}

}  // namespace terra::graph
