// Registry entries of the losses: nll_loss and cross_entropy over class indices ([N, C, d...] or
// [C] input) or, for cross_entropy, class probabilities; the pointwise regression losses (which
// broadcast target against input like PyTorch); the binary cross-entropies. Checks and messages
// follow PyTorch 1.13 and fire in its order (one simplification: every input of 3 or more dims
// gets nll_loss_nd's "Expected target size" message, where PyTorch's 4-d nll_loss2d words it
// differently).
#include "engine/autograd/grad_helpers.hpp"
#include "engine/ops/rules.hpp"
#include "engine/registry/registry.hpp"
#include "kernels/common/class_loss_math.hpp"
#include "kernels/common/loss_math.hpp"

namespace terra {
namespace {

using math::Reduction;

Reduction reduction_of(const Attrs& attrs) { return math::parse_reduction(attrs.get<std::string>("reduction")); }

// One output: the per-element shape for reduction='none', else a 0-d tensor.
Inferred loss_output(const Shape& none_shape, Reduction r, DType dtype, Device device) {
  Inferred inf;
  inf.outputs.push_back(TensorMeta{r == Reduction::None ? none_shape : Shape{}, dtype, device});
  return inf;
}

void require_floating_input(const char* op, DType dt) {
  TERRA_CHECK(is_floating(dt), Runtime, "\"", op, "\" not implemented for '", dtype_name(dt), "'");
}

int64_t class_dim_size(const Tensor& self) { return self.size(self.dim() == 1 ? 0 : 1); }

void check_class_weight(const Tensor& weight, int64_t classes, const char* prefix) {
  if (!weight.defined()) return;
  TERRA_CHECK(weight.dim() == 1 && weight.numel() == classes, Runtime, prefix,
              "weight tensor should be defined either for all ", classes,
              " classes or no classes but got weight tensor of shape: ", shape_str(weight.shape()));
}

// Loss shape for reduction='none' of self [C] / [N, C] / [N, C, d...] with class-index targets
// [] / [N] / [N, d...] (PyTorch's nll_loss_nd checks).
Shape class_index_shape(const Tensor& self, const Tensor& target, const Tensor& weight) {
  TERRA_CHECK(self.dim() >= 1, Value, "Expected 1 or more dimensions (got 0)");
  if (self.dim() >= 2 && target.dim() >= 1)
    TERRA_CHECK(self.size(0) == target.size(0), Value, "Expected input batch_size (", self.size(0),
                ") to match target batch_size (", target.size(0), ").");
  Shape none_shape;
  if (self.dim() <= 2) {
    TERRA_CHECK(target.dim() <= 1, Runtime, "0D or 1D target tensor expected, multi-target not supported");
    const bool no_batch = self.dim() == 1 && target.dim() == 0;
    TERRA_CHECK(no_batch || (self.dim() == 2 && target.dim() == 1), Runtime, "size mismatch (got input: ",
                shape_str(self.shape()), ", target: ", shape_str(target.shape()), ")");
    if (self.dim() == 2) none_shape = {self.size(0)};
  } else {
    none_shape = self.shape();
    none_shape.erase(none_shape.begin() + 1);
    TERRA_CHECK(target.shape() == none_shape, Runtime, "Expected target size ", shape_str(none_shape), ", got ",
                shape_str(target.shape()));
  }
  check_class_weight(weight, class_dim_size(self), "");
  return none_shape;
}

void check_class_index_dtypes(const char* op, const Tensor& self, const Tensor& target, const Tensor& weight) {
  require_floating_input(op, self.dtype());
  TERRA_CHECK(target.dtype() == DType::Int64, Runtime, "expected scalar type int64 but found ",
              dtype_name(target.dtype()));
  if (weight.defined())
    TERRA_CHECK(weight.dtype() == self.dtype(), Runtime, "expected scalar type ", dtype_name(self.dtype()),
                " but found ", dtype_name(weight.dtype()));
}

Inferred nll_loss_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const Reduction r = reduction_of(attrs);
  const Tensor &self = in[0], &target = in[1], &weight = in[2];
  const Shape none_shape = class_index_shape(self, target, weight);
  check_class_index_dtypes("nll_loss", self, target, weight);
  return loss_output(none_shape, r, self.dtype(), self.device());
}

// Class probabilities when target has self's shape (PyTorch's rule), class indices otherwise.
// The kernel tells the two apart by the target's dtype: floating for probabilities.
Inferred cross_entropy_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const Reduction r = reduction_of(attrs);
  const Tensor &self = in[0], &target = in[1], &weight = in[2];
  const double smoothing = attrs.get<double>("label_smoothing");
  // Only a positive label_smoothing takes effect in PyTorch, so only that is range-checked.
  auto check_smoothing = [&] {
    TERRA_CHECK(smoothing <= 1.0, Runtime, "label_smoothing must be between 0.0 and 1.0. Got: ", smoothing);
  };
  if (self.shape() != target.shape()) {
    check_smoothing();
    require_floating_input("cross_entropy", self.dtype());
    const Shape none_shape = class_index_shape(self, target, weight);
    check_class_index_dtypes("cross_entropy", self, target, weight);
    return loss_output(none_shape, r, self.dtype(), self.device());
  }
  TERRA_CHECK(is_floating(target.dtype()), Runtime,
              "Expected floating point type for target with class probabilities, got ", dtype_name(target.dtype()));
  TERRA_CHECK(attrs.get<int64_t>("ignore_index") < 0, Runtime, "ignore_index is not supported for floating point target");
  TERRA_CHECK(self.dim() >= 1, Index, "Dimension out of range (expected to be in range of [-1, 0], but got 1)");
  check_class_weight(weight, class_dim_size(self), "cross_entropy: ");
  require_floating_input("cross_entropy", self.dtype());
  check_smoothing();
  Shape none_shape = self.shape();
  none_shape.erase(none_shape.begin() + (self.dim() == 1 ? 0 : 1));
  const DType dt = promote_types(self.dtype(), target.dtype());
  Inferred inf = loss_output(none_shape, r, dt, self.device());
  inf.input_dtypes = {dt, dt, dt};
  return inf;
}

