// Shape and dtype rules shared by many ops: PyTorch's result_type, elementwise broadcasting, dim
// checks. Op files compose these in their registry entries; each rule throws terra::Error with
// PyTorch's wording and the dispatcher adds the op name and the inputs' shapes and dtypes.
#pragma once
#include "engine/registry/op_def.hpp"

namespace terra::rules {

// PyTorch's result_type over tensors (wrapped numbers and 0-d tensors promote only across
// categories). Undefined tensors are skipped.
DType result_type(const std::vector<Tensor>& tensors);

// Shape of all inputs broadcast together (undefined inputs skipped).
Shape broadcast_all(const std::vector<Tensor>& tensors);

// Output device for ops with inputs: the first device of an input that is not a 0-d CPU tensor.
Device common_device(const std::vector<Tensor>& tensors);

enum class OutType {
  Same,         // the promoted type (add, mul, maximum)
  Bool,         // comparisons, logical ops, isnan
  Float,        // integers promote to the default float type (true division, exp, sigmoid)
};

// Elementwise over broadcast inputs: inputs are converted to the promoted type (to float for
// OutType::Float); `allow_bool` false rejects bool inputs (neg, sub), `floating_only` rejects
// integers outright instead of promoting.
struct ElementwiseOptions {
  OutType out = OutType::Same;
  bool allow_bool = true;
  bool integral_only = false;  // bitwise-style ops
};
Inferred elementwise(const std::vector<Tensor>& inputs, ElementwiseOptions opts);

inline InferFn elementwise_rule(ElementwiseOptions opts) {
  return [opts](const std::vector<Tensor>& in, const Attrs&) { return elementwise(in, opts); };
}

// Output is one tensor shaped like input 0 with the given dtype.
Inferred like(const Tensor& t, DType dtype);

// Creation ops: the `size` attribute, checked for negative sizes, and the `device` attribute
// (CPU when None), checked to be a device Terra can use: a device it cannot use (no GPU) is
// refused here, naming the op, before anything is allocated.
Shape size_attr(const Attrs& attrs);
Device device_attr(const Attrs& attrs);

// The `alpha` that scales an operand (add, sub, index_add) fits a result of dtype `result`: no
// floating alpha for integral results, no bool alpha but for bool ones.
void check_alpha(DType result, const Scalar& alpha);

// Checks a tensor is floating point (for ops PyTorch restricts, e.g. softmax on integers).
void require_floating(const Tensor& t, const char* what);

// An operand that must have another's dtype (a weight, a bias, a cell's state): no mixed-precision
// path. An absent one passes.
void require_same_dtype(const Tensor& t, const Tensor& reference);

// The int64 values of `t` when a check can read them now without waiting: a contiguous CPU tensor
// whose bytes are written (not the output of deferred work still to run); nullptr otherwise.
const int64_t* int64s_at_hand(const Tensor& t);

}  // namespace terra::rules
