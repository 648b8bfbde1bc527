// Elementwise fusion (passes.hpp). Steps are visited in order; a fusable step joins the groups of
// the fusable steps that produced its inputs (several groups merge: a DAG, not only chains) when
// the merged group may run at this step's place. Running a group there moves its earlier members
// later, which is legal only when no step in between reads a member's result (it would run before
// the group) or overwrites a buffer a member reads (Note [Fusion legality]).
//
// Note [Fusion legality]: the check scans the steps between the group's first member and the new
// one, so it costs the group's span; spans stay short in practice because a group only grows
// through producer-consumer edges.
#include <algorithm>

#include "engine/graph/analysis.hpp"
#include "engine/graph/passes.hpp"
#include "kernels/common/fused_params.hpp"
#include "terra_config.hpp"

namespace terra::graph {

namespace {

// The CPU runs every fused group; CUDA runs those of at most fused::kMaxDims dims when built with
// it (the generated kernel of cuda_fusion.cpp).
bool device_fuses(const trace::ValueMeta& out) {
  if (out.device.is_cpu()) return true;
  return TERRA_WITH_CUDA && out.device.is_cuda() && out.shape.size() <= static_cast<size_t>(fused::kMaxDims);
}

bool fusable(const Program& p, const Step& step) {
  if (step.form != trace::CallForm::Functional || step.op->effect != Effect::Pure ||
      step.op->fusion != FusionKind::Elementwise || step.op->kernel_makes_outputs || step.outputs.size() != 1 ||
      step.runtime_attrs >= 0)
    return false;
  const trace::ValueMeta& out = p.values[step.outputs[0]].meta;
  if (!device_fuses(out) || !is_contiguous(out.shape, out.strides) ||
      !cpu::fusable_elementwise(step.op->name(), out.dtype))
    return false;
  for (int in : step.inputs) {
    if (in < 0) return false;
    const trace::ValueMeta& m = p.values[in].meta;
    // Another dtype only for 0-d operands (wrapped numbers), converted on load as promotion does.
    if (m.device != out.device || (m.dtype != out.dtype && !m.shape.empty())) return false;
  }
  return true;
}

struct Grouping {
  const Program& p;
  std::vector<int> group_of;                  // per step; -1 when not fused
  std::vector<std::vector<int>> members;      // per group, in program order
  std::vector<std::vector<int>> overwritten;  // per step: buffers it overwrites

  // Whether the steps of `set` (sorted) may all run at the place of the last one.
  bool may_run_at_end(const std::vector<int>& set) const {
    const int first = set.front(), last = set.back();
    std::vector<bool> produced(p.values.size(), false);
    std::vector<int> reads;
    for (int s : set) {
      for (int out : p.steps[s].outputs) produced[out] = true;
      for (int in : p.steps[s].inputs) reads.push_back(p.values[in].buffer);
    }
    for (int t = first + 1, m = 1; t < last; ++t) {
      if (set[m] == t) {
        ++m;
        continue;
      }
      for (int in : p.steps[t].inputs)
        if (in >= 0 && produced[in]) return false;
      for (int b : overwritten[t])
        if (std::find(reads.begin(), reads.end(), b) != reads.end()) return false;
    }
    return true;
  }

  std::vector<int> merged(const std::vector<int>& groups, int step) const {
    std::vector<int> set{step};
    for (int g : groups) set.insert(set.end(), members[g].begin(), members[g].end());
    std::sort(set.begin(), set.end());
    return set;
  }

  void join(const std::vector<int>& groups, int step) {
    const int target = groups.front();
    std::vector<int> all = merged(groups, step);
    for (size_t i = 1; i < groups.size(); ++i) members[groups[i]].clear();
    for (int s : all) group_of[s] = target;
    members[target] = std::move(all);
  }