// mse_loss, l1_loss, smooth_l1_loss: target broadcasts against self, both take the promoted type.
enum class IntegerLoss { Rejected, UnlessMean };

Inferred regression(const char* op, IntegerLoss integers, const std::vector<Tensor>& in, const Attrs& attrs) {
  const Reduction r = reduction_of(attrs);
  const DType dt = rules::result_type(in);
  DType out = dt;
  if (integers == IntegerLoss::UnlessMean && !is_floating(dt)) {
    TERRA_CHECK(dt != DType::Bool, Runtime,
                "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
                "`logical_xor()` operator instead.");
    TERRA_CHECK(r != Reduction::Mean, Runtime,
                "mean(): could not infer output dtype. Input dtype must be either a floating point or complex "
                "dtype. Got: ",
                dtype_name(dt));
    if (r == Reduction::Sum) out = DType::Int64;  // integer sums are int64, as in PyTorch
  } else {
    require_floating_input(op, dt);
  }
  Inferred inf = loss_output(rules::broadcast_all(in), r, out, rules::common_device(in));
  inf.input_dtypes = {dt, dt};
  return inf;
}

Inferred mse_loss_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  return regression("mse_loss", IntegerLoss::Rejected, in, attrs);
}

Inferred l1_loss_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  return regression("l1_loss", IntegerLoss::UnlessMean, in, attrs);
}

Inferred smooth_l1_loss_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  reduction_of(attrs);
  TERRA_CHECK(attrs.get<double>("beta") >= 0, Runtime, "smooth_l1_loss does not support negative values for beta.");
  return regression("smooth_l1_loss", IntegerLoss::Rejected, in, attrs);
}

