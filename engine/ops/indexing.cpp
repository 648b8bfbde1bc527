// Registry entries of the indexing ops: index_select, index_add, gather, scatter / scatter_value /
// scatter_add, index and index_put (advanced indexing, kernels/advanced_index.hpp), masked_fill,
// masked_select, nonzero and one_hot. Their CPU kernels are in kernels/cpu/indexing.cpp. The
// in-place forms (scatter_, index_add_, index_put_, masked_fill_, ...) are derived by the dispatcher.
//
// Gradients pair the ops up: what gathers (gather, index_select, index, masked_select) sends its
// gradient back with the matching scatter into zeros (scatter_add, index_put with accumulate), and
// what scatters sends the gradient of the written values back by gathering it (index_select and
// index_add are such a pair). The index tensors
// themselves never get a gradient.
#include <algorithm>

#include "engine/autograd/grad_helpers.hpp"
#include "engine/ops/formula_ops.hpp"
#include "engine/ops/rules.hpp"
#include "engine/registry/registry.hpp"
#include "kernels/advanced_index.hpp"

namespace terra {
namespace {

Inferred single(const Shape& shape, DType dtype, const Tensor& like) {
  Inferred inf;
  inf.outputs.push_back(TensorMeta{shape, dtype, like.device()});
  return inf;
}

// gather and scatter treat a 0-d tensor as one of shape [1].
int64_t dims_at_least_1(const Tensor& t) { return std::max<int64_t>(t.dim(), 1); }
int64_t size_at(const Tensor& t, int64_t d) { return t.dim() == 0 ? 1 : t.shape()[d]; }

Inferred index_select_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const Tensor& self = in[0];
  const Tensor& index = in[1];
  const int64_t dim = normalize_dim(attrs.get<int64_t>("dim"), self.dim());
  TERRA_CHECK(index.dtype() == DType::Int64 || index.dtype() == DType::Int32, Runtime,
              "index_select(): Expected dtype int32 or int64 for index");
  TERRA_CHECK(index.dim() <= 1, Index, "index_select(): Index is supposed to be a vector");
  Shape shape = self.shape();
  if (self.dim() > 0) shape[dim] = index.numel();
  return single(shape, self.dtype(), self);
}

// PyTorch names dtypes the legacy way in index_add's and index_put's messages ("Float", "Long").
const char* legacy_name(DType dt) {
  switch (dt) {
    case DType::Bool: return "Bool";
    case DType::Int32: return "Int";
    case DType::Int64: return "Long";
    case DType::Float32: return "Float";
    case DType::Float64: return "Double";
  }
  return "?";
}

// self[.., index[j], ..] += alpha * source[.., j, ..] along dim. source is shaped like self with
// dim's size replaced by the index's length (0-d self, source and index count as 1-d, as in
// PyTorch). PyTorch 1.13's CPU kernel also broadcasts the other dims of source; its documentation
// says they must match, and so they must here.
Inferred index_add_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const Tensor& self = in[0];
  const Tensor& index = in[1];
  const Tensor& source = in[2];
  const int64_t dim = normalize_dim(attrs.get<int64_t>("dim"), self.dim());
  TERRA_CHECK(index.dim() <= 1, Index, "index_add(): Index is supposed to be a vector");
  TERRA_CHECK(index.dtype() == DType::Int64 || index.dtype() == DType::Int32, Runtime,
              "index_add(): Expected dtype int32/int64 for index");
  TERRA_CHECK(source.dtype() == self.dtype(), Runtime, "index_add(): self (", legacy_name(self.dtype()),
              ") and source (", legacy_name(source.dtype()), ") must have the same scalar type");
  rules::check_alpha(self.dtype(), attrs.get<Scalar>("alpha"));
  TERRA_CHECK(dims_at_least_1(source) == dims_at_least_1(self), Runtime, "index_add(): source.dim() (",
              source.dim(), ") must be self.dim() (", self.dim(), "); 0-d and 1-d count as the same");
  TERRA_CHECK(index.numel() == size_at(source, dim), Runtime, "index_add(): Number of indices (", index.numel(),
              ") should be equal to source.size(dim) (", size_at(source, dim), ")");
  for (int64_t d = 0; d < dims_at_least_1(self); ++d)
    TERRA_CHECK(d == dim || size_at(source, d) == size_at(self, d), Runtime, "index_add(): source ",
                shape_str(source.shape()), " must match self ", shape_str(self.shape()), " in every dim but dim ", dim);
  return rules::like(self, self.dtype());
}

