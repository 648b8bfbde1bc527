#include "engine/autograd/grad_helpers.hpp"

namespace terra::grad {

Tensor sum_to(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  const int64_t lead = g.dim() - static_cast<int64_t>(shape.size());
  std::vector<int64_t> dims;
  for (int64_t d = 0; d < g.dim(); ++d)
    if (d < lead || (shape[d - lead] == 1 && g.size(d) != 1)) dims.push_back(d);
  if (dims.empty()) return call1("reshape", {g}, {{"shape", dims_of(shape)}});
  // One op where it can be: a bias's gradient drops the leading dims, which keepdim=false does.
  Shape dropped;
  for (int64_t d = 0, k = 0; d < g.dim(); ++d) {
    if (k < static_cast<int64_t>(dims.size()) && dims[k] == d) ++k;
    else dropped.push_back(g.size(d));
  }
  if (dropped == shape) return call1("sum", {g}, {{"dim", dims}, {"keepdim", false}});
  Tensor r = call1("sum", {g}, {{"dim", dims}, {"keepdim", true}});
  return r.shape() == shape ? r : call1("reshape", {r}, {{"shape", dims_of(shape)}});
}

namespace {
Tensor filled_like(const char* factory, const Shape& shape, const Tensor& like) {
  return call1(factory, {}, {{"size", dims_of(shape)}, {"dtype", like.dtype()}, {"device", like.device()}});
}
}  // namespace

Tensor zeros(const Shape& shape, const Tensor& like) { return filled_like("zeros", shape, like); }
Tensor ones(const Shape& shape, const Tensor& like) { return filled_like("ones", shape, like); }

Tensor view_scatter(const char* view_op, const Tensor& g, const InputMeta& input, const NamedAttrs& attrs) {
  Tensor z = zeros(input.shape, g);
  Tensor v = call1(view_op, {z}, attrs);
  call_inplace("copy_", {v, g});
  return z;
}

}  // namespace terra::grad