  void add(int step) {
    const Step& st = p.steps[step];
    const trace::ValueMeta& out = p.values[st.outputs[0]].meta;
    std::vector<int> candidates;
    for (int in : st.inputs) {
      const int producer = p.values[in].producer;
      if (producer < 0 || group_of[producer] < 0) continue;
      const int g = group_of[producer];
      const trace::ValueMeta& gm = p.values[p.steps[members[g].front()].outputs[0]].meta;
      if (gm.shape == out.shape && gm.dtype == out.dtype && std::find(candidates.begin(), candidates.end(), g) == candidates.end())
        candidates.push_back(g);
    }
    if (!candidates.empty() && may_run_at_end(merged(candidates, step))) return join(candidates, step);
    // The whole union cannot move here: join the latest-ending group that can.
    std::sort(candidates.begin(), candidates.end(), [&](int a, int b) { return members[a].back() > members[b].back(); });
    for (int g : candidates)
      if (may_run_at_end(merged({g}, step))) return join({g}, step);
    group_of[step] = static_cast<int>(members.size());
    members.push_back({step});
  }
};

FusedGroup make_group(const Program& p, std::vector<int> steps, const std::vector<std::vector<int>>& readers) {
  FusedGroup g;
  g.steps = std::move(steps);
  const trace::ValueMeta& out = p.values[p.steps[g.steps.front()].outputs[0]].meta;
  g.shape = out.shape;
  g.dtype = out.dtype;
  auto member = [&](int s) { return std::binary_search(g.steps.begin(), g.steps.end(), s); };
  for (int s : g.steps) {
    for (int in : p.steps[s].inputs)
      if (!(p.values[in].producer >= 0 && member(p.values[in].producer)) &&
          std::find(g.inputs.begin(), g.inputs.end(), in) == g.inputs.end())
        g.inputs.push_back(in);
    const int v = p.steps[s].outputs[0];
    bool escapes = p.buffers[p.values[v].buffer].kind != BufferKind::Internal;
    for (int r : readers[v]) escapes = escapes || !member(r);
    if (escapes) g.outputs.push_back(v);
  }
  // The kernel: load every input, apply the members in order, store the escaping values.
  g.kernel = std::make_shared<cpu::FusedKernel>(g.dtype, static_cast<int>(g.inputs.size()), static_cast<int>(g.outputs.size()));
  std::vector<int> reg(p.values.size(), -1);
  for (size_t k = 0; k < g.inputs.size(); ++k) reg[g.inputs[k]] = g.kernel->load(static_cast<int>(k));
  for (int s : g.steps) {
    std::vector<int> args;
    for (int in : p.steps[s].inputs) args.push_back(reg[in]);
    reg[p.steps[s].outputs[0]] = g.kernel->apply(p.steps[s].op->name(), p.steps[s].attrs, args);
  }
  for (size_t m = 0; m < g.outputs.size(); ++m) g.kernel->store(reg[g.outputs[m]], static_cast<int>(m));
  g.kernel->finish();
  return g;
}

}  // namespace

std::vector<FusedGroup> fuse_elementwise(const Program& p) {
  const int n = static_cast<int>(p.steps.size());
  Grouping grouping{p, std::vector<int>(n, -1), {}, std::vector<std::vector<int>>(n)};
  for (int s = 0; s < n; ++s) grouping.overwritten[s] = overwritten_buffers(p, p.steps[s]);
  for (int s = 0; s < n; ++s)
    if (fusable(p, p.steps[s])) grouping.add(s);
  const auto readers = value_readers(p);
  std::vector<FusedGroup> groups;
  for (std::vector<int>& m : grouping.members)
    if (m.size() > 1) groups.push_back(make_group(p, std::move(m), readers));
  std::sort(groups.begin(), groups.end(), [](const FusedGroup& a, const FusedGroup& b) { return a.steps.back() < b.steps.back(); });
  return groups;
}

std::vector<Kernel> make_schedule(const Program& p, const std::vector<FusedGroup>& groups) {
  std::vector<int> group_of(p.steps.size(), -1);
  for (int g = 0; g < static_cast<int>(groups.size()); ++g)
    for (int s : groups[g].steps) group_of[s] = g;
  std::vector<Kernel> schedule;
  for (int s = 0; s < static_cast<int>(p.steps.size()); ++s) {
    if (group_of[s] < 0) schedule.push_back({s, -1});
    else if (groups[group_of[s]].steps.back() == s) schedule.push_back({-1, group_of[s]});
  }
  return schedule;
}

}  // namespace terra::graph
