#include "engine/autograd/record.hpp"

#include "engine/autograd/grad_mode.hpp"
#include "engine/dispatch/dispatcher.hpp"
#include "engine/trace/hook.hpp"

namespace terra::autograd {

bool any_requires_grad(const TensorList& inputs) {
  for (const Tensor& t : inputs)
    if (t.defined() && requires_grad(t)) return true;
  return false;
}

namespace {

Tensor view_base_of(const Tensor& t) {
  const AutogradMeta* m = meta(t);
  return m && m->view_base.defined() ? m->view_base : t;
}

// Views remember their base, so an in-place change through the view can update the base.
void track_view(const OpDef& op, const TensorList& inputs, const TensorList& outputs) {
  if (op.effect != Effect::View || inputs.empty() || !inputs[0].defined()) return;
  for (const Tensor& out : outputs)
    if (out.defined() && out.shares_storage(inputs[0])) ensure_meta(out).view_base = view_base_of(inputs[0]);
}

InputMeta meta_of(const Tensor& t) {
  if (!t.defined()) return {};
  return InputMeta{t.shape(), t.dtype(), t.device(), true, t.offset(), t.is_contiguous()};
}

// `needs[i]`: input i is a floating tensor that requires grad (at least one does).
std::shared_ptr<Node> make_node(const OpDef& op, const TensorList& inputs, const Attrs& attrs, std::vector<bool> needs,
                                const TensorList& outputs) {
  if (op.grad_state != GradState::Formula) return std::make_shared<NotImplementedNode>(op.name(), outputs.size());
  auto node = std::make_shared<OpNode>(op, attrs);
  node->trace_location = trace::current_op_location;
  node->input_needs_grad = std::move(needs);
  node->input_metas.reserve(inputs.size());
  // Most ops keep nothing or only inputs (add, mul's other operand): the saved lists stay empty
  // unless something is kept, which spares two allocations per recorded op.
  if (op.saves.inputs != 0) node->saved_inputs.resize(inputs.size());
  const auto needed_by_another = [&](size_t i) {
    const uint64_t readers = i < op.saves.readers.size() ? op.saves.readers[i] : 0;
    if (readers == 0) return true;
    for (size_t j = 0; j < node->input_needs_grad.size() && j < 64; ++j)
      if (((readers >> j) & 1) && node->input_needs_grad[j]) return true;
    return false;
  };
  for (size_t i = 0; i < inputs.size(); ++i) {
    node->input_metas.push_back(meta_of(inputs[i]));
    if (inputs[i].defined() && op.saves.keeps_input(i, attrs) && needed_by_another(i))
      node->saved_inputs[i] = SavedTensor{inputs[i], inputs[i].version(), false, 0, nullptr, 0, requires_grad(inputs[i])};
  }
  node->output_metas.reserve(outputs.size());
  if (op.saves.outputs != 0) node->saved_outputs.resize(outputs.size());
  for (size_t k = 0; k < outputs.size(); ++k) {
    const Tensor& out = outputs[k];
    bool differentiable = out.defined() && is_floating(out.dtype()) && (k >= 64 || ((op.differentiable_outputs >> k) & 1));
    InputMeta m = meta_of(out);
    m.defined = differentiable;
    node->output_metas.push_back(std::move(m));
    if (out.defined() && op.saves.keeps_output(k))
      node->saved_outputs[k] = SavedTensor{out.alias(), out.version(), true, static_cast<uint32_t>(k), nullptr, 0,
                                           differentiable};
  }
  return node;
}

bool needs_grad(const Tensor& input) { return input.defined() && is_floating(input.dtype()) && requires_grad(input); }

// Connects outputs to a node for op(inputs); outputs may include inputs[0] itself (in-place).
void connect(const OpDef& op, const TensorList& inputs, const Attrs& attrs, const TensorList& outputs) {
  size_t first = 0;
  while (first < inputs.size() && !needs_grad(inputs[first])) ++first;
  if (first == inputs.size()) return;  // nothing to record, and nothing allocated
  std::vector<bool> needs(inputs.size());
  std::vector<Edge> edges(inputs.size());
  for (size_t i = first; i < inputs.size(); ++i)
    if (needs_grad(inputs[i])) {
      needs[i] = true;
      edges[i] = gradient_edge(inputs[i]);
    }
  std::shared_ptr<Node> node = make_node(op, inputs, attrs, std::move(needs), outputs);
  node->next_edges = std::move(edges);
  for (size_t k = 0; k < outputs.size(); ++k) {
    const Tensor& out = outputs[k];
    if (!out.defined() || !is_floating(out.dtype()) || (k < 64 && !((op.differentiable_outputs >> k) & 1))) continue;
    AutogradMeta& m = ensure_meta(out);
    m.grad_fn = node;
    m.output_nr = static_cast<uint32_t>(k);
    m.requires_grad = true;
    m.retains_grad = false;
  }
}

const OpDef& op_named(const char* name) { return Registry::instance().get(name); }

// The base's history after an in-place change through the view `self`: the base now equals
// as_strided_scatter(old base, self); self becomes a view of the new base again.
void rebase_view(const Tensor& self) {
  AutogradMeta* m = meta(self);
  if (!m || !m->view_base.defined()) return;
  Tensor base = m->view_base;
  TERRA_CHECK(base.is_contiguous(), NotImplemented,
              "an in-place operation on a view of a non-contiguous tensor that takes part in autograd "
              "(make the base contiguous first)");
  std::vector<int64_t> size(self.shape().begin(), self.shape().end());
  std::vector<int64_t> stride(self.strides().begin(), self.strides().end());
  const OpDef& scatter = op_named("as_strided_scatter");
  Attrs scatter_attrs = make_attrs(scatter, {{"size", size}, {"stride", stride}, {"storage_offset", self.offset() - base.offset()}});
  connect(scatter, {base, self}, scatter_attrs, {base});
  const OpDef& view = op_named("as_strided");
  Attrs view_attrs = make_attrs(view, {{"size", size}, {"stride", stride}, {"storage_offset", self.offset()}});
  connect(view, {base}, view_attrs, {self});
}

}  // namespace

void record(const OpDef& op, const TensorList& inputs, const Attrs& attrs, TensorList& outputs) {
  if (op.grad_state == GradState::NotDifferentiable) return;
  if (any_requires_grad(inputs)) {
    for (Tensor& out : outputs)
      for (const Tensor& in : inputs)
        if (out.defined() && in.defined() && out.is_same(in)) out = out.alias();
    connect(op, inputs, attrs, outputs);
  }
  track_view(op, inputs, outputs);
}

void check_inplace(const Tensor& self) {
  if (is_leaf(self) && requires_grad(self))
    throw Error(ErrorKind::Runtime, "a leaf Variable that requires grad is being used in an in-place operation.");
  const AutogradMeta* m = meta(self);
  if (m && m->view_base.defined() && is_leaf(m->view_base) && requires_grad(m->view_base))
    throw Error(ErrorKind::Runtime,
                "a view of a leaf Variable that requires grad is being used in an in-place operation.");
}

Tensor apply_inplace(const OpDef& op, TensorList inputs, const Attrs& attrs) {
  Tensor self = inputs.at(0);
  check_inplace(self);
  // The formula may read the old self, which the copy below overwrites: it gets its own copy.
  if (op.saves.keeps_input(0)) inputs[0] = call1("clone", {self});
  Tensor result = dispatch(op, inputs, attrs).at(0);
  if (result.shape() != self.shape())
    throw Error(ErrorKind::Runtime,
                "output with shape " + shape_str(self.shape()) + " doesn't match the broadcast shape " +
                    shape_str(result.shape()),
                op.name());
  if (!can_cast(result.dtype(), self.dtype()))
    throw Error(ErrorKind::Runtime,
                std::string("result type ") + dtype_name(result.dtype()) + " can't be cast to the desired output type " +
                    dtype_name(self.dtype()),
                op.name());
  {
    GradModeGuard no_grad(false);
    call_inplace("copy_", {self, result});
  }
  if (const AutogradMeta* rm = meta(result); rm && rm->grad_fn) {
    AutogradMeta& m = ensure_meta(self);
    m.grad_fn = rm->grad_fn;
    m.output_nr = rm->output_nr;
    m.requires_grad = true;
    m.retains_grad = false;
    rebase_view(self);
  }
  return self;
}

void record_inplace(const OpDef& op, const TensorList& inputs, const Attrs& attrs) {
  const Tensor& self = inputs.at(op.inplace_input < 0 ? 0 : op.inplace_input);
  connect(op, inputs, attrs, {self});
  if (requires_grad(self)) rebase_view(self);
}

}  // namespace terra::autograd
