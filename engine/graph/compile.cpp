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
  const bool on_cpu = std::all_of(plan.program.buffers.begin(), plan.program.buffers.end(),
                                  [](const Buffer& b) { return b.device.type == DeviceType::CPU; });
  const Ancestry order = options.side_by_side != 0 && on_cpu ? ancestry(plan.program, plan.groups, plan.schedule) : Ancestry();
  plan.stats.arenas = plan_memory(plan.program, plan.groups, plan.schedule, options, plan.placement, &order);
  for (const ArenaSize& a : plan.stats.arenas) plan.stats.arena_bytes += a.bytes;
  count_stats(plan);
  plan.side_by_side = side_by_side(plan);
  plan.cuda_graph_blocker = options.cuda_graphs ? cuda_graph_blocker(plan) : "turned off (TERRA_CUDA_GRAPHS=0)";
  plan.stats.compile_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return plan;
}

}  // namespace terra::graph
