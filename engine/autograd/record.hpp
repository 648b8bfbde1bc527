// How the dispatcher records the autograd graph in eager mode (DESIGN.md §6): after an op runs
// with grad mode on and an input that requires grad, its outputs are connected to a new node.
// In-place forms are recorded as their functional op followed by a copy, and an in-place change
// through a view rewrites the base's history too (PyTorch's CopySlices).
#pragma once
#include "engine/autograd/autograd_meta.hpp"

namespace terra::autograd {

bool any_requires_grad(const TensorList& inputs);

// After a functional (or view) op ran: outputs that alias an input are replaced by aliases, so
// every output has its own history.
void record(const OpDef& op, const TensorList& inputs, const Attrs& attrs, TensorList& outputs);

// PyTorch's checks before an in-place op that will be recorded.
void check_inplace(const Tensor& self);

// The in-place form of a functional op with autograd: computes op(inputs) with history, writes
// the result into inputs[0] and moves the history onto it.
Tensor apply_inplace(const OpDef& op, TensorList inputs, const Attrs& attrs);

// After an Effect::InPlace op (copy_, fill_) ran on inputs[0]: its new history is a node of that
// op whose inputs are the old self and the other inputs.
void record_inplace(const OpDef& op, const TensorList& inputs, const Attrs& attrs);

}  // namespace terra::autograd
