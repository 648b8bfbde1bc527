// Per-tensor autograd state (TensorImpl::autograd), created only for tensors that take part in
// autograd: leaves that require grad, results of recorded ops, views (which remember their base
// so an in-place change through the view can update the base's history).
#pragma once
#include <memory>
#include <vector>

#include "engine/autograd/node.hpp"

namespace terra {

struct AutogradMeta {
  bool requires_grad = false;
  Tensor grad;
  std::shared_ptr<Node> grad_fn;        // null for leaves
  uint32_t output_nr = 0;
  std::weak_ptr<Node> grad_accumulator;  // leaves: their AccumulateGrad, made on first use
  std::vector<GradHook> leaf_hooks;      // leaves: Tensor.register_hook
  bool retains_grad = false;
  Tensor view_base;                      // views: the tensor owning the storage's history
};

namespace autograd {

AutogradMeta* meta(const Tensor& t);            // null when the tensor has none
AutogradMeta& ensure_meta(const Tensor& t);
bool requires_grad(const Tensor& t);
bool is_leaf(const Tensor& t);
const std::shared_ptr<Node>& grad_fn(const Tensor& t);
// Tensor.requires_grad_(): leaves only, floating dtypes only (PyTorch's errors otherwise).
void set_requires_grad(const Tensor& t, bool requires);
Tensor grad(const Tensor& t);
void set_grad(const Tensor& t, const Tensor& grad);
// Where a gradient for `t` goes: its grad_fn slot, or its leaf's AccumulateGrad.
Edge gradient_edge(const Tensor& t);
// Tensor.register_hook / retain_grad.
void register_hook(const Tensor& t, GradHook hook);
void retain_grad(const Tensor& t);
// A new tensor sharing t's data with no history (Tensor.detach()).
Tensor detach(const Tensor& t);
// Python's Tensor.data: the same but requires_grad false and not tracked as a view.
inline Tensor data(const Tensor& t) { return t.alias(); }

}  // namespace autograd
}  // namespace terra
