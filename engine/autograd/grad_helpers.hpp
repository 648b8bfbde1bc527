// Small building blocks for gradient formulas; each is a call of registered ops, so formulas
// built from them stay traceable.
#pragma once
#include "engine/dispatch/dispatcher.hpp"

namespace terra::grad {

inline std::vector<int64_t> dims_of(const Shape& s) { return std::vector<int64_t>(s.begin(), s.end()); }

// Sums a broadcast gradient back to `shape` (PyTorch's sum_to_size).
Tensor sum_to(const Tensor& g, const Shape& shape);
// Zeros (ones) of `shape` with like's dtype and on like's device (a gradient's buffer must be where
// the gradient is: one made on the CPU breaks a CUDA backward).
Tensor zeros(const Shape& shape, const Tensor& like);
Tensor ones(const Shape& shape, const Tensor& like);
// A view op's backward: zeros shaped like the input (on the gradient's device), the view of it taken with the same op and
// attributes, the gradient copied in.
Tensor view_scatter(const char* view_op, const Tensor& g, const InputMeta& input, const NamedAttrs& attrs);

}  // namespace terra::grad
