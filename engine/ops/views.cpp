// Registry entries of the view ops. Their shape rules are the view computations themselves
// (kernels/views.hpp), so every error is raised before anything runs and the rule and the kernel
// cannot disagree.
#include <algorithm>

#include "engine/registry/registry.hpp"
#include "engine/autograd/grad_helpers.hpp"
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

using grad::dims_of;

// Whether two elements of a (size, stride) view may be one element of memory: dims by increasing
// stride, each must step past everything the smaller ones reach (PyTorch's
// _maybe_overlapping_memory; dims of size 1 never step).
bool may_overlap(const std::vector<int64_t>& size, const std::vector<int64_t>& stride) {
  std::vector<size_t> order;
  for (size_t d = 0; d < size.size(); ++d)
    if (size[d] > 1) order.push_back(d);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return stride[a] < stride[b]; });
  int64_t reach = 0;
  for (size_t d : order) {
    if (stride[d] <= reach) return true;
    reach += stride[d] * (size[d] - 1);
  }
  return false;
}

// The gradient of an overlapping as_strided view of a contiguous input: each element's gradient
// added at its memory position (index_add sums repeats, where as_strided_scatter would keep one).
Tensor accumulate_strided(const Tensor& g, const InputMeta& in, const std::vector<int64_t>& size,
                          const std::vector<int64_t>& stride, int64_t offset) {
  auto index_scalar = [](int64_t v) { return Tensor::wrap_scalar(static_cast<double>(v), DType::Int64); };
  Tensor position = index_scalar(offset);
  for (size_t d = 0; d < size.size(); ++d) {
    std::vector<int64_t> along(size.size(), 1);
    along[d] = size[d];
    Tensor steps = call1("arange", {}, {{"start", Scalar(int64_t{0})}, {"end", Scalar(size[d])},
                                        {"dtype", DType::Int64}, {"device", g.device()}});
    steps = call1("mul", {call1("reshape", {steps}, {{"shape", along}}), index_scalar(stride[d])});
    position = call1("add", {steps, position});
  }
  const std::vector<int64_t> flat{-1};
  int64_t numel = 1;
  for (int64_t n : in.shape) numel *= n;
  Tensor sums = call1("index_add", {grad::zeros(Shape{numel}, g), call1("reshape", {position}, {{"shape", flat}}),
                                    call1("reshape", {g}, {{"shape", flat}})},
                      {{"dim", 0}});
  return call1("reshape", {sums}, {{"shape", dims_of(in.shape)}});
}

Tensor reshape_to_input(const GradContext& c) { return call1("reshape", {c.grad()}, {{"shape", dims_of(c.input_shape(0))}}); }

const bool registered = [] {
  struct Entry {
    const char* schema;
    InferFn rule;
    std::function<Tensor(const GradContext&)> grad;
  };
  const Entry entries[] = {
      {"view(Tensor self, int[] size) -> Tensor", view_rule<views::view>, reshape_to_input},
      {"reshape(Tensor self, int[] shape) -> Tensor", reshape_rule, reshape_to_input},
      {"permute(Tensor self, int[] dims) -> Tensor", view_rule<views::permute>,
       [](const GradContext& c) {
         const auto& dims = c.attrs.get<std::vector<int64_t>>("dims");
         const auto ndim = static_cast<int64_t>(dims.size());
         std::vector<int64_t> inverse(dims.size());
         for (int64_t i = 0; i < ndim; ++i) inverse[normalize_dim(dims[i], ndim)] = i;
         return call1("permute", {c.grad()}, {{"dims", inverse}});
       }},
      {"transpose(Tensor self, int dim0, int dim1) -> Tensor", view_rule<views::transpose>,
       [](const GradContext& c) {
         return call1("transpose", {c.grad()}, {{"dim0", c.attrs.get<int64_t>("dim0")}, {"dim1", c.attrs.get<int64_t>("dim1")}});
       }},
      {"expand(Tensor self, int[] size) -> Tensor", view_rule<views::expand>,
       [](const GradContext& c) { return grad::sum_to(c.grad(), c.input_shape(0)); }},
      {"squeeze(Tensor self, int[]? dim=None) -> Tensor", view_rule<views::squeeze>, reshape_to_input},
      {"unsqueeze(Tensor self, int dim) -> Tensor", view_rule<views::unsqueeze>, reshape_to_input},
      {"flatten(Tensor self, int start_dim=0, int end_dim=-1) -> Tensor", view_rule<views::flatten>, reshape_to_input},
      {"narrow(Tensor self, int dim, int start, int length) -> Tensor", view_rule<views::narrow>,
       [](const GradContext& c) {
         return grad::view_scatter("narrow", c.grad(), c.metas[0],
                                   {{"dim", c.attrs["dim"]}, {"start", c.attrs["start"]}, {"length", c.attrs["length"]}});
       }},
      {"slice(Tensor self, int dim=0, int? start=None, int? end=None, int step=1) -> Tensor", view_rule<views::slice>,
       [](const GradContext& c) {
         return grad::view_scatter("slice", c.grad(), c.metas[0],
                                   {{"dim", c.attrs["dim"]}, {"start", c.attrs["start"]}, {"end", c.attrs["end"]},
                                    {"step", c.attrs["step"]}});
       }},
      {"select(Tensor self, int dim, int index) -> Tensor", view_rule<views::select>,
       [](const GradContext& c) {
         return grad::view_scatter("select", c.grad(), c.metas[0], {{"dim", c.attrs["dim"]}, {"index", c.attrs["index"]}});
       }},
      // storage_offset is absolute; relative to a contiguous input it is offset - input offset.
      {"as_strided(Tensor self, int[] size, int[] stride, int? storage_offset=None) -> Tensor",
       view_rule<views::as_strided>,
       [](const GradContext& c) {
         const InputMeta& in = c.metas[0];
         TERRA_CHECK(in.contiguous, NotImplemented, "the gradient of as_strided on a non-contiguous tensor");
         int64_t offset = c.attrs.is_none("storage_offset") ? 0 : c.attrs.get<int64_t>("storage_offset") - in.storage_offset;
         const auto& size = c.attrs.get<std::vector<int64_t>>("size");
         const auto& stride = c.attrs.get<std::vector<int64_t>>("stride");
         Tensor g = call1("contiguous", {c.grad()});
         if (may_overlap(size, stride)) return accumulate_strided(g, in, size, stride, offset);
         return call1("as_strided_scatter", {grad::zeros(in.shape, g), g},
                      {{"size", c.attrs["size"]}, {"stride", c.attrs["stride"]}, {"storage_offset", offset}});
       }},
      {"alias(Tensor self) -> Tensor", view_rule<views::alias>, [](const GradContext& c) { return c.grad(); }},
  };
  for (const Entry& e : entries) {
    auto formula = e.grad;
    OpRegistrar(e.schema)
        .infer(e.rule)
        .effect(Effect::View)
        .makes_outputs()
        .grad([formula](const GradContext& c) -> TensorList { return {formula(c)}; }, SaveSet::none());
  }
  return true;
}();

}  // namespace
}  // namespace terra
