// Constant folding (passes.hpp). A Pure functional step whose tensor inputs are all constants (or
// which has none: zeros, full, arange) runs once now through the eager dispatcher, the same kernel
// a run would use, so folding never changes a result. A folded result must come out with exactly
// the layout the program expects; its buffer must be Internal and never overwritten later.
#include "engine/autograd/grad_mode.hpp"
#include "engine/dispatch/dispatcher.hpp"
#include "engine/graph/analysis.hpp"
#include "engine/graph/passes.hpp"
#include "engine/trace/suspend.hpp"

namespace terra::graph {

namespace {

bool foldable(const Program& p, const Step& step, const std::vector<std::vector<int>>& overwriters) {
  if (step.form != trace::CallForm::Functional || step.op->effect != Effect::Pure || step.outputs.empty() ||
      step.runtime_attrs >= 0)
    return false;
  for (int in : step.inputs)
    if (in >= 0 && p.values[in].constant < 0) return false;
  for (int out : step.outputs) {
    const int b = p.values[out].buffer;
    if (p.buffers[b].kind != BufferKind::Internal || !overwriters[b].empty()) return false;
  }
  return true;
}

bool same_layout(const Tensor& t, const trace::ValueMeta& m) {
  return t.shape() == m.shape && t.strides() == m.strides && t.offset() == m.offset && t.dtype() == m.dtype &&
         t.device() == m.device;
}

}  // namespace

int fold_constants(Program& p) {
  const auto overwriters = buffer_overwriters(p);
  trace::SuspendTracing no_trace;
  GradModeGuard no_grad(false);
  std::vector<bool> folded(p.steps.size(), false);
  int count = 0;
  for (size_t s = 0; s < p.steps.size(); ++s) {
    const Step& step = p.steps[s];
    if (!foldable(p, step, overwriters)) continue;
    std::vector<Tensor> inputs;
    for (int in : step.inputs) inputs.push_back(in >= 0 ? p.constants[p.values[in].constant] : Tensor());
    std::vector<Tensor> results = dispatch(*step.op, std::move(inputs), step.attrs);
    bool fits = results.size() == step.outputs.size();
    for (size_t o = 0; fits && o < results.size(); ++o) fits = same_layout(results[o], p.values[step.outputs[o]].meta);
    if (!fits) continue;
    for (size_t o = 0; o < results.size(); ++o) {
      Value& v = p.values[step.outputs[o]];
      v.constant = static_cast<int>(p.constants.size());
      v.producer = -1;
      p.constants.push_back(results[o]);
    }
    folded[s] = true;
    ++count;
  }
  if (count) compact(p, folded);
  return count;
}

}  // namespace terra::graph