Inferred gather_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const Tensor& self = in[0];
  const Tensor& index = in[1];
  const int64_t dim = normalize_dim(attrs.get<int64_t>("dim"), self.dim());
  TERRA_CHECK(index.dtype() == DType::Int64, Runtime, "gather(): Expected dtype int64 for index");
  TERRA_CHECK(dims_at_least_1(self) == dims_at_least_1(index), Runtime,
              "Index tensor must have the same number of dimensions as input tensor");
  for (int64_t d = 0; d < index.dim(); ++d)
    TERRA_CHECK(d == dim || size_at(index, d) <= size_at(self, d), Runtime, "Size does not match at dimension ", d,
                " expected index ", shape_str(index.shape()), " to be smaller than self ", shape_str(self.shape()),
                " apart from dimension ", dim);
  return single(index.shape(), self.dtype(), self);
}

// scatter, scatter_add (with src) and scatter_value (without).
Inferred scatter_rule(const std::vector<Tensor>& in, const Attrs& attrs, const char* op) {
  const Tensor& self = in[0];
  const Tensor& index = in[1];
  const Tensor* src = in.size() > 2 ? &in[2] : nullptr;
  const int64_t dim = normalize_dim(attrs.get<int64_t>("dim"), self.dim());
  TERRA_CHECK(index.dtype() == DType::Int64, Runtime, op, "(): Expected dtype int64 for index");
  TERRA_CHECK(!src || src->dtype() == self.dtype(), Runtime, "scatter(): Expected self.dtype to be equal to src.dtype");
  TERRA_CHECK(dims_at_least_1(index) == dims_at_least_1(self), Runtime,
              "Index tensor must have the same number of dimensions as self tensor");
  TERRA_CHECK(!src || dims_at_least_1(index) == dims_at_least_1(*src), Runtime,
              "Index tensor must have the same number of dimensions as src tensor");
  for (int64_t d = 0; d < index.dim(); ++d) {
    const bool fits =
        (d == dim || size_at(index, d) <= size_at(self, d)) && (!src || size_at(index, d) <= size_at(*src, d));
    if (fits) continue;
    if (src)
      fail(ErrorKind::Runtime, "Expected index ", shape_str(index.shape()), " to be smaller than self ",
           shape_str(self.shape()), " apart from dimension ", dim, " and to be smaller size than src ",
           shape_str(src->shape()));
    fail(ErrorKind::Runtime, "Expected index ", shape_str(index.shape()), " to be smaller than self ",
         shape_str(self.shape()), " apart from dimension ", dim);
  }
  return rules::like(self, self.dtype());
}

Inferred index_rule(const std::vector<Tensor>& in, const Attrs&) {
  TERRA_CHECK(!in.empty() && in[0].defined(), Runtime, "index(): expected tensors = [self, index_0, ...]");
  const Tensor& self = in[0];
  auto entries = advanced_index::entries_from_meta(self.shape(), {in.begin() + 1, in.end()});
  return single(advanced_index::geometry(self.shape(), entries).result, self.dtype(), self);
}