// `weight` must broadcast to `shape` without growing it (PyTorch multiplies the loss in place).
void check_broadcasts_into(const Tensor& weight, const Shape& shape) {
  if (!weight.defined()) return;
  const Shape b = broadcast_shapes(weight.shape(), shape);
  TERRA_CHECK(b == shape, Runtime, "output with shape ", shape_str(shape), " doesn't match the broadcast shape ",
              shape_str(b));
}

Inferred binary_cross_entropy_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const Reduction r = reduction_of(attrs);
  const Tensor &self = in[0], &target = in[1], &weight = in[2];
  TERRA_CHECK(target.shape() == self.shape(), Value, "Using a target size (", shape_str(target.shape()),
              ") that is different to the input size (", shape_str(self.shape()),
              ") is deprecated. Please ensure they have the same size.");
  TERRA_CHECK(target.dtype() == self.dtype(), Runtime, "Found dtype ", dtype_name(target.dtype()), " but expected ",
              dtype_name(self.dtype()));
  require_floating_input("binary_cross_entropy", self.dtype());
  check_broadcasts_into(weight, self.shape());
  Inferred inf = loss_output(self.shape(), r, self.dtype(), self.device());
  inf.input_dtypes = {self.dtype(), self.dtype(), self.dtype()};
  return inf;
}

Inferred binary_cross_entropy_with_logits_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const Reduction r = reduction_of(attrs);
  const Tensor &self = in[0], &target = in[1], &weight = in[2], &pos_weight = in[3];
  TERRA_CHECK(target.shape() == self.shape(), Value, "Target size (", shape_str(target.shape()),
              ") must be the same as input size (", shape_str(self.shape()), ")");
  for (const Tensor& t : {self, target}) require_floating_input("binary_cross_entropy_with_logits", t.dtype());
  const DType dt = promote_types(self.dtype(), target.dtype());
  // pos_weight broadcasts with the loss (it may add leading dims); weight then scales it in place.
  const Shape shape = pos_weight.defined() ? broadcast_shapes(self.shape(), pos_weight.shape()) : self.shape();
  check_broadcasts_into(weight, shape);
  Inferred inf = loss_output(shape, r, dt, self.device());
  inf.input_dtypes = {dt, dt, dt, dt};
  return inf;
}

// --- gradients ---

// A backward op's rule: the forward's rule checks the operands (inputs 1...), grad_output must
// have the loss's shape, and the gradient has the shape grad_shape(operands) in the loss's
// dtype, which every input but an integer target is converted to.
using GradShape = Shape (*)(const std::vector<Tensor>& operands);

InferFn backward_rule(const char* op, InferFn forward, GradShape grad_shape) {
  return [op, forward, grad_shape](const std::vector<Tensor>& in, const Attrs& attrs) {
    const std::vector<Tensor> operands(in.begin() + 1, in.end());
    const Inferred f = forward(operands, attrs);
    const TensorMeta& loss = f.outputs[0];
    require_floating_input(op, loss.dtype);
    TERRA_CHECK(in[0].shape() == loss.shape, Runtime, "grad_output of shape ", shape_str(in[0].shape()),
                " does not match the loss of shape ", shape_str(loss.shape));
    Inferred inf;
    inf.outputs.push_back(TensorMeta{grad_shape(operands), loss.dtype, loss.device});
    inf.input_dtypes.push_back(loss.dtype);
    for (const Tensor& t : operands)
      inf.input_dtypes.push_back(t.defined() && t.dtype() == DType::Int64 ? DType::Int64 : loss.dtype);
    return inf;
  };
}

Shape input_shape(const std::vector<Tensor>& operands) { return operands[0].shape(); }
Shape broadcast_shape(const std::vector<Tensor>& operands) { return rules::broadcast_all(operands); }

[[noreturn]] void no_weight_gradient(const char* op) {
  fail(ErrorKind::NotImplemented, "the derivative for '", op, "' with respect to weight is not implemented");
}

