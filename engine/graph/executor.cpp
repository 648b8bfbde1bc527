// The plan executor (executor.hpp). Values live in planned memory where the plan has placed them:
// a functional op whose outputs the dispatcher would allocate runs with dispatch_out into the
// arena or the caller's kept storage (the same kernel as eager, so the same bits). Ops that make
// their own outputs (views, composites) hand back tensors: views and op-allocated results are
// adopted as they are, and a fresh result on a Kept buffer is copied into the kept storage.
#include "engine/graph/executor.hpp"

#include "engine/autograd/grad_mode.hpp"
#include "engine/dispatch/dispatcher.hpp"
#include "engine/graph/analysis.hpp"
#include "engine/graph/tensor_on.hpp"
#include "engine/trace/suspend.hpp"

namespace terra::graph {

namespace {

struct Run {
  const CompiledPlan& plan;
  std::vector<Tensor> vals;

  std::vector<Tensor> tensors(const std::vector<int>& ids, size_t begin, size_t end) const {
    std::vector<Tensor> out;
    out.reserve(end - begin);
    for (size_t i = begin; i < end; ++i) out.push_back(ids[i] >= 0 ? vals[ids[i]] : Tensor());
    return out;
  }

  void functional(const Step& s) {
    const Program& p = plan.program;
    std::vector<Tensor> inputs = tensors(s.inputs, 0, s.inputs.size());
    if (s.op->effect != Effect::InPlace && !s.op->kernel_makes_outputs) {
      dispatch_out(*s.op, std::move(inputs), s.attrs, tensors(s.outputs, 0, s.outputs.size()));
      return;
    }
    std::vector<Tensor> results = dispatch(*s.op, std::move(inputs), s.attrs);
    for (size_t o = 0; o < s.outputs.size(); ++o) {
      const int v = s.outputs[o];
      const bool into_kept = plan.placement[p.values[v].buffer].where == Placement::Kept &&
                             fresh_output(p, s, static_cast<int>(o)) && !results[o].shares_storage(vals[v]);
      if (into_kept) {
        static const OpDef& copy = Registry::instance().get("copy_");
        dispatch(copy, {vals[v], results[o]}, make_attrs(copy, {}));
      } else {
        vals[v] = results[o];
      }
    }
  }

  void step(const Step& s) {
    switch (s.form) {
      case trace::CallForm::Functional:
        return functional(s);
      case trace::CallForm::InPlace:
        vals[s.outputs.at(0)] = dispatch_inplace(*s.op, tensors(s.inputs, 0, s.inputs.size()), s.attrs);
        return;
      case trace::CallForm::Out: {
        const size_t first = first_out_input(s);
        std::vector<Tensor> outs = tensors(s.inputs, first, s.inputs.size());
        dispatch_out(*s.op, tensors(s.inputs, 0, first), s.attrs, outs);
        for (size_t o = 0; o < s.outputs.size(); ++o) vals[s.outputs[o]] = outs[o];
        return;
      }
    }
  }

  void group(const FusedGroup& g) {
    std::vector<Tensor> inputs = tensors(g.inputs, 0, g.inputs.size());
    try {
      g.kernel->run(inputs, tensors(g.outputs, 0, g.outputs.size()));
    } catch (const Error& e) {
      std::string ops;
      for (int s : g.steps) ops += (ops.empty() ? "" : ", ") + plan.program.steps[s].op->name();
      throw e.with_context("fused(" + ops + ")", describe_inputs(inputs));
    }
  }
};

void bind_inputs(const CompiledPlan& plan, const std::vector<Tensor>& bound, const std::vector<Storage>& kept, Run& run) {
  const Program& p = plan.program;
  TERRA_CHECK(static_cast<int>(bound.size()) == p.num_bound, Runtime, "graph plan: expected ", p.num_bound,
              " bound tensors, got ", bound.size());
  TERRA_CHECK(static_cast<int>(kept.size()) == p.num_kept, Runtime, "graph plan: expected ", p.num_kept,
              " kept storages, got ", kept.size());
  for (int v = 0; v < p.num_bound; ++v) {
    const trace::ValueMeta& m = p.values[v].meta;
    TERRA_CHECK(bound[v].defined() && bound[v].shape() == m.shape && bound[v].dtype() == m.dtype, Runtime,
                "graph plan: bound input ", v, " should be ", dtype_name(m.dtype), shape_str(m.shape), ", got ",
                bound[v].defined() ? bound[v].describe() : std::string("nothing"));
    run.vals[v] = bound[v];
  }
  for (const Storage& s : kept) {
    s->allocate();
    s->set_pending(false);
  }
  for (size_t v = 0; v < p.values.size(); ++v) {
    const Buffer& b = p.buffers[p.values[v].buffer];
    if (b.kind != BufferKind::Kept) continue;
    const Storage& s = kept[b.index];
    TERRA_CHECK(s->nbytes() >= b.nbytes, Runtime, "graph plan: kept storage ", b.index, " has ", s->nbytes(),
                " bytes, the plan needs ", b.nbytes);
    run.vals[v] = tensor_on(s, p.values[v].meta);
  }
}

}  // namespace

void run(CompiledPlan& plan, const std::vector<Tensor>& bound, const std::vector<Storage>& kept) {
  Run state{plan, plan.prepared};
  bind_inputs(plan, bound, kept, state);
  trace::SuspendTracing no_trace;
  GradModeGuard no_grad(false);
  for (const Kernel& k : plan.schedule) {
    if (k.group >= 0) state.group(plan.groups[k.group]);
    else state.step(plan.program.steps[k.step]);
  }
}

}  // namespace terra::graph
