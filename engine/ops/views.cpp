// Registry entries of the view ops. Their shape rules are the view computations themselves
// (kernels/views.hpp), so every error is raised before anything runs and the rule and the kernel
// cannot disagree.
#include "engine/registry/registry.hpp"
#include "kernels/views.hpp"

namespace terra {
namespace {

template <views::ViewSpec (*F)(const Tensor&, const Attrs&)>
Inferred view_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  Inferred inf;
  inf.outputs.push_back(TensorMeta{F(in[0], attrs).shape, in[0].dtype(), in[0].device()});
  return inf;
}

Inferred reshape_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  Inferred inf;
  inf.outputs.push_back(
      TensorMeta{views::infer_size(attrs.get<std::vector<int64_t>>("shape"), in[0].numel()), in[0].dtype(), in[0].device()});
  return inf;
}

const bool registered = [] {
  const std::pair<const char*, InferFn> entries[] = {
      {"view(Tensor self, int[] size) -> Tensor", view_rule<views::view>},
      {"reshape(Tensor self, int[] shape) -> Tensor", reshape_rule},
      {"permute(Tensor self, int[] dims) -> Tensor", view_rule<views::permute>},
      {"transpose(Tensor self, int dim0, int dim1) -> Tensor", view_rule<views::transpose>},
      {"expand(Tensor self, int[] size) -> Tensor", view_rule<views::expand>},
      {"squeeze(Tensor self, int[]? dim=None) -> Tensor", view_rule<views::squeeze>},
      {"unsqueeze(Tensor self, int dim) -> Tensor", view_rule<views::unsqueeze>},
      {"flatten(Tensor self, int start_dim=0, int end_dim=-1) -> Tensor", view_rule<views::flatten>},
      {"narrow(Tensor self, int dim, int start, int length) -> Tensor", view_rule<views::narrow>},
      {"slice(Tensor self, int dim=0, int? start=None, int? end=None, int step=1) -> Tensor", view_rule<views::slice>},
      {"select(Tensor self, int dim, int index) -> Tensor", view_rule<views::select>},
      {"as_strided(Tensor self, int[] size, int[] stride, int? storage_offset=None) -> Tensor",
       view_rule<views::as_strided>},
      {"alias(Tensor self) -> Tensor", view_rule<views::alias>},
  };
  for (const auto& [schema, rule] : entries) OpRegistrar(schema).infer(rule).effect(Effect::View).makes_outputs();
  return true;
}();

}  // namespace
}  // namespace terra