// A pointwise loss's gradient g as a per-element factor: divided by the element count for
// 'mean' (where it is 0-d), as it is otherwise.
Tensor per_element(const Tensor& g, const Attrs& attrs, const Shape& loss_shape) {
  if (reduction_of(attrs) != Reduction::Mean) return g;
  return call1("mul", {g, Tensor::wrap_scalar(1.0 / static_cast<double>(shape_numel(loss_shape)), g.dtype())});
}

Tensor sum_to_input(const Tensor& t, const GradContext& c, size_t i) { return grad::sum_to(t, c.input_shape(i)); }

// Every attribute of the call, by name: each backward op takes its forward's attributes under
// the same names (and nll_loss_backward's gradient calls nll_loss with them).
NamedAttrs same_attrs(const Attrs& a) {
  NamedAttrs out;
  for (size_t i = 0; i < a.size(); ++i) out.emplace_back(a.names()[i], a.values()[i]);
  return out;
}

TensorList nll_loss_grad(const GradContext& c) {
  if (c.needs(2)) no_weight_gradient("nll_loss");
  return {call1("nll_loss_backward", {c.grad(), c.input(0), c.input(1), c.input(2)}, same_attrs(c.attrs))};
}

// nll_loss_backward is linear in grad_output and does not depend on self's values: its
// gradient for grad_output is nll_loss of the incoming one (the adjoint of the adjoint).
TensorList nll_loss_backward_grad(const GradContext& c) {
  if (c.needs(3)) no_weight_gradient("nll_loss_backward");
  return {c.needs(0) ? call1("nll_loss", {c.grad(), c.input(2), c.input(3)}, same_attrs(c.attrs)) : Tensor()};
}

// The class dim of a cross_entropy input ([C] or [N, C, d...]).
int64_t class_dim_of(const Tensor& self) { return self.dim() == 1 ? 0 : 1; }

// weight [C] shaped to broadcast against self along the class dim (undefined when absent).
Tensor class_weight_view(const Tensor& weight, const Tensor& self) {
  if (!weight.defined()) return weight;
  std::vector<int64_t> shape(self.dim() - class_dim_of(self), 1);
  shape[0] = weight.numel();
  return call1("reshape", {weight}, {{"shape", shape}});
}

Tensor times(const Tensor& t, double v) { return v == 1.0 ? t : call1("mul", {t, Tensor::wrap_scalar(v, t.dtype())}); }

Tensor sum_classes(const Tensor& t, int64_t class_dim, bool keepdim) {
  return call1("sum", {t}, {{"dim", std::vector<int64_t>{class_dim}}, {"keepdim", keepdim}});
}

double smoothing_of(const Attrs& attrs) { return std::max(0.0, attrs.get<double>("label_smoothing")); }

// g as each sample's factor, shaped to broadcast against self: g (with a class dim) for 'none',
// g for 'sum', g / n for 'mean' with class probabilities (n samples).
Tensor probability_share(const Tensor& g, const Tensor& self, Reduction r) {
  if (r == Reduction::None) return call1("unsqueeze", {g}, {{"dim", class_dim_of(self)}});
  const int64_t classes = self.size(class_dim_of(self));
  return r == Reduction::Mean && classes > 0 ? times(g, 1.0 / static_cast<double>(self.numel() / classes)) : g;
}

// With class probabilities q the target is differentiable: d/dq[k] = -(1 - e) w[k] log p[k],
// times the sample's share of g.
Tensor cross_entropy_target_grad(const GradContext& c) {
  const Tensor& self = c.input(0);
  Tensor d = call1("log_softmax", {self}, {{"dim", class_dim_of(self)}});
  const Tensor w = class_weight_view(c.input(2), self);
  if (w.defined()) d = call1("mul", {d, w});
  d = times(d, -(1 - smoothing_of(c.attrs)));
  return call1("mul", {d, probability_share(c.grad(), self, reduction_of(c.attrs))});
}

TensorList cross_entropy_grad(const GradContext& c) {
  if (c.needs(2)) no_weight_gradient("cross_entropy");
  return {c.needs(0) ? call1("cross_entropy_backward", {c.grad(), c.input(0), c.input(1), c.input(2)},
                             same_attrs(c.attrs))
                     : Tensor(),
          c.needs(1) ? cross_entropy_target_grad(c) : Tensor()};
}

