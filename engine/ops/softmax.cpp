// Registry entries of softmax and log_softmax over one dim, and their backward ops. dtype=
// converts the input first (the dispatcher does it from input_dtypes); integer and bool inputs
// are rejected like PyTorch. Each gradient reads only the saved output:
//   softmax:      dx = y * (g - sum(g * y))          softmax_backward(g, y, dim)
//   log_softmax:  dx = g - exp(y) * sum(g)           log_softmax_backward(g, y, dim)
// (sums over dim), each one fused CPU kernel (kernels/cpu/softmax.cpp).
#include "engine/autograd/grad_helpers.hpp"
#include "engine/registry/registry.hpp"

namespace terra {
namespace {

InferFn softmax_rule(const char* op) {
  return [op](const std::vector<Tensor>& in, const Attrs& attrs) {
    const Tensor& self = in[0];
    normalize_dim(attrs.get<int64_t>("dim"), self.dim());
    const DType dt = attrs.is_none("dtype") ? self.dtype() : attrs.get<DType>("dtype");
    TERRA_CHECK(is_floating(dt), Runtime, "\"", op, "\" not implemented for '", dtype_name(dt), "'");
    Inferred inf;
    inf.outputs.push_back(TensorMeta{self.shape(), dt, self.device()});
    inf.input_dtypes = {dt};
    return inf;
  };
}

// grad_output and output have one shape; both are taken in the output's (floating) dtype.
InferFn softmax_backward_rule(const char* op) {
  return [op](const std::vector<Tensor>& in, const Attrs& attrs) {
    const Tensor &grad = in[0], &output = in[1];
    TERRA_CHECK(grad.shape() == output.shape(), Runtime, op, ": grad_output of shape ", shape_str(grad.shape()),
                " does not match output of shape ", shape_str(output.shape()));
    normalize_dim(attrs.get<int64_t>("dim"), output.dim());
    TERRA_CHECK(is_floating(output.dtype()), Runtime, "\"", op, "\" not implemented for '",
                dtype_name(output.dtype()), "'");
    Inferred inf;
    inf.outputs.push_back(TensorMeta{output.shape(), output.dtype(), output.device()});
    inf.input_dtypes = {output.dtype(), output.dtype()};
    return inf;
  };
}

Tensor sum_over(const Tensor& t, const GradContext& c) {
  return call1("sum", {t}, {{"dim", std::vector<int64_t>{c.attrs.get<int64_t>("dim")}}, {"keepdim", true}});
}

// Both backward ops are linear in g: the gradient for g is the op applied to the incoming one
// (the Jacobians are symmetric for softmax, and for log_softmax dg = gg - sum(gg * exp(y))).
// For y, with s = sum(g * y): softmax's is gg * (g - s) - g * sum(gg * y); log_softmax's
// is -gg * exp(y) * sum(g).
TensorList softmax_backward_grad(const GradContext& c) {
  const Tensor &gg = c.grad(), &g = c.input(0), &y = c.input(1);
  Tensor dg, dy;
  if (c.needs(0)) dg = call1("softmax_backward", {gg, y}, {{"dim", c.attrs["dim"]}});
  if (c.needs(1)) {
    Tensor s = sum_over(call1("mul", {g, y}), c);
    dy = call1("sub", {call1("mul", {gg, call1("sub", {g, s})}), call1("mul", {g, sum_over(call1("mul", {gg, y}), c)})});
  }
  return {dg, dy};
}

TensorList log_softmax_backward_grad(const GradContext& c) {
  const Tensor &gg = c.grad(), &g = c.input(0), &y = c.input(1);
  Tensor dg, dy;
  const Tensor p = call1("exp", {y});
  if (c.needs(0)) dg = call1("sub", {gg, sum_over(call1("mul", {gg, p}), c)});
  if (c.needs(1)) dy = call1("neg", {call1("mul", {call1("mul", {gg, p}), sum_over(g, c)})});
  return {dg, dy};
}

}  // namespace

TERRA_OP("softmax(Tensor self, int dim, ScalarType? dtype=None) -> Tensor")
    .infer(softmax_rule("softmax"))
    .grad([](const GradContext& c) -> TensorList {
      return {call1("softmax_backward", {c.grad(), c.output(0)}, {{"dim", c.attrs["dim"]}})};
    }, SaveSet::only_outputs());
TERRA_OP("log_softmax(Tensor self, int dim, ScalarType? dtype=None) -> Tensor")
    .infer(softmax_rule("log_softmax"))
    .grad([](const GradContext& c) -> TensorList {
      return {call1("log_softmax_backward", {c.grad(), c.output(0)}, {{"dim", c.attrs["dim"]}})};
    }, SaveSet::only_outputs());
TERRA_OP("softmax_backward(Tensor grad_output, Tensor output, int dim) -> Tensor")
    .infer(softmax_backward_rule("softmax_backward"))
    .grad(softmax_backward_grad);
TERRA_OP("log_softmax_backward(Tensor grad_output, Tensor output, int dim) -> Tensor")
    .infer(softmax_backward_rule("log_softmax_backward"))
    .grad(log_softmax_backward_grad);

}  // namespace terra
