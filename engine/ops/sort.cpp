// Registry entries of sort, argsort and topk. argsort is a composite of sort (its indices); sort
// and topk have CPU kernels in kernels/cpu/sort.cpp. The values of sort and topk carry a gradient
// (sent back to where each value came from, by its index); the indices do not.
#include "engine/autograd/grad_helpers.hpp"
#include "engine/ops/rules.hpp"

namespace terra {
namespace {

Inferred values_and_indices(const Shape& shape, const Tensor& self) {
  Inferred inf;
  inf.outputs.push_back(TensorMeta{shape, self.dtype(), self.device()});
  inf.outputs.push_back(TensorMeta{shape, DType::Int64, self.device()});
  return inf;
}

Inferred sort_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  normalize_dim(attrs.get<int64_t>("dim"), in[0].dim());
  return values_and_indices(in[0].shape(), in[0]);
}

Inferred argsort_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  normalize_dim(attrs.get<int64_t>("dim"), in[0].dim());
  return rules::like(in[0], DType::Int64);
}

void argsort_kernel(KernelCall& c) {
  const auto& a = c.attrs;
  c.outputs = {call("sort", {c.inputs[0]},
                    {{"dim", a.get<int64_t>("dim")},
                     {"descending", a.get<bool>("descending")},
                     {"stable", a.get<bool>("stable")}})[1]};
}

Inferred topk_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const Tensor& self = in[0];
  const int64_t dim = normalize_dim(attrs.get<int64_t>("dim"), self.dim());
  TERRA_CHECK(self.dtype() != DType::Bool, Runtime, "\"topk_cpu\" not implemented for 'Bool'");
  const int64_t k = attrs.get<int64_t>("k"), size = self.dim() == 0 ? 1 : self.shape()[dim];
  TERRA_CHECK(k >= 0 && k <= size, Runtime, "selected index k out of range");
  Shape shape = self.shape();
  if (self.dim() > 0) shape[dim] = k;
  return values_and_indices(shape, self);
}

// sort and topk: each value's gradient goes to the position its index names.
TensorList scatter_by_indices(const GradContext& c) {
  const Tensor& g = c.grad(0);
  return {call1("scatter", {grad::zeros(c.input_shape(0), g), c.output(1), g}, {{"dim", c.attrs["dim"]}})};
}

}  // namespace

// NaN sorts as the largest value. Ties keep their input order whatever `stable` says.
TERRA_OP("sort(Tensor self, int dim=-1, bool descending=False, bool stable=False) -> (Tensor values, Tensor indices)")
    .infer(sort_rule)
    .differentiable_outputs({0})
    .grad(scatter_by_indices, SaveSet::only_outputs({1}));
TERRA_OP("argsort(Tensor self, int dim=-1, bool descending=False, bool stable=False) -> Tensor")
    .infer(argsort_rule)
    .makes_outputs()
    .not_differentiable();
TERRA_COMPOSITE_KERNEL(argsort, argsort_kernel);
// Results come sorted whatever `sorted` says; equal values are taken lower index first.
TERRA_OP("topk(Tensor self, int k, int dim=-1, bool largest=True, bool sorted=True) -> (Tensor values, Tensor indices)")
    .infer(topk_rule)
    .differentiable_outputs({0})
    .grad(scatter_by_indices, SaveSet::only_outputs({1}));

}  // namespace terra