// Each sample's f * R (Note [Fused cross-entropy backward] in kernels/cpu/loss.cpp), shaped to
// broadcast against self: cross_entropy_backward(g, x) = f R softmax(x) - f r.
Tensor cross_entropy_row_scale(const Tensor& g, const Tensor& self, const Tensor& target, const Tensor& weight,
                               const Attrs& attrs) {
  const int64_t class_dim = class_dim_of(self), classes = self.size(class_dim);
  const double e = smoothing_of(attrs);
  const Reduction r = reduction_of(attrs);
  const DType dt = self.dtype();
  // The classes' total weight W, as a tensor (or a number without weights).
  const Tensor w_total = weight.defined() ? call1("sum", {weight}) : Tensor::wrap_scalar(double(classes), dt);
  if (is_floating(target.dtype())) {  // R = (1 - e) sum_k w[k] q[k] + e / C * W
    const Tensor w = class_weight_view(weight, self);
    const Tensor wq = w.defined() ? call1("mul", {target, w}) : target;
    const Tensor total = call1("add", {times(sum_classes(wq, class_dim, true), 1 - e), times(w_total, e / classes)});
    return call1("mul", {probability_share(g, self, r), total});
  }
  // Class indices: R = (1 - e) w[t] + e / C * W, 0 for ignored samples.
  const Tensor ignored = call1("eq", {target, Tensor::wrap_scalar(double(attrs.get<int64_t>("ignore_index")), DType::Int64)});
  const Tensor kept = cast_to(call1("logical_not", {ignored}), dt);
  Tensor w_target = kept;
  if (weight.defined()) {
    const Tensor safe = call1("masked_fill", {target, ignored}, {{"value", 0}});
    const Tensor flat = call1("reshape", {safe}, {{"shape", std::vector<int64_t>{-1}}});
    const Tensor picked = call1("index_select", {weight, flat}, {{"dim", 0}});
    w_target = call1("mul", {call1("reshape", {picked}, {{"shape", grad::dims_of(target.shape())}}), kept});
  }
  Tensor f = g;
  if (r == Reduction::Mean) f = call1("div", {g, call1("sum", {w_target})});
  const Tensor total = call1("add", {times(w_target, 1 - e), call1("mul", {kept, times(w_total, e / classes)})});
  return call1("unsqueeze", {call1("mul", {f, total})}, {{"dim", class_dim}});
}

// cross_entropy_backward = f (R p - r), p = softmax(x): linear in g (so d/dg is gg times the op
// at g = 1, summed over the classes, and over everything for 'mean' and 'sum'); through p only
// for x (softmax's backward of gg f R); for class probabilities q, linear in q through R and r:
// d/dq[k] = f (1 - e) w[k] (sum_j gg[j] p[j] - gg[k]). Class weights: not differentiated.
TensorList cross_entropy_backward_grad(const GradContext& c) {
  if (c.needs(3)) no_weight_gradient("cross_entropy_backward");
  const Tensor &gg = c.grad(), &g = c.input(0), &x = c.input(1), &target = c.input(2), &weight = c.input(3);
  const int64_t class_dim = class_dim_of(x);
  const Reduction r = reduction_of(c.attrs);
  Tensor dg, dx, dq;
  if (c.needs(0)) {
    const Tensor ones = grad::ones(g.shape(), g);
    const Tensor unit = call1("cross_entropy_backward", {ones, x, target, weight}, same_attrs(c.attrs));
    const Tensor prod = call1("mul", {gg, unit});
    dg = r == Reduction::None ? sum_classes(prod, class_dim, false) : call1("sum", {prod});
  }
  const Tensor p = c.needs(1) || c.needs(2) ? call1("softmax", {x}, {{"dim", class_dim}}) : Tensor();
  if (c.needs(1)) {
    const Tensor scale = cross_entropy_row_scale(g, x, target, weight, c.attrs);
    dx = call1("softmax_backward", {call1("mul", {gg, scale}), p}, {{"dim", class_dim}});
  }
  if (c.needs(2)) {
    const Tensor spread = call1("sub", {sum_classes(call1("mul", {gg, p}), class_dim, true), gg});
    Tensor d = times(call1("mul", {spread, probability_share(g, x, r)}), 1 - smoothing_of(c.attrs));
    const Tensor w = class_weight_view(weight, x);
    dq = w.defined() ? call1("mul", {d, w}) : d;
  }
  return {dg, dx, dq};
}

