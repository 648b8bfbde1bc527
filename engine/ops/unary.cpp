// Registry entries of the elementwise unary ops. Math lives in kernels/common/unary_math.hpp;
// here each op states its signature, dtype rule (integers promote to float for transcendental
// functions, bool is rejected where PyTorch rejects it) and gradient. The activations' gradients
// call fused backward ops (tanh_backward, gelu_backward, ...; kernels/common/
// unary_backward_math.hpp), registered here too with gradients of their own for double backward.
#include "engine/ops/formula_ops.hpp"
#include "engine/ops/rules.hpp"
#include "engine/registry/registry.hpp"

namespace terra {
namespace {

using rules::ElementwiseOptions;
using rules::OutType;
using namespace formula;

const ElementwiseOptions kFloat{OutType::Float, true, false};
const ElementwiseOptions kNumeric{OutType::Same, false, false};

// Predicates read any dtype as it is and return bool.
Inferred predicate_rule(const std::vector<Tensor>& in, const Attrs&) { return rules::like(in[0], DType::Bool); }

Inferred gelu_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const std::string& a = attrs.get<std::string>("approximate");
  TERRA_CHECK(a == "none" || a == "tanh", Runtime, "approximate argument must be either none or tanh, got '", a, "'");
  return rules::elementwise(in, kFloat);
}

// polygamma's order is checked here, before any kernel, with PyTorch's message.
Inferred polygamma_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  TERRA_CHECK(attrs.get<int64_t>("n") >= 0, Runtime, "polygamma(n, x) does not support negative n.");
  return rules::elementwise(in, kFloat);
}

// clamp(int tensor, 0.5) computes in float, as PyTorch's result_type with wrapped numbers does.
Inferred clamp_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  auto lo = attrs.opt<Scalar>("min"), hi = attrs.opt<Scalar>("max");
  TERRA_CHECK(lo || hi, Runtime, "At least one of 'min' or 'max' must not be None");
  DType ct = in[0].dtype();
  bool float_bound = (lo && lo->is_floating()) || (hi && hi->is_floating());
  if (!is_floating(ct) && float_bound) ct = default_float_dtype();
  if (ct == DType::Bool) ct = DType::Int64;
  Inferred inf = rules::like(in[0], ct);
  inf.input_dtypes = {ct};
  return inf;
}

// ---- Gradients ---------------------------------------------------------------------------------
// Each formula keeps the least it can: the result where f' is cheaper from it (exp, sqrt, tanh,
// sigmoid, relu), else the input. Ops whose result is piecewise constant (sign, floor, ceil,
// round) get a zero gradient as in PyTorch; predicates are not differentiable.

using Formula = std::function<Tensor(const GradContext&)>;

Tensor zero_grad(const GradContext& c) { return zeros(c.input_shape(0), c.grad()); }

// The named attributes of an op call, passed on to another op.
NamedAttrs pass_on(const Attrs& attrs, const std::vector<const char*>& names) {
  NamedAttrs named;
  for (const char* a : names) named.emplace_back(a, attrs[a]);
  return named;
}

// The fused backward op `op` applied to (grad, x) or (grad, result), with the forward's attributes.
Formula fused(const char* op, bool reads_result, std::vector<const char*> attrs = {}) {
  return [=](const GradContext& c) {
    return call1(op, {c.grad(), reads_result ? c.output(0) : c.input(0)}, pass_on(c.attrs, attrs));
  };
}

// Gradient 1 inside [min, max] (either bound optional), 0 outside and at NaN, as in PyTorch.
Tensor clamp_grad(const GradContext& c) {
  const Tensor& x = c.input(0);
  Tensor inside;
  for (auto [bound, cmp] : {std::pair{"min", "ge"}, std::pair{"max", "le"}}) {
    if (c.attrs.is_none(bound)) continue;
    Tensor ok = call1(cmp, {x, scalar(c.attrs.get<Scalar>(bound).as_double(), x)});
    inside = inside.defined() ? call1("logical_and", {inside, ok}) : ok;
  }
  return where_or_zero(inside, c.grad());
}

constexpr double kTwoOverSqrtPi = 1.1283791670955126, kInvSqrt2Pi = 0.3989422804014327;
constexpr double kSqrtPiOverTwo = 0.88622692545275801;
constexpr double kLn2 = 0.6931471805599453, kLn10 = 2.302585092994046;
Tensor square(const Tensor& x) { return mul(x, x); }
constexpr double kGeluK = 0.7978845608028654, kGeluC = 0.044715;  // as in math::Gelu

