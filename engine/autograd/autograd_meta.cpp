#include "engine/autograd/autograd_meta.hpp"

namespace terra::autograd {

AutogradMeta* meta(const Tensor& t) { return t.defined() ? t.impl()->autograd.get() : nullptr; }

AutogradMeta& ensure_meta(const Tensor& t) {
  auto& slot = t.impl()->autograd;
  if (!slot) slot = std::make_shared<AutogradMeta>();
  return *slot;
}

bool requires_grad(const Tensor& t) {
  const AutogradMeta* m = meta(t);
  return m && (m->requires_grad || m->grad_fn);
}

bool is_leaf(const Tensor& t) {
  const AutogradMeta* m = meta(t);
  return !m || !m->grad_fn;
}

const std::shared_ptr<Node>& grad_fn(const Tensor& t) {
  static const std::shared_ptr<Node> none;
  const AutogradMeta* m = meta(t);
  return m ? m->grad_fn : none;
}

void set_requires_grad(const Tensor& t, bool requires) {
  if (!is_leaf(t))
    throw Error(ErrorKind::Runtime,
                "you can only change requires_grad flags of leaf variables. If you want to use a computed variable "
                "in a subgraph that doesn't require differentiation use var_no_grad = var.detach().");
  if (requires && !is_floating(t.dtype()))
    throw Error(ErrorKind::Runtime, std::string("only Tensors of floating point dtype can require gradients (got ") +
                                        dtype_name(t.dtype()) + ")");
  if (!requires && !meta(t)) return;
  ensure_meta(t).requires_grad = requires;
}

Tensor grad(const Tensor& t) {
  const AutogradMeta* m = meta(t);
  return m ? m->grad : Tensor();
}

void set_grad(const Tensor& t, const Tensor& g) {
  if (g.defined()) {
    TERRA_CHECK(g.shape() == t.shape(), Runtime, "assigned grad has data of a different size: ", shape_str(g.shape()),
                " vs the tensor's ", shape_str(t.shape()));
    TERRA_CHECK(g.dtype() == t.dtype(), Type, "assigned grad has data of a different type: ", dtype_name(g.dtype()),
                " vs the tensor's ", dtype_name(t.dtype()));
    TERRA_CHECK(g.device() == t.device(), Runtime, "assigned grad has data located on a different device");
  }
  if (!g.defined() && !meta(t)) return;
  ensure_meta(t).grad = g;
}

Edge gradient_edge(const Tensor& t) {
  AutogradMeta* m = meta(t);
  if (!m) return {};
  if (m->grad_fn) return {m->grad_fn, m->output_nr};
  if (!m->requires_grad) return {};
  std::shared_ptr<Node> acc = m->grad_accumulator.lock();
  if (!acc) {
    acc = std::make_shared<AccumulateGrad>(t.impl_ptr());
    m->grad_accumulator = acc;
  }
  return {acc, 0};
}

void register_hook(const Tensor& t, GradHook hook) {
  TERRA_CHECK(requires_grad(t), Runtime, "cannot register a hook on a tensor that doesn't require gradient");
  AutogradMeta& m = ensure_meta(t);
  if (m.grad_fn)
    m.grad_fn->pre_hooks[m.output_nr].push_back(std::move(hook));
  else
    m.leaf_hooks.push_back(std::move(hook));
}

void retain_grad(const Tensor& t) {
  TERRA_CHECK(requires_grad(t), Runtime, "can't retain_grad on Tensor that has requires_grad=False");
  AutogradMeta& m = ensure_meta(t);
  if (!m.grad_fn || m.retains_grad) return;
  m.retains_grad = true;
  m.grad_fn->retained[m.output_nr] = t.impl_ptr();
}

Tensor detach(const Tensor& t) { return t.alias(); }

}  // namespace terra::autograd