// mse_loss, l1_loss, smooth_l1_loss: d/dtarget = -d/dself before each is summed to its shape.
template <const char* Backward>
TensorList regression_grad(const GradContext& c) {
  const Tensor d = call1(Backward, {c.grad(), c.input(0), c.input(1)}, same_attrs(c.attrs));
  return {c.needs(0) ? sum_to_input(d, c, 0) : Tensor(), c.needs(1) ? sum_to_input(call1("neg", {d}), c, 1) : Tensor()};
}

// Second derivatives of the regression losses per element, before the 'mean' division
// (undefined where it is 0 everywhere): mse 2, l1 0, smooth_l1 1 / beta inside (-beta, beta)
// (0 for beta = 0, where it is l1).
Tensor mse_second(const Tensor& x, const Tensor&, const Attrs&) { return Tensor::wrap_scalar(2.0, x.dtype()); }
Tensor l1_second(const Tensor&, const Tensor&, const Attrs&) { return Tensor(); }
Tensor smooth_l1_second(const Tensor& x, const Tensor& y, const Attrs& attrs) {
  const double beta = attrs.get<double>("beta");
  if (beta == 0) return Tensor();  // the l1 loss
  const Tensor inside = call1("lt", {call1("abs", {call1("sub", {x, y})}), Tensor::wrap_scalar(beta, x.dtype())});
  return call1("mul", {cast_to(inside, x.dtype()), Tensor::wrap_scalar(1.0 / beta, x.dtype())});
}
using SecondDerivative = Tensor (*)(const Tensor& x, const Tensor& y, const Attrs& attrs);

// The regression backward ops are g times a function of (self - target): the gradient for g is
// the incoming gg times the op at g = 1, summed to g's shape; for self it is gg times g's
// per-element factor times the second derivative (and its negative for target).
template <const char* Op, SecondDerivative Second>
TensorList regression_backward_grad(const GradContext& c) {
  const Tensor &gg = c.grad(), &g = c.input(0), &x = c.input(1), &y = c.input(2);
  Tensor dg, dx, dy;
  if (c.needs(0)) {
    const Tensor ones = grad::ones(g.shape(), g);
    dg = grad::sum_to(call1("mul", {gg, call1(Op, {ones, x, y}, same_attrs(c.attrs))}), g.shape());
  }
  const Tensor h = c.needs(1) || c.needs(2) ? Second(x, y, c.attrs) : Tensor();
  if (h.defined()) {
    const Tensor k = call1("mul", {call1("mul", {gg, per_element(g, c.attrs, gg.shape())}), h});
    if (c.needs(1)) dx = grad::sum_to(k, x.shape());
    if (c.needs(2)) dy = grad::sum_to(call1("neg", {k}), y.shape());
  }
  return {dg, dx, dy};
}

// d/dtarget of -w (y log x + (1 - y) log(1 - x)) is w (log(1 - x) - log x) (unclamped, as
// PyTorch); d/dweight is the unweighted loss.
TensorList binary_cross_entropy_grad(const GradContext& c) {
  const Tensor &x = c.input(0), &weight = c.input(2);
  const Tensor g = per_element(c.grad(), c.attrs, x.shape());
  Tensor dx, dy, dw;
  if (c.needs(0)) dx = call1("binary_cross_entropy_backward", {c.grad(), x, c.input(1), weight}, same_attrs(c.attrs));
  if (c.needs(1)) {
    dy = call1("mul", {call1("sub", {call1("log1p", {call1("neg", {x})}), call1("log", {x})}), g});
    if (weight.defined()) dy = call1("mul", {dy, weight});
  }
  if (c.needs(2)) {
    Tensor loss = call1("binary_cross_entropy", {x, c.input(1)}, {{"reduction", "none"}});
    dw = sum_to_input(call1("mul", {loss, g}), c, 2);
  }
  return {dx, dy, dw};
}

