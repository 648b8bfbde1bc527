// Runs the autograd graph backwards (Tensor.backward, terra.autograd.grad). Synchronous, on the
// calling thread; nodes run in reverse order of creation once all their gradients have arrived.
#pragma once
#include "engine/autograd/autograd_meta.hpp"

namespace terra::autograd {

// Tensor.backward / terra.autograd.backward: accumulates into the leaves' .grad.
// `grad_roots` entries may be undefined for scalar roots (then 1).
void backward(const TensorList& roots, const TensorList& grad_roots, bool retain_graph, bool create_graph);

// terra.autograd.grad: returns d(roots)/d(inputs) without touching any .grad.
TensorList grad(const TensorList& roots, const TensorList& inputs, const TensorList& grad_roots, bool retain_graph,
                bool create_graph, bool allow_unused);

}  // namespace terra::autograd
