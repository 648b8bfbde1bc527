// Common-subexpression elimination (passes.hpp). Values are SSA but buffers are memory: the same
// input value can hold different bytes before and after an in-place write to its buffer (through
// a view, say), so a repeat only merges when no step between the two overwrites an input's buffer.
// The kept result's buffer must also stay unwritten afterwards, since it now stands for both; the
// dropped result's buffer is folded into it.
#include <map>

#include "engine/graph/analysis.hpp"
#include "engine/graph/passes.hpp"

namespace terra::graph {

namespace {

bool candidate(const Program& p, const Step& step) {
  if (step.form != trace::CallForm::Functional || step.op->effect != Effect::Pure || step.runtime_attrs >= 0)
    return false;
  for (int out : step.outputs)
    if (p.buffers[p.values[out].buffer].kind != BufferKind::Internal) return false;
  return !step.outputs.empty();
}

bool same_call(const Program& p, const Step& a, const Step& b) {
  if (a.outputs.size() != b.outputs.size() || !trace::attrs_equal(a.attrs, b.attrs)) return false;
  for (size_t o = 0; o < a.outputs.size(); ++o)
    if (!(p.values[a.outputs[o]].meta == p.values[b.outputs[o]].meta)) return false;
  return true;
}

}  // namespace

int eliminate_common_subexpressions(Program& p) {
  const auto overwriters = buffer_overwriters(p);
  auto never_overwritten = [&](const Step& s) {
    for (int out : s.outputs)
      if (!overwriters[p.values[out].buffer].empty()) return false;
    return true;
  };
  std::map<std::pair<const OpDef*, std::vector<int>>, std::vector<int>> seen;
  std::vector<bool> removed(p.steps.size(), false);
  int count = 0;
  for (int s = 0; s < static_cast<int>(p.steps.size()); ++s) {
    Step& step = p.steps[s];
    if (!candidate(p, step) || !never_overwritten(step)) continue;
    std::vector<int>& earlier = seen[{step.op, step.inputs}];
    int match = -1;
    for (int e : earlier) {
      if (!same_call(p, p.steps[e], step)) continue;
      bool clobbered = false;
      for (int in : step.inputs)
        clobbered = clobbered || (in >= 0 && overwritten_between(overwriters, p.values[in].buffer, e, s));
      if (!clobbered) match = e;
    }
    if (match < 0) {
      earlier.push_back(s);
      continue;
    }
    for (size_t o = 0; o < step.outputs.size(); ++o) {
      const int dropped = step.outputs[o], kept = p.steps[match].outputs[o];
      const int from = p.values[dropped].buffer, to = p.values[kept].buffer;
      for (Value& v : p.values)
        if (v.buffer == from) v.buffer = to;
      replace_uses(p, dropped, kept);
    }
    removed[s] = true;
    ++count;
  }
  if (count) compact(p, removed);
  return count;
}

}  // namespace terra::graph
