// as_strided_scatter: a copy of `self` with the strided window (size, stride, storage_offset
// counted in a contiguous layout of self) replaced by `src`. It is what autograd records when a
// view is changed in place (the base's new value) and the gradient of as_strided.
#include "engine/autograd/grad_helpers.hpp"
#include "engine/registry/registry.hpp"

namespace terra {
namespace {

struct Window {
  Shape size;
  Strides stride;
  int64_t offset;
};

Window window_of(const Attrs& a) {
  const auto& size = a.get<std::vector<int64_t>>("size");
  const auto& stride = a.get<std::vector<int64_t>>("stride");
  TERRA_CHECK(size.size() == stride.size(), Runtime, "mismatch in length of strides and shape");
  return {Shape(size.begin(), size.end()), Strides(stride.begin(), stride.end()),
          a.is_none("storage_offset") ? 0 : a.get<int64_t>("storage_offset")};
}

Inferred as_strided_scatter_rule(const std::vector<Tensor>& in, const Attrs& a) {
  Window w = window_of(a);
  TERRA_CHECK(in[1].shape() == w.size, Runtime, "expected src to have a size equal to the slice of self. src size = ",
              shape_str(in[1].shape()), ", slice size = ", shape_str(w.size));
  int64_t last = w.offset;
  for (size_t i = 0; i < w.size.size(); ++i) {
    TERRA_CHECK(w.stride[i] >= 0, Runtime, "as_strided_scatter: negative strides are not supported");
    if (w.size[i] > 0) last += (w.size[i] - 1) * w.stride[i];
  }
  TERRA_CHECK(w.offset >= 0 && (shape_numel(w.size) == 0 || last < in[0].numel()), Runtime,
              "as_strided_scatter: the window ", shape_str(w.size), " with strides ", shape_str(w.stride),
              " at offset ", w.offset, " does not fit in a tensor of ", in[0].numel(), " elements");
  Inferred inf;
  DType dtype = in[0].dtype();
  inf.outputs.push_back({in[0].shape(), dtype, in[0].device()});
  inf.input_dtypes = {dtype, dtype};
  return inf;
}

void as_strided_scatter_composite(KernelCall& c) {
  Window w = window_of(c.attrs);
  Tensor out = Tensor::empty(c.inputs[0].shape(), c.inputs[0].dtype(), c.inputs[0].device());
  call_inplace("copy_", {out, c.inputs[0]});
  call_inplace("copy_", {out.as_strided(w.size, w.stride, w.offset), c.inputs[1]});
  c.outputs = {out};
}

TensorList as_strided_scatter_grad(const GradContext& c) {
  Tensor g = call1("contiguous", {c.grad()});
  TensorList r(2);
  if (c.needs(0))
    r[0] = call1("as_strided_scatter", {g, grad::zeros(c.input_shape(1), g)},
                 {{"size", c.attrs["size"]}, {"stride", c.attrs["stride"]}, {"storage_offset", c.attrs["storage_offset"]}});
  if (c.needs(1)) {
    Window w = window_of(c.attrs);
    r[1] = call1("as_strided", {g}, {{"size", grad::dims_of(w.size)}, {"stride", grad::dims_of(w.stride)},
                                     {"storage_offset", g.offset() + w.offset}});
  }
  return r;
}

}  // namespace

TERRA_OP("as_strided_scatter(Tensor self, Tensor src, int[] size, int[] stride, int? storage_offset=None) -> Tensor")
    .infer(as_strided_scatter_rule)
    .makes_outputs()
    .grad(as_strided_scatter_grad, SaveSet::none());
TERRA_COMPOSITE_KERNEL(as_strided_scatter, as_strided_scatter_composite);

}  // namespace terra
