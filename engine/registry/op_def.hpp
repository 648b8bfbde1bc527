// One op, one entry (DESIGN.md §4): schema, shape/dtype rule, effect class, fusion kind,
// gradient slot and kernels per device. The Python binding, tracing, the graph IR, autograd and
// error messages all read this entry; nothing else lists ops.
#pragma once
#include <array>
#include <atomic>
#include <functional>
#include <optional>
#include <vector>

#include "engine/autograd/grad_context.hpp"
#include "engine/registry/schema.hpp"
#include "kernels/kernel.hpp"

namespace terra {

enum class Effect {
  Pure,        // outputs depend only on inputs and attributes
  View,        // output 0 aliases input 0's storage
  InPlace,     // writes input `inplace_input`
  Random,      // draws from a generator
  SideEffect,  // anything else observable
};
const char* effect_name(Effect e);

// How the graph compiler may treat the op (read by fusion passes).
enum class FusionKind { Elementwise, Reduction, Opaque };

struct TensorMeta {
  Shape shape;
  DType dtype;
  Device device;
};

// What a shape rule decides, without touching data.
struct Inferred {
  std::vector<TensorMeta> outputs;
  // When not empty: the dtype each input must have when the kernel runs (type promotion); the
  // dispatcher converts inputs that differ. Entries for absent inputs are ignored.
  std::vector<DType> input_dtypes;
};

using InferFn = std::function<Inferred(const std::vector<Tensor>& inputs, const Attrs& attrs)>;

// Gradient formula, written with registered ops so backward passes trace like forward ones:
// returns one gradient per input (undefined where there is none). See grad_context.hpp.
using GradFn = std::function<TensorList(const GradContext& ctx)>;
enum class GradState { Undecided, NotDifferentiable, Formula };

struct OpDef {
  Schema schema;
  Effect effect = Effect::Pure;
  int inplace_input = -1;          // for Effect::InPlace
  FusionKind fusion = FusionKind::Opaque;
  InferFn infer;
  // The kernel creates its outputs (views, data-dependent shapes, Tensor[] results) instead of
  // the dispatcher allocating them from the inferred metas.
  bool kernel_makes_outputs = false;
  // copy_: `src` may be on another device than `self`; the dispatcher moves it over first
  // (a to_device call of its own, traced and differentiated like any other).
  bool copies_across_devices = false;
  // Writes each output element from the inputs' elements at its position (the elementwise ops,
  // copy_): the dispatcher refuses an output whose elements share memory or that overlaps an
  // input at other positions, where the result would depend on the kernel's order.
  bool writes_elementwise = false;
  // When set and true for a call's inputs, the output shapes depend on input data (nonzero,
  // masked_select, boolean indexing): deferred execution must run the op before handing it out.
  bool (*data_dependent)(const std::vector<Tensor>& inputs, const Attrs& attrs) = nullptr;
  // The kernel's checks of input values (class targets, embedding indices in range), callable
  // without the kernel: deferred execution runs them at the call when the values are at hand on
  // the host, so a bad index raises where eager mode raises it (Note [Checks at the call] in
  // engine/trace/session.cpp). Returns without a word when it cannot read the values.
  void (*check_data)(const std::vector<Tensor>& inputs, const Attrs& attrs) = nullptr;
  GradState grad_state = GradState::Undecided;
  GradFn grad;
  SaveSet saves;  // what the formula reads; everything else is dropped after the forward call
  // Outputs that carry gradients (bit i: output i); integer outputs never do.
  uint64_t differentiable_outputs = ~uint64_t{0};

  const std::string& name() const { return schema.name; }
  // The kernel for a device type, found in the kernel table on first use; nullptr when absent.
  KernelFn kernel(DeviceType device) const;

 private:
  mutable std::array<std::atomic<KernelFn>, kNumDeviceTypes> kernels_{};
};

}  // namespace terra