Inferred index_put_rule(const std::vector<Tensor>& in, const Attrs&) {
  TERRA_CHECK(in.size() >= 2 && in[0].defined() && in[1].defined(), Runtime,
              "index_put(): expected tensors = [self, values, index_0, ...]");
  const Tensor& self = in[0];
  const Tensor& values = in[1];
  TERRA_CHECK(values.dtype() == self.dtype(), Runtime,
              "Index put requires the source and destination dtypes match, got ", legacy_name(self.dtype()),
              " for the destination and ", legacy_name(values.dtype()), " for the source.");
  auto entries = advanced_index::entries_from_meta(self.shape(), {in.begin() + 2, in.end()});
  const Shape result = advanced_index::geometry(self.shape(), entries).result;
  // With a bool mask the result's size is known only to the kernel, which checks then.
  if (std::find(result.begin(), result.end(), -1) == result.end())
    advanced_index::check_values_fit(values.shape(), result);
  return rules::like(self, self.dtype());
}

Inferred masked_fill_rule(const std::vector<Tensor>& in, const Attrs&) {
  TERRA_CHECK(in[1].dtype() == DType::Bool, Runtime,
              "masked_fill_ only supports boolean masks, but got mask with dtype ", dtype_name(in[1].dtype()));
  return single(broadcast_shapes(in[0].shape(), in[1].shape()), in[0].dtype(), in[0]);
}

Inferred masked_select_rule(const std::vector<Tensor>& in, const Attrs&) {
  TERRA_CHECK(in[1].dtype() == DType::Bool, Runtime, "masked_select: expected BoolTensor or ByteTensor for mask");
  broadcast_shapes(in[0].shape(), in[1].shape());
  return single({-1}, in[0].dtype(), in[0]);
}

Inferred nonzero_rule(const std::vector<Tensor>& in, const Attrs&) {
  return single({-1, in[0].dim()}, DType::Int64, in[0]);
}

Inferred one_hot_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const Tensor& self = in[0];
  const int64_t classes = attrs.get<int64_t>("num_classes");
  TERRA_CHECK(self.dtype() == DType::Int64, Runtime, "one_hot is only applicable to index tensor.");
  TERRA_CHECK(self.numel() > 0 || classes > 0, Runtime, "Can not infer total number of classes from empty tensor.");
  Shape shape = self.shape();
  shape.push_back(classes >= 0 ? classes : -1);
  return single(shape, DType::Int64, self);
}

// ---- gradients ----

Tensor zero_scalar(const Tensor& like) { return grad::zeros({}, like); }

// A gradient gathered at the positions of `index` (shaped like it), placed in zeros shaped like
// `src` when src is larger than the index (scatter reads only src's leading part).
Tensor grad_of_src(const GradContext& c, const Tensor& index, const Shape& src) {
  Tensor g = call1("gather", {c.grad(), index}, {{"dim", c.attrs["dim"]}});
  if (g.shape() == src) return g;
  if (g.dim() != static_cast<int64_t>(src.size()))  // a 0-d index with a 1-element src, or back
    g = call1("reshape", {g}, {{"shape", std::vector<int64_t>(src.size(), 1)}});
  if (g.shape() == src) return g;
  Tensor out = grad::zeros(src, g);
  Tensor part = out;
  for (int64_t d = 0; d < g.dim(); ++d)
    if (g.size(d) != src[d]) part = call1("narrow", {part}, {{"dim", d}, {"start", 0}, {"length", g.size(d)}});
  call_inplace("copy_", {part, g});
  return out;
}

// The gradient with the scattered positions zeroed (they were overwritten).
Tensor zero_scattered(const GradContext& c, const Tensor& index) {
  return call1("scatter_value", {c.grad(), index}, {{"dim", c.attrs["dim"]}, {"value", Scalar(0.0)}});
}

TensorList gather_grad(const GradContext& c) {
  const Tensor& g = c.grad();
  return {call1("scatter_add", {grad::zeros(c.input_shape(0), g), c.input(1), g}, {{"dim", c.attrs["dim"]}}),
          Tensor()};
}

TensorList scatter_grad(const GradContext& c) {
  return {c.needs(0) ? zero_scattered(c, c.input(1)) : Tensor(), Tensor(),
          c.needs(2) ? grad_of_src(c, c.input(1), c.input_shape(2)) : Tensor()};
}

