#include "engine/autograd/node.hpp"

#include "engine/trace/hook.hpp"

#include <atomic>
#include <cctype>

#include "engine/autograd/autograd_meta.hpp"
#include "engine/autograd/grad_helpers.hpp"
#include "engine/autograd/grad_mode.hpp"
#include "engine/dispatch/dispatcher.hpp"

namespace terra {

namespace {
std::atomic<uint64_t> next_sequence_nr{0};
}

Node::Node() : sequence_nr(next_sequence_nr.fetch_add(1, std::memory_order_relaxed)) {}

std::string backward_node_name(const std::string& op) {
  std::string out;
  bool upper = true;
  for (char c : op) {
    if (c == '_') {
      upper = true;
      continue;
    }
    out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = std::isdigit(static_cast<unsigned char>(c)) != 0;
  }
  return out + "Backward0";
}

std::string OpNode::name() const { return pytorch_node_name(*this); }

void OpNode::release_saved() {
  for (SavedTensor& s : saved_inputs) s = SavedTensor{};
  for (SavedTensor& s : saved_outputs) s = SavedTensor{};
  released_ = true;
}

Tensor OpNode::unpack(const SavedTensor& s, size_t index) const {
  if (!s.data.defined()) return {};
  if (s.data.version() != s.version)
    throw Error(ErrorKind::Runtime,
                "one of the variables needed for gradient computation has been modified by an inplace "
                "operation: [" + s.data.describe() + "], which is " +
                    (s.is_output ? "output " + std::to_string(s.output_nr) + " of " + name()
                                 : "input " + std::to_string(index) + " of " + name()) +
                    ", is at version " + std::to_string(s.data.version()) + "; expected version " +
                    std::to_string(s.version) +
                    " instead. Hint: the operation that modified it ran after this tensor was saved for "
                    "backward; make a copy (.clone()) before changing it in place.");
  if (!s.is_output || !GradMode::is_enabled() || !s.requires_grad) return s.data;
  // create_graph: a saved output is this node's own output, so its history is this node.
  Tensor t = s.data.alias();
  AutogradMeta& m = autograd::ensure_meta(t);
  m.requires_grad = true;
  m.grad_fn = std::const_pointer_cast<Node>(shared_from_this());
  m.output_nr = s.output_nr;
  return t;
}

TensorList OpNode::apply(TensorList grads) {
  if (released_)
    throw Error(ErrorKind::Runtime,
                "Trying to backward through the graph a second time (or directly access saved tensors after "
                "they have already been freed). Saved intermediate values of the graph are freed when you call "
                ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
                "graph a second time or if you need to access saved tensors after calling backward.",
                name());
  // One entry per input and output, undefined where nothing was saved (the saved lists are empty
  // when the op keeps nothing of that side).
  TensorList inputs(input_metas.size()), outputs(output_metas.size());
  for (size_t i = 0; i < saved_inputs.size(); ++i) inputs[i] = unpack(saved_inputs[i], i);
  for (size_t i = 0; i < saved_outputs.size(); ++i) outputs[i] = unpack(saved_outputs[i], i);
  // A missing gradient of a differentiable output is zero (formulas never see an undefined one
  // there); outputs that carry no gradient (indices, statistics) stay undefined.
  grads.resize(output_metas.size());
  for (size_t k = 0; k < grads.size(); ++k)
    if (!grads[k].defined() && output_metas[k].defined)
      grads[k] = call1("zeros", {}, {{"size", grad::dims_of(output_metas[k].shape)}, {"dtype", output_metas[k].dtype},
                                     {"device", output_metas[k].device}});
  GradContext ctx{inputs, outputs, grads, attrs_, input_metas, input_needs_grad};
  TensorList result;
  try {
    result = op_.grad(ctx);
  } catch (const Error& e) {
    throw e.with_context(name(), "while computing the gradient of " + op_.name());
  }
  result.resize(input_metas.size());
  for (size_t i = 0; i < result.size(); ++i) {
    if (!input_needs_grad[i]) {
      result[i] = Tensor();
      continue;
    }
    Tensor& g = result[i];
    if (!g.defined()) continue;
    const InputMeta& m = input_metas[i];
    if (g.shape() != m.shape)
      throw Error(ErrorKind::Runtime,
                  "Function " + name() + " returned an invalid gradient at index " + std::to_string(i) + " - got " +
                      shape_str(g.shape()) + " but expected shape compatible with " + shape_str(m.shape));
    if (g.dtype() != m.dtype) g = cast_to(g, m.dtype);
    // Cleared only where set: g may be a formula's input passed through (add's grad_output),
    // bound to a span the graph actor is running, whose dispatch reads the flag.
    if (g.is_wrapped_number()) g.impl()->wrapped_number = false;
  }
  return result;
}

TensorList AccumulateGrad::apply(TensorList grads) {
  std::shared_ptr<TensorImpl> impl = leaf_.lock();
  if (!impl || grads.empty() || !grads[0].defined()) return {};
  Tensor leaf(impl);
  AutogradMeta& m = autograd::ensure_meta(leaf);
  Tensor g = grads[0];
  for (const GradHook& hook : m.leaf_hooks) {
    Tensor replaced = hook(g);
    if (replaced.defined()) g = replaced;
  }
  if (!GradMode::is_enabled()) {
    // A gradient tensor may also be handed to other leaves (add's formula passes it through):
    // each .grad gets its own buffer, so an in-place change of one never shows in another.
    if (!m.grad.defined()) {
      // Keep it only when nothing else can see its memory (two references: `grads` and `g`) and it
      // is dense; otherwise (a broadcast view, a slice of a larger buffer) .grad gets a copy.
      // While a session traces or replays, the engine itself may hold references (spans queued on
      // the graph actor hold their inputs) at moments Python cannot predict: counting them would
      // make the same line take a different path from one iteration to the next, so .grad always
      // gets its own copy there (the values are the same either way). An untraced eager stretch
      // records nothing and queues nothing: it may steal, as plain eager does.
      bool exclusive = g.impl_ptr().use_count() <= 2 && g.storage().use_count() == 1 && g.is_contiguous() &&
                       !g.is_wrapped_number() && !(trace::session_on_this_thread && trace::recording_on_this_thread());
      m.grad = exclusive ? autograd::detach(g) : call1("clone", {g});
    } else {
      call_inplace("add", {m.grad, g});
    }
  } else {
    m.grad = m.grad.defined() ? call1("add", {m.grad, g}) : g;  // create_graph keeps the history
  }
  return {};
}

TensorList NotImplementedNode::apply(TensorList) {
  throw Error(ErrorKind::NotImplemented, "the derivative for '" + op_ + "' is not implemented", op_);
}

std::string NotImplementedNode::name() const { return backward_node_name(op_); }

}  // namespace terra

namespace terra {

const Tensor& GradContext::input(size_t i) const {
  const Tensor& t = inputs.at(i);
  TERRA_CHECK(t.defined() || !metas.at(i).defined, Runtime, "internal error: the gradient formula reads input ", i,
              ", which its SaveSet does not keep");
  return t;
}

const Tensor& GradContext::output(size_t i) const {
  const Tensor& t = outputs.at(i);
  TERRA_CHECK(t.defined(), Runtime, "internal error: the gradient formula reads output ", i,
              ", which its SaveSet does not keep");
  return t;
}

}  // namespace terra
