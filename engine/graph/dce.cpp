// Dead-code elimination (passes.hpp). One backward sweep: a step is dead when it only computes
// (Pure or View, functional form), every output is on an Internal buffer, and no live step reads
// any output. Kept and Bound buffers are what the program is run for, so writers of those and
// anything they read stay; so do random draws (they advance a generator) and side effects.
#include "engine/graph/analysis.hpp"
#include "engine/graph/passes.hpp"

namespace terra::graph {

int eliminate_dead_code(Program& p) {
  const int n = static_cast<int>(p.steps.size());
  std::vector<bool> read(p.values.size(), false), dead(n, false);
  int removed = 0;
  for (int s = n - 1; s >= 0; --s) {
    const Step& step = p.steps[s];
    bool removable = step.form == trace::CallForm::Functional &&
                     (step.op->effect == Effect::Pure || step.op->effect == Effect::View);
    for (int out : step.outputs)
      removable = removable && !read[out] && p.buffers[p.values[out].buffer].kind == BufferKind::Internal;
    if (removable) {
      dead[s] = true;
      ++removed;
      continue;
    }
    for (int in : step.inputs)
      if (in >= 0) read[in] = true;
  }
  if (removed) compact(p, dead);
  return removed;
}

}  // namespace terra::graph