TensorList scatter_add_grad(const GradContext& c) {
  return {c.grad(), Tensor(), c.needs(2) ? grad_of_src(c, c.input(1), c.input_shape(2)) : Tensor()};
}

TensorList index_select_grad(const GradContext& c) {
  const Tensor& g = c.grad();
  const Shape& self = c.input_shape(0);
  if (self.empty()) return {g, Tensor()};  // a 0-d self: the result is self
  return {call1("index_add", {grad::zeros(self, g), c.input(1), g}, {{"dim", c.attrs["dim"]}}), Tensor()};
}

// source's gradient is the gradient at the positions it was added to, times alpha; shaped like
// source where a 0-d self or source gives it another rank (its element count is the index's).
TensorList index_add_grad(const GradContext& c) {
  const Tensor& g = c.grad();
  if (!c.needs(2)) return {g, Tensor(), Tensor()};
  const Shape& source = c.input_shape(2);
  Tensor gs = call1("index_select", {g, c.input(1)}, {{"dim", c.attrs["dim"]}});
  if (gs.shape() != source)
    gs = gs.numel() == shape_numel(source) ? call1("reshape", {gs}, {{"shape", grad::dims_of(source)}})
                                           : call1("expand", {gs}, {{"size", grad::dims_of(source)}});
  const double alpha = c.attrs.get<Scalar>("alpha").as_double();
  if (alpha != 1.0) gs = formula::mul(gs, alpha);
  return {g, Tensor(), gs};
}

// tensors = [self, i_0, ...]: the gradient accumulated at the indexed positions.
TensorList index_grad(const GradContext& c) {
  const Tensor& g = c.grad();
  TensorList args{grad::zeros(c.input_shape(0), g), g};
  for (size_t i = 1; i < c.num_inputs(); ++i) args.push_back(c.input(i));
  TensorList r(c.num_inputs());
  r[0] = call1("index_put", args, {{"accumulate", true}});
  return r;
}

// tensors = [self, values, i_0, ...].
TensorList index_put_grad(const GradContext& c) {
  const Tensor& g = c.grad();
  TensorList indices;
  for (size_t i = 2; i < c.num_inputs(); ++i) indices.push_back(c.input(i));
  TensorList r(c.num_inputs());
  if (c.needs(0)) {
    if (c.attrs.get<bool>("accumulate")) {
      r[0] = g;
    } else {
      TensorList args{g, zero_scalar(g)};
      args.insert(args.end(), indices.begin(), indices.end());
      r[0] = call1("index_put", args);
    }
  }
  if (c.needs(1)) {
    TensorList args{g};
    args.insert(args.end(), indices.begin(), indices.end());
    r[1] = grad::sum_to(call1("index", args), c.input_shape(1));
  }
  return r;
}

TensorList masked_fill_grad(const GradContext& c) {
  Tensor g = call1("masked_fill", {c.grad(), c.input(1)}, {{"value", Scalar(0.0)}});
  return {grad::sum_to(g, c.input_shape(0)), Tensor()};
}

// masked_scatter into zeros: index_put with the mask (broadcast to the result's shape) as the
// index puts the values back in the row-major order masked_select took them in.
TensorList masked_select_grad(const GradContext& c) {
  const Tensor& g = c.grad();
  Tensor mask = c.input(1);
  Shape shape = broadcast_shapes(c.input_shape(0), mask.shape());
  if (shape.empty()) {  // a 0-d mask is no index: use a 1-element one
    shape = {1};
    mask = call1("reshape", {mask}, {{"shape", {1}}});
  } else if (mask.shape() != shape) {
    mask = call1("expand", {mask}, {{"size", grad::dims_of(shape)}});
  }
  return {grad::sum_to(call1("index_put", {grad::zeros(shape, g), g, mask}), c.input_shape(0)), Tensor()};
}