// With pw the pos_weight (1 when absent) and s(v) = log(1 + exp(v)):
//   d/dtarget = w ((pw - 1) s(-x) - x),  d/dweight = the unweighted loss,  d/dpos_weight = w y s(-x).
TensorList binary_cross_entropy_with_logits_grad(const GradContext& c) {
  const Tensor &x = c.input(0), &y = c.input(1), &weight = c.input(2), &pos_weight = c.input(3);
  const Shape loss_shape = rules::broadcast_all({x, pos_weight});
  const Tensor g = per_element(c.grad(), c.attrs, loss_shape);
  auto weighted = [&](const Tensor& t) { return weight.defined() ? call1("mul", {t, weight}) : t; };
  // A term of the loss's shape or smaller (x-shaped under a larger pos_weight), to input i's shape.
  auto to_input = [&](const Tensor& t, size_t i) {
    const Tensor full = t.shape() == loss_shape ? t : call1("expand", {t}, {{"size", grad::dims_of(loss_shape)}});
    return sum_to_input(full, c, i);
  };
  Tensor dx, dy, dw, dpw;
  if (c.needs(0))
    dx = to_input(call1("binary_cross_entropy_with_logits_backward", {c.grad(), x, y, weight, pos_weight},
                        same_attrs(c.attrs)),
                  0);
  const Tensor softplus_neg = c.needs(1) || c.needs(3) ? call1("softplus", {call1("neg", {x})}) : Tensor();
  if (c.needs(1)) {
    Tensor d = call1("neg", {x});
    if (pos_weight.defined())
      d = call1("add", {d, call1("mul", {call1("sub", {pos_weight, Tensor::wrap_scalar(1.0, x.dtype())}), softplus_neg})});
    dy = to_input(call1("mul", {weighted(d), g}), 1);
  }
  if (c.needs(2)) {
    Tensor loss = call1("binary_cross_entropy_with_logits", {x, y, Tensor(), pos_weight}, {{"reduction", "none"}});
    dw = to_input(call1("mul", {loss, g}), 2);
  }
  if (c.needs(3)) dpw = to_input(call1("mul", {weighted(call1("mul", {y, softplus_neg})), g}), 3);
  return {dx, dy, dw, dpw};
}

constexpr char kMseBackward[] = "mse_loss_backward";
constexpr char kL1Backward[] = "l1_loss_backward";
constexpr char kSmoothL1Backward[] = "smooth_l1_loss_backward";

// The kernels' target check (class indices), run early by deferred execution.
void check_class_targets(const std::vector<Tensor>& in, const Attrs& attrs) {
  if (const int64_t* targets = rules::int64s_at_hand(in[1]))
    math::check_targets(targets, in[1].numel(), math::class_layout(in[0]).classes, attrs.get<int64_t>("ignore_index"));
}

TERRA_OP("nll_loss(Tensor self, Tensor target, Tensor? weight=None, str reduction=\"mean\", int ignore_index=-100) "
         "-> Tensor")
    .infer(nll_loss_rule)
    .check_data(check_class_targets)
    .grad(nll_loss_grad);
TERRA_OP("cross_entropy(Tensor self, Tensor target, Tensor? weight=None, str reduction=\"mean\", "
         "int ignore_index=-100, float label_smoothing=0.0) -> Tensor")
    .infer(cross_entropy_rule)
    .check_data(check_class_targets)
    .grad(cross_entropy_grad, SaveSet::only_inputs({0, 1, 2}));
TERRA_OP("mse_loss(Tensor self, Tensor target, str reduction=\"mean\") -> Tensor")
    .infer(mse_loss_rule)
    .grad(regression_grad<kMseBackward>, SaveSet::only_inputs({0, 1}));
