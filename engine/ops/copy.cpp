// Registry entries for moving values between tensors: dtype conversion, copy_ (any dtype and
// stride into any), clone, contiguous, fill_. The dispatcher's type promotion relies on to_dtype.
#include "engine/autograd/grad_helpers.hpp"
#include "engine/ops/rules.hpp"
#include "engine/registry/registry.hpp"

namespace terra {
namespace {

Inferred to_dtype_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  return rules::like(in[0], attrs.get<DType>("dtype"));
}

Inferred copy_rule(const std::vector<Tensor>& in, const Attrs&) {
  const Tensor& self = in[0];
  const Tensor& src = in[1];
  // src must broadcast to self's shape (not the other way round).
  broadcast_strides(src.shape(), src.strides(), self.shape());
  return rules::like(self, self.dtype());
}

Inferred same_rule(const std::vector<Tensor>& in, const Attrs&) { return rules::like(in[0], in[0].dtype()); }

Inferred fill_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const Scalar v = attrs.get<Scalar>("value");
  TERRA_CHECK(!(is_integral(in[0].dtype(), true) && v.is_floating() && v.as_double() != static_cast<double>(v.as_int())),
              Runtime, "value cannot be converted to type ", dtype_name(in[0].dtype()), " without overflow");
  return rules::like(in[0], in[0].dtype());
}

}  // namespace

TERRA_OP("to_dtype(Tensor self, ScalarType dtype) -> Tensor")
    .infer(to_dtype_rule)
    .fusion(FusionKind::Elementwise)
    .grad([](const GradContext& c) -> TensorList { return {c.grad()}; }, SaveSet::none());  // cast back by the engine
// self is overwritten (no gradient); src's gradient is summed over the dims it was broadcast along.
TERRA_OP("copy_(Tensor self, Tensor src, bool non_blocking=False) -> Tensor")
    .infer(copy_rule)
    .effect(Effect::InPlace, 0)
    .writes_elementwise()
    .copies_across_devices()
    .grad([](const GradContext& c) -> TensorList { return {Tensor(), grad::sum_to(c.grad(), c.input_shape(1))}; },
          SaveSet::none());
TERRA_OP("clone(Tensor self) -> Tensor")
    .infer(same_rule)
    .fusion(FusionKind::Elementwise)
    .grad([](const GradContext& c) -> TensorList { return {c.grad()}; }, SaveSet::none());
// Returns self when it is already contiguous, a contiguous copy otherwise.
TERRA_OP("contiguous(Tensor self) -> Tensor")
    .infer(same_rule)
    .makes_outputs()
    .grad([](const GradContext& c) -> TensorList { return {c.grad()}; }, SaveSet::none());
TERRA_OP("fill_(Tensor self, Scalar value) -> Tensor")
    .infer(fill_rule)
    .effect(Effect::InPlace, 0)
    .grad([](const GradContext&) -> TensorList { return {Tensor()}; }, SaveSet::none());

}  // namespace terra
