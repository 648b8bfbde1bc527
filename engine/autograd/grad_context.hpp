// What a gradient formula sees (DESIGN.md §4: formulas are written as calls to registered ops, so
// a backward pass records, traces and compiles like a forward one).
//
//   TERRA_OP("mul(Tensor self, Tensor other) -> Tensor")...
//       .grad([](const GradContext& c) -> TensorList {
//         return {c.needs(0) ? sum_to(mul(c.grad(0), c.input(1)), c.input_shape(0)) : Tensor(), ...};
//       });
//
// A formula returns one entry per tensor input; an undefined Tensor means "no gradient".
// Gradients must have their input's shape; dtypes are converted by the engine.
#pragma once
#include <array>
#include <vector>

#include "kernels/attrs.hpp"
#include "tensor/tensor.hpp"

namespace terra {

using TensorList = std::vector<Tensor>;

struct InputMeta {
  Shape shape;
  DType dtype = DType::Float32;
  Device device;
  bool defined = false;
  int64_t storage_offset = 0;  // for view gradients (as_strided)
  bool contiguous = true;
};

struct GradContext {
  const TensorList& inputs;        // saved inputs (undefined where the op's SaveSet leaves them out)
  const TensorList& outputs;       // saved outputs (likewise)
  const TensorList& grads;         // one per output; undefined where no gradient flowed
  const Attrs& attrs;
  const std::vector<InputMeta>& metas;     // every input's shape and dtype, always kept
  const std::vector<bool>& needs_grad;     // per input: is its gradient wanted

  const Tensor& input(size_t i) const;
  const Tensor& output(size_t i) const;
  const Tensor& grad(size_t i = 0) const { return grads.at(i); }
  const Shape& input_shape(size_t i) const { return metas.at(i).shape; }
  DType input_dtype(size_t i) const { return metas.at(i).dtype; }
  bool needs(size_t i) const { return i < needs_grad.size() && needs_grad[i]; }
  size_t num_inputs() const { return metas.size(); }
};

// Which tensors an op keeps for its gradient; the rest are dropped right after the forward call.
struct SaveSet {
  uint64_t inputs = ~uint64_t{0};   // bit i: keep input i
  uint64_t outputs = ~uint64_t{0};  // bit k: keep output k
  static SaveSet all() { return {}; }
  static SaveSet none() { return {0, 0}; }
  static SaveSet only_inputs(std::initializer_list<int> which) {
    SaveSet s{0, 0};
    for (int i : which) s.inputs |= uint64_t{1} << i;
    return s;
  }
  static SaveSet only_outputs() { return {0, ~uint64_t{0}}; }
  static SaveSet only_outputs(std::initializer_list<int> which) {
    SaveSet s{0, 0};
    for (int k : which) s.outputs |= uint64_t{1} << k;
    return s;
  }
  SaveSet& with_outputs() { outputs = ~uint64_t{0}; return *this; }
  // Inputs not kept when the call's bool attribute `attr` is true (batch_norm's running
  // statistics in training mode, which the call itself overwrites).
  SaveSet& except_when(const char* attr, std::initializer_list<int> which) {
    dropped_when = attr;
    for (int i : which) dropped_inputs |= uint64_t{1} << i;
    return *this;
  }
  // Inputs kept only when another input needs a gradient, the one that reads them (mul's operands:
  // `x[1:3] * 0.5` keeps nothing of x, so x may be changed in place before backward(), as in
  // PyTorch).
  SaveSet& only_for_others(std::initializer_list<int> which) {
    for (int i : which) readers.at(i) = ~(uint64_t{1} << i);
    return *this;
  }
  // Input i kept only when one of `gradients` (input indices) is needed: linear's weight is read
  // by the input's gradient, not by the bias's.
  SaveSet& only_for(int i, std::initializer_list<int> gradients) {
    for (int j : gradients) readers.at(i) |= uint64_t{1} << j;
    return *this;
  }
  bool keeps_input(size_t i) const { return i < 64 && ((inputs >> i) & 1); }
  bool keeps_input(size_t i, const Attrs& attrs) const {
    return keeps_input(i) && !(((dropped_inputs >> i) & 1) && attrs.get<bool>(dropped_when));
  }

  const char* dropped_when = nullptr;
  uint64_t dropped_inputs = 0;
  std::array<uint64_t, 4> readers{};  // per input: the gradients that read it (0: kept for all)
  bool keeps_output(size_t k) const { return k >= 64 ? outputs == ~uint64_t{0} : ((outputs >> k) & 1); }
};

}  // namespace terra