// grad * polygamma(n, x): lgamma' = digamma = polygamma(0), digamma' = polygamma(1), and so on.
Tensor times_polygamma(const GradContext& c, int64_t n) {
  return mul(c.grad(), call1("polygamma", {c.input(0)}, {{"n", n}}));
}

Tensor sigmoid_times_complement(const Tensor& s) { return mul(s, sub(1.0, s)); }  // s (1 - s)

// gelu''(x): exact, phi(x) (2 - x^2); tanh form, with u = k (x + c x^3) and t = tanh(u),
// (1 - t^2) (u' - x t u'^2 + x u'' / 2).
Tensor gelu_second_derivative(const Tensor& x, bool tanh_approx) {
  Tensor x2 = mul(x, x);
  if (!tanh_approx) return mul(mul(exp(mul(x2, -0.5)), kInvSqrt2Pi), sub(2.0, x2));
  Tensor t = call1("tanh", {mul(mul(x, add(mul(x2, kGeluC), 1.0)), kGeluK)});
  Tensor du = mul(add(mul(x2, 3 * kGeluC), 1.0), kGeluK);
  Tensor bracket = add(sub(du, mul(mul(x, t), mul(du, du))), mul(x2, 3 * kGeluK * kGeluC));
  return mul(sub(1.0, mul(t, t)), bracket);
}

// silu''(x) = s (1 - s) (2 + x (1 - 2 s)), s = sigmoid(x).
Tensor silu_second_derivative(const Tensor& x) {
  Tensor s = call1("sigmoid", {x});
  return mul(sigmoid_times_complement(s), add(mul(x, sub(1.0, mul(s, 2.0))), 2.0));
}

// softplus''(x) = beta s (1 - s), s = sigmoid(beta x); zero above the threshold (identity there).
Tensor softplus_second_derivative(const Tensor& x, const Attrs& a) {
  Tensor bx = mul(x, a.get<double>("beta"));
  return zero_where(gt(bx, a.get<double>("threshold")),
                    mul(sigmoid_times_complement(call1("sigmoid", {bx})), a.get<double>("beta")));
}

// A fused backward op b(g, v) = g h(v) is linear in g: its gradient is b(gg, v) for g and
// gg g h'(v) for v. `dh` gives h'(v) from v and the attributes (none where h' = 0).
struct BackwardEntry {
  const char* schema;
  std::vector<const char*> attrs;
  std::function<Tensor(const Tensor& v, const Attrs&)> dh;
};

GradFn backward_op_grad(const std::string& op, const BackwardEntry& e) {
  return [op, e](const GradContext& c) -> TensorList {
    const Tensor &gg = c.grad(), &v = c.input(1);
    TensorList r(2);
    if (c.needs(0)) r[0] = grad::sum_to(call1(op, {gg, v}, pass_on(c.attrs, e.attrs)), c.input_shape(0));
    if (c.needs(1))
      r[1] = e.dh ? grad::sum_to(mul(mul(gg, c.input(0)), e.dh(v, c.attrs)), c.input_shape(1))
                  : zeros(c.input_shape(1), gg);
    return r;
  };
}