// Output shapes that depend on the data (DESIGN.md §9: such an op is a sync point when deferred).
bool always(const std::vector<Tensor>&, const Attrs&) { return true; }
bool any_boolean_index(const std::vector<Tensor>& tensors, const Attrs&) {
  for (size_t i = 1; i < tensors.size(); ++i)
    if (tensors[i].defined() && tensors[i].dtype() == DType::Bool) return true;
  return false;
}
bool classes_from_data(const std::vector<Tensor>&, const Attrs& attrs) { return attrs.get<int64_t>("num_classes") < 0; }

}  // namespace

TERRA_OP("index_select(Tensor self, int dim, Tensor index) -> Tensor")
    .infer(index_select_rule)
    .grad(index_select_grad, SaveSet::only_inputs({1}));
// Duplicate indices add up.
TERRA_OP("index_add(Tensor self, int dim, Tensor index, Tensor source, *, Scalar alpha=1) -> Tensor")
    .infer(index_add_rule)
    .grad(index_add_grad, SaveSet::only_inputs({1}));
TERRA_OP("gather(Tensor self, int dim, Tensor index) -> Tensor")
    .infer(gather_rule)
    .grad(gather_grad, SaveSet::only_inputs({1}));
TERRA_OP("scatter(Tensor self, int dim, Tensor index, Tensor src) -> Tensor")
    .infer([](const std::vector<Tensor>& in, const Attrs& a) { return scatter_rule(in, a, "scatter"); })
    .grad(scatter_grad, SaveSet::only_inputs({1}));
// PyTorch's scatter.value overload.
TERRA_OP("scatter_value(Tensor self, int dim, Tensor index, Scalar value) -> Tensor")
    .infer([](const std::vector<Tensor>& in, const Attrs& a) { return scatter_rule(in, a, "scatter"); })
    .grad([](const GradContext& c) -> TensorList { return {zero_scattered(c, c.input(1)), Tensor()}; },
          SaveSet::only_inputs({1}));
TERRA_OP("scatter_add(Tensor self, int dim, Tensor index, Tensor src) -> Tensor")
    .infer([](const std::vector<Tensor>& in, const Attrs& a) { return scatter_rule(in, a, "scatter_add"); })
    .grad(scatter_add_grad, SaveSet::only_inputs({1}));
// x[i_0, i_1, ...] with tensors = [x, i_0, i_1, ...]: int64 index tensors (broadcast together) or
// bool masks (standing for their nonzero positions); an undefined tensor leaves its dim whole.
// The result's shape depends on the data when a mask is given.
TERRA_OP("index(Tensor[] tensors) -> Tensor")
    .infer(index_rule)
    .makes_outputs()
    .data_dependent(any_boolean_index)
    .grad(index_grad, SaveSet{~uint64_t{1}, 0});  // the indices
// x[i_0, i_1, ...] = values with tensors = [x, values, i_0, i_1, ...] (indices as for index);
// accumulate=True adds values, summing over duplicate indices.
TERRA_OP("index_put(Tensor[] tensors, bool accumulate=False) -> Tensor")
    .infer(index_put_rule)
    .grad(index_put_grad, SaveSet{~uint64_t{3}, 0});  // the indices
TERRA_OP("masked_fill(Tensor self, Tensor mask, Scalar value) -> Tensor")
    .infer(masked_fill_rule)
    .grad(masked_fill_grad, SaveSet::only_inputs({1}));
TERRA_OP("masked_select(Tensor self, Tensor mask) -> Tensor")
    .infer(masked_select_rule)
    .makes_outputs()
    .data_dependent(always)
    .grad(masked_select_grad, SaveSet::only_inputs({1}));
TERRA_OP("nonzero(Tensor self) -> Tensor").infer(nonzero_rule).makes_outputs().data_dependent(always).not_differentiable();
TERRA_OP("one_hot(Tensor self, int num_classes=-1) -> Tensor")
    .infer(one_hot_rule)
    .makes_outputs()
    .data_dependent(classes_from_data)
    .not_differentiable();

}  // namespace terra