TERRA_OP("l1_loss(Tensor self, Tensor target, str reduction=\"mean\") -> Tensor")
    .infer(l1_loss_rule)
    .grad(regression_grad<kL1Backward>, SaveSet::only_inputs({0, 1}));
TERRA_OP("smooth_l1_loss(Tensor self, Tensor target, str reduction=\"mean\", float beta=1.0) -> Tensor")
    .infer(smooth_l1_loss_rule)
    .grad(regression_grad<kSmoothL1Backward>, SaveSet::only_inputs({0, 1}));
TERRA_OP("binary_cross_entropy(Tensor self, Tensor target, Tensor? weight=None, str reduction=\"mean\") -> Tensor")
    .infer(binary_cross_entropy_rule)
    .grad(binary_cross_entropy_grad, SaveSet::only_inputs({0, 1, 2}));
TERRA_OP("binary_cross_entropy_with_logits(Tensor self, Tensor target, Tensor? weight=None, "
         "Tensor? pos_weight=None, str reduction=\"mean\") -> Tensor")
    .infer(binary_cross_entropy_with_logits_rule)
    .grad(binary_cross_entropy_with_logits_grad, SaveSet::only_inputs({0, 1, 2, 3}));

// Backward ops (grad_output, then the forward's inputs and attributes with the forward's
// defaults), each one CPU kernel.
TERRA_OP("nll_loss_backward(Tensor grad_output, Tensor self, Tensor target, Tensor? weight=None, "
         "str reduction=\"mean\", int ignore_index=-100) -> Tensor")
    .infer(backward_rule("nll_loss_backward", nll_loss_rule, input_shape))
    .grad(nll_loss_backward_grad, SaveSet::only_inputs({2, 3}));
TERRA_OP("cross_entropy_backward(Tensor grad_output, Tensor self, Tensor target, Tensor? weight=None, "
         "str reduction=\"mean\", int ignore_index=-100, float label_smoothing=0.0) -> Tensor")
    .infer(backward_rule("cross_entropy_backward", cross_entropy_rule, input_shape))
    .grad(cross_entropy_backward_grad, SaveSet::only_inputs({0, 1, 2, 3}));
TERRA_OP("mse_loss_backward(Tensor grad_output, Tensor self, Tensor target, str reduction=\"mean\") -> Tensor")
    .infer(backward_rule("mse_loss_backward", mse_loss_rule, broadcast_shape))
    .grad(regression_backward_grad<kMseBackward, mse_second>);
TERRA_OP("l1_loss_backward(Tensor grad_output, Tensor self, Tensor target, str reduction=\"mean\") -> Tensor")
    .infer(backward_rule("l1_loss_backward", l1_loss_rule, broadcast_shape))
    .grad(regression_backward_grad<kL1Backward, l1_second>);
TERRA_OP("smooth_l1_loss_backward(Tensor grad_output, Tensor self, Tensor target, str reduction=\"mean\", "
         "float beta=1.0) -> Tensor")
    .infer(backward_rule("smooth_l1_loss_backward", smooth_l1_loss_rule, broadcast_shape))
    .grad(regression_backward_grad<kSmoothL1Backward, smooth_l1_second>);
TERRA_OP("binary_cross_entropy_backward(Tensor grad_output, Tensor self, Tensor target, Tensor? weight=None, "
         "str reduction=\"mean\") -> Tensor")
    .infer(backward_rule("binary_cross_entropy_backward", binary_cross_entropy_rule, input_shape));
TERRA_OP("binary_cross_entropy_with_logits_backward(Tensor grad_output, Tensor self, Tensor target, "
         "Tensor? weight=None, Tensor? pos_weight=None, str reduction=\"mean\") -> Tensor")
    .infer(backward_rule("binary_cross_entropy_with_logits_backward", binary_cross_entropy_with_logits_rule,
                         broadcast_shape));

}  // namespace
}  // namespace terra