const bool registered = [] {
  const InferFn to_float = rules::elementwise_rule(kFloat), numeric = rules::elementwise_rule(kNumeric),
                bitwise = rules::elementwise_rule({rules::OutType::Same, true, true});
  const SaveSet input = SaveSet::only_inputs({0}), result = SaveSet::only_outputs(), nothing = SaveSet::none();
  struct Entry {
    const char* schema;
    InferFn rule;
    Formula grad;  // empty: not differentiable
    SaveSet saves;
  };
  const Entry entries[] = {
      {"neg(Tensor self) -> Tensor", numeric, [](const GradContext& c) { return neg(c.grad()); }, nothing},
      {"abs(Tensor self) -> Tensor", numeric,
       [](const GradContext& c) { return mul(c.grad(), call1("sign", {c.input(0)})); }, input},
      {"sign(Tensor self) -> Tensor", numeric, zero_grad, nothing},
      {"exp(Tensor self) -> Tensor", to_float, [](const GradContext& c) { return mul(c.grad(), c.output(0)); }, result},
      {"log(Tensor self) -> Tensor", to_float, [](const GradContext& c) { return div(c.grad(), c.input(0)); }, input},
      {"log1p(Tensor self) -> Tensor", to_float,
       [](const GradContext& c) { return div(c.grad(), add(c.input(0), 1.0)); }, input},
      {"expm1(Tensor self) -> Tensor", to_float,
       [](const GradContext& c) { return mul(c.grad(), add(c.output(0), 1.0)); }, result},
      {"sqrt(Tensor self) -> Tensor", to_float,
       [](const GradContext& c) { return div(c.grad(), mul(c.output(0), 2.0)); }, result},
      {"rsqrt(Tensor self) -> Tensor", to_float,
       [](const GradContext& c) { return mul(mul(c.grad(), pow(c.output(0), 3.0)), -0.5); }, result},
      {"sin(Tensor self) -> Tensor", to_float,
       [](const GradContext& c) { return mul(c.grad(), call1("cos", {c.input(0)})); }, input},
      {"cos(Tensor self) -> Tensor", to_float,
       [](const GradContext& c) { return mul(c.grad(), neg(call1("sin", {c.input(0)}))); }, input},
      {"tanh(Tensor self) -> Tensor", to_float, fused("tanh_backward", true), result},
      {"log2(Tensor self) -> Tensor", to_float,
       [](const GradContext& c) { return div(c.grad(), mul(c.input(0), kLn2)); }, input},
      {"log10(Tensor self) -> Tensor", to_float,
       [](const GradContext& c) { return div(c.grad(), mul(c.input(0), kLn10)); }, input},
      {"atan(Tensor self) -> Tensor", to_float,
       [](const GradContext& c) { return div(c.grad(), add(square(c.input(0)), 1.0)); }, input},
      {"asin(Tensor self) -> Tensor", to_float,
       [](const GradContext& c) { return div(c.grad(), call1("sqrt", {sub(1.0, square(c.input(0)))})); }, input},
      {"acos(Tensor self) -> Tensor", to_float,
       [](const GradContext& c) { return neg(div(c.grad(), call1("sqrt", {sub(1.0, square(c.input(0)))}))); }, input},
      {"sinh(Tensor self) -> Tensor", to_float,
       [](const GradContext& c) { return mul(c.grad(), call1("cosh", {c.input(0)})); }, input},
      {"cosh(Tensor self) -> Tensor", to_float,
       [](const GradContext& c) { return mul(c.grad(), call1("sinh", {c.input(0)})); }, input},
      {"asinh(Tensor self) -> Tensor", to_float,
       [](const GradContext& c) { return div(c.grad(), call1("sqrt", {add(square(c.input(0)), 1.0)})); }, input},
      {"atanh(Tensor self) -> Tensor", to_float,
       [](const GradContext& c) { return div(c.grad(), sub(1.0, square(c.input(0)))); }, input},
      {"sigmoid(Tensor self) -> Tensor", to_float, fused("sigmoid_backward", true), result},
      {"relu(Tensor self) -> Tensor", numeric,
       [](const GradContext& c) { return call1("threshold_backward", {c.grad(), c.output(0)}, {{"threshold", 0.0}}); },
       result},
      {"gelu(Tensor self, *, str approximate=\"none\") -> Tensor", gelu_rule, fused("gelu_backward", false, {"approximate"}),
       input},
      {"silu(Tensor self) -> Tensor", to_float, fused("silu_backward", false), input},
      {"softplus(Tensor self, float beta=1.0, float threshold=20.0) -> Tensor", to_float,
       fused("softplus_backward", false, {"beta", "threshold"}), input},
      {"leaky_relu(Tensor self, float negative_slope=0.01) -> Tensor", to_float,
       fused("leaky_relu_backward", false, {"negative_slope"}), input},
      {"elu(Tensor self, float alpha=1.0) -> Tensor", to_float, fused("elu_backward", false, {"alpha"}), input},
      {"erf(Tensor self) -> Tensor", to_float,
       [](const GradContext& c) {
         const Tensor& x = c.input(0);
         return mul(c.grad(), mul(exp(neg(mul(x, x))), kTwoOverSqrtPi));
       },
       input},
      {"erfc(Tensor self) -> Tensor", to_float,
       [](const GradContext& c) {
         const Tensor& x = c.input(0);
         return mul(c.grad(), mul(exp(neg(mul(x, x))), -kTwoOverSqrtPi));
       },
       input},
      {"erfinv(Tensor self) -> Tensor", to_float,
       [](const GradContext& c) { return mul(c.grad(), mul(exp(square(c.output(0))), kSqrtPiOverTwo)); }, result},
      {"tan(Tensor self) -> Tensor", to_float,
       [](const GradContext& c) { return mul(c.grad(), add(square(c.output(0)), 1.0)); }, result},
      {"lgamma(Tensor self) -> Tensor", to_float, [](const GradContext& c) { return times_polygamma(c, 0); }, input},
      {"digamma(Tensor self) -> Tensor", to_float, [](const GradContext& c) { return times_polygamma(c, 1); }, input},
      {"polygamma(Tensor self, int n) -> Tensor", polygamma_rule,
       [](const GradContext& c) { return times_polygamma(c, c.attrs.get<int64_t>("n") + 1); }, input},
      {"floor(Tensor self) -> Tensor", numeric, zero_grad, nothing},
      {"ceil(Tensor self) -> Tensor", numeric, zero_grad, nothing},
      {"round(Tensor self, *, int decimals=0) -> Tensor", numeric, zero_grad, nothing},
      {"reciprocal(Tensor self) -> Tensor", to_float,
       [](const GradContext& c) { return mul(neg(c.grad()), mul(c.output(0), c.output(0))); }, result},
      {"clamp(Tensor self, Scalar? min=None, Scalar? max=None) -> Tensor", clamp_rule, clamp_grad, input},
      {"logical_not(Tensor self) -> Tensor", predicate_rule, nullptr, nothing},
      {"bitwise_not(Tensor self) -> Tensor", bitwise, nullptr, nothing},
      {"isnan(Tensor self) -> Tensor", predicate_rule, nullptr, nothing},
      {"isinf(Tensor self) -> Tensor", predicate_rule, nullptr, nothing},
  };
  for (const Entry& e : entries) {
    OpRegistrar reg(e.schema);
    reg.infer(e.rule).fusion(FusionKind::Elementwise);
    if (!e.grad) {
      reg.not_differentiable();
      continue;
    }
    reg.grad([f = e.grad](const GradContext& c) -> TensorList { return {f(c)}; }, e.saves);
  }

  // The fused backward ops: (grad_output, x) -> grad_output * f'(x), or (grad_output, result)
  // for tanh and sigmoid. h' below is the derivative of the factor f' in its second argument.
  const BackwardEntry backward_entries[] = {
      {"tanh_backward(Tensor grad_output, Tensor output) -> Tensor", {},
       [](const Tensor& y, const Attrs&) { return mul(y, -2.0); }},
      {"sigmoid_backward(Tensor grad_output, Tensor output) -> Tensor", {},
       [](const Tensor& y, const Attrs&) { return sub(1.0, mul(y, 2.0)); }},
      {"threshold_backward(Tensor grad_output, Tensor self, float threshold) -> Tensor", {"threshold"}, nullptr},
      {"gelu_backward(Tensor grad_output, Tensor self, *, str approximate=\"none\") -> Tensor", {"approximate"},
       [](const Tensor& x, const Attrs& a) { return gelu_second_derivative(x, a.get<std::string>("approximate") == "tanh"); }},
      {"silu_backward(Tensor grad_output, Tensor self) -> Tensor", {},
       [](const Tensor& x, const Attrs&) { return silu_second_derivative(x); }},
      {"elu_backward(Tensor grad_output, Tensor self, float alpha) -> Tensor", {"alpha"},
       [](const Tensor& x, const Attrs& a) { return zero_where(gt(x, 0.0), mul(exp(x), a.get<double>("alpha"))); }},
      {"leaky_relu_backward(Tensor grad_output, Tensor self, float negative_slope) -> Tensor", {"negative_slope"},
       nullptr},
      {"softplus_backward(Tensor grad_output, Tensor self, float beta, float threshold) -> Tensor",
       {"beta", "threshold"}, softplus_second_derivative},
  };
  for (const BackwardEntry& e : backward_entries) {
    OpRegistrar reg(e.schema);
    reg.infer(to_float).fusion(FusionKind::Elementwise).grad(backward_op_grad(reg.def().name(), e),
                                                             SaveSet::only_inputs({0, 1}));
  }
  return true;
}();

}  // namespace
}  // namespace terra
