// Registry entries of the basic creation ops (empty, zeros, ones, full). Without an explicit
// dtype, full() takes it from the fill value as PyTorch does (bool, int64 or the default float).
#include "engine/ops/rules.hpp"
#include "engine/registry/registry.hpp"

namespace terra {
namespace {

Inferred factory_rule(const std::vector<Tensor>&, const Attrs& attrs) {
  auto dt = attrs.opt<DType>("dtype");
  Inferred inf;
  inf.outputs.push_back(TensorMeta{rules::size_attr(attrs), dt ? *dt : default_float_dtype(), rules::device_attr(attrs)});
  return inf;
}

Inferred full_rule(const std::vector<Tensor>&, const Attrs& attrs) {
  auto dt = attrs.opt<DType>("dtype");
  DType dtype;
  if (dt) {
    dtype = *dt;
  } else {
    const Scalar v = attrs.get<Scalar>("fill_value");
    dtype = v.is_floating() ? default_float_dtype() : v.kind();
  }
  Inferred inf;
  inf.outputs.push_back(TensorMeta{rules::size_attr(attrs), dtype, rules::device_attr(attrs)});
  return inf;
}

}  // namespace

// No tensor inputs, so nothing to differentiate.
TERRA_OP("empty(int[] size, *, ScalarType? dtype=None, Device? device=None) -> Tensor")
    .infer(factory_rule)
    .not_differentiable();
TERRA_OP("zeros(int[] size, *, ScalarType? dtype=None, Device? device=None) -> Tensor")
    .infer(factory_rule)
    .not_differentiable();
TERRA_OP("ones(int[] size, *, ScalarType? dtype=None, Device? device=None) -> Tensor")
    .infer(factory_rule)
    .not_differentiable();
TERRA_OP("full(int[] size, Scalar fill_value, *, ScalarType? dtype=None, Device? device=None) -> Tensor")
    .infer(full_rule)
    .not_differentiable();

}  // namespace terra
