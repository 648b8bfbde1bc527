// Registry entries of the elementwise binary ops and where(): broadcasting and PyTorch's type
// promotion (rules::elementwise), each op's own argument checks, and the gradients (PyTorch's
// formulas; each input's gradient is summed back over the dims it was broadcast along).
#include "engine/ops/formula_ops.hpp"
#include "engine/ops/rules.hpp"
#include "engine/registry/registry.hpp"

namespace terra {
namespace {

using rules::ElementwiseOptions;
using rules::OutType;
using namespace formula;

const ElementwiseOptions kSame{OutType::Same, true, false};
const ElementwiseOptions kNoBool{OutType::Same, false, false};
const ElementwiseOptions kFloat{OutType::Float, true, false};
const ElementwiseOptions kCompare{OutType::Bool, true, false};
const ElementwiseOptions kBitwise{OutType::Same, true, true};    // integers and bool
const ElementwiseOptions kIntegers{OutType::Same, false, true};  // shifts, gcd, lcm

Inferred add_sub_rule(const std::vector<Tensor>& in, const Attrs& attrs, bool is_sub) {
  // PyTorch refuses a bool operand of sub even when the other one promotes it (x - True).
  for (const Tensor& t : in)
    TERRA_CHECK(!is_sub || !t.defined() || t.dtype() != DType::Bool, Runtime,
                "Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to invert a "
                "mask, use the `~` or `logical_not()` operator instead.");
  Inferred inf = rules::elementwise(in, is_sub ? kNoBool : kSame);
  rules::check_alpha(inf.outputs[0].dtype, attrs.get<Scalar>("alpha"));
  return inf;
}

Inferred div_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  if (attrs.is_none("rounding_mode")) return rules::elementwise(in, kFloat);
  const std::string& mode = attrs.get<std::string>("rounding_mode");
  TERRA_CHECK(mode == "trunc" || mode == "floor", Value,
              "div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '", mode, "'");
  return rules::elementwise(in, kNoBool);
}

// PyTorch refuses an integer tensor raised to a negative Python integer (a tensor exponent with
// negative entries gives 0, 1 or -1, as the kernel computes).
Inferred pow_rule(const std::vector<Tensor>& in, const Attrs&) {
  Inferred inf = rules::elementwise(in, kNoBool);
  const Tensor& exponent = in[1];
  TERRA_CHECK(!(exponent.is_wrapped_number() && exponent.dtype() == DType::Int64 && *exponent.data<int64_t>() < 0 &&
                is_integral(inf.outputs[0].dtype, false)),
              Runtime, "Integers to negative integer powers are not allowed.");
  return inf;
}

Inferred where_rule(const std::vector<Tensor>& in, const Attrs&) {
  TERRA_CHECK(in[0].dtype() == DType::Bool, Runtime,
              "where expected condition to be a boolean tensor, but got a tensor with dtype ", dtype_name(in[0].dtype()));
  DType ct = rules::result_type({in[1], in[2]});
  Inferred inf;
  inf.outputs.push_back(TensorMeta{rules::broadcast_all(in), ct, rules::common_device(in)});
  inf.input_dtypes = {DType::Bool, ct, ct};
  return inf;
}

// The two gradients of a binary op, each summed back to its input's shape.
TensorList reduced(const GradContext& c, const Tensor& g_self, const Tensor& g_other) {
  return {g_self.defined() ? grad::sum_to(g_self, c.input_shape(0)) : Tensor(),
          g_other.defined() ? grad::sum_to(g_other, c.input_shape(1)) : Tensor()};
}

// alpha scales `other` in add/sub: d/dother = sign * alpha.
GradFn add_sub_grad(double sign) {
  return [sign](const GradContext& c) -> TensorList {
    const Tensor& g = c.grad();
    const double alpha = sign * c.attrs.get<Scalar>("alpha").as_double();
    return reduced(c, c.needs(0) ? g : Tensor(), !c.needs(1) ? Tensor() : alpha == 1.0 ? g : mul(g, alpha));
  };
}

TensorList mul_grad(const GradContext& c) {
  return reduced(c, c.needs(0) ? mul(c.grad(), c.input(1)) : Tensor(), c.needs(1) ? mul(c.grad(), c.input(0)) : Tensor());
}

// With a rounding mode the quotient is piecewise constant: zero gradients, as in PyTorch.
TensorList div_grad(const GradContext& c) {
  if (!c.attrs.is_none("rounding_mode"))
    return {c.needs(0) ? zeros(c.input_shape(0), c.grad()) : Tensor(),
            c.needs(1) ? zeros(c.input_shape(1), c.grad()) : Tensor()};
  Tensor g_a = div(c.grad(), c.input(1));  // d/db (a / b) = -(g / b) (a / b)
  return reduced(c, c.needs(0) ? g_a : Tensor(), c.needs(1) ? neg(mul(g_a, div(c.input(0), c.input(1)))) : Tensor());
}

// remainder(a, b) = a - b floor(a / b).
TensorList remainder_grad(const GradContext& c) {
  Tensor g_b;
  if (c.needs(1))
    g_b = neg(mul(c.grad(), call1("div", {c.input(0), c.input(1)}, {{"rounding_mode", "floor"}})));
  return reduced(c, c.needs(0) ? c.grad() : Tensor(), g_b);
}

// maximum / minimum: the gradient goes to the chosen input, split in half on ties (PyTorch);
// `loses` is the comparison under which `self` is not chosen.
GradFn extremum_grad(const char* loses, const char* wins) {
  return [=](const GradContext& c) -> TensorList {
    const Tensor &a = c.input(0), &b = c.input(1), &g = c.grad();
    Tensor split = where(eq(a, b), mul(g, 0.5), g);
    return reduced(c, c.needs(0) ? zero_where(call1(loses, {a, b}), split) : Tensor(),
                   c.needs(1) ? zero_where(call1(wins, {a, b}), split) : Tensor());
  };
}

// PyTorch's pow_backward_self / pow_backward_exponent: d/da is 0 where the exponent is 0 (also at
// a = 0); d/db = a^b log(a), taken as 0 where a = 0 and b >= 0 (and NaN for a < 0, as log gives).
TensorList pow_grad(const GradContext& c) {
  // A Python number (x ** 0.6, 2.0 ** x) as a tensor of the result's dtype: alone in sub or log it
  // would compute in the default float32 and round a float64 gradient.
  const DType dtype = c.output(0).dtype();
  auto operand = [&](size_t i) { return c.input(i).is_wrapped_number() ? number_as_tensor(c.input(i), dtype) : c.input(i); };
  const Tensor a = operand(0), b = operand(1);
  const Tensor& g = c.grad();
  Tensor g_a, g_b;
  if (c.needs(0)) g_a = zero_where(eq(b, 0.0), mul(g, mul(b, call1("pow", {a, sub(b, scalar(1.0, b))}))));
  if (c.needs(1)) {
    Tensor at_zero = call1("logical_and", {eq(a, 0.0), call1("ge", {b, scalar(0.0, b)})});
    g_b = mul(g, zero_where(at_zero, mul(c.output(0), call1("log", {a}))));
  }
  return reduced(c, g_a, g_b);
}

// atan2(a, b): d/da = b / (a^2 + b^2), d/db = -a / (a^2 + b^2).
TensorList atan2_grad(const GradContext& c) {
  const Tensor &a = c.input(0), &b = c.input(1);
  Tensor q = div(c.grad(), add(mul(a, a), mul(b, b)));
  return reduced(c, c.needs(0) ? mul(q, b) : Tensor(), c.needs(1) ? neg(mul(q, a)) : Tensor());
}

// where(cond, a, b): the condition is boolean, so only a and b get gradients.
TensorList where_grad(const GradContext& c) {
  const Tensor &cond = c.input(0), &g = c.grad();
  return {Tensor(), c.needs(1) ? grad::sum_to(where_or_zero(cond, g), c.input_shape(1)) : Tensor(),
          c.needs(2) ? grad::sum_to(zero_where(cond, g), c.input_shape(2)) : Tensor()};
}

struct Entry {
  const char* schema;
  InferFn rule;
  GradFn grad;  // empty: not differentiable (comparisons, logical ops)
  SaveSet saves = SaveSet::all();
};

const bool registered = [] {
  const InferFn same = rules::elementwise_rule(kSame), no_bool = rules::elementwise_rule(kNoBool),
                to_float = rules::elementwise_rule(kFloat), compare = rules::elementwise_rule(kCompare),
                bitwise = rules::elementwise_rule(kBitwise), integers = rules::elementwise_rule(kIntegers);
  const SaveSet inputs_only = SaveSet::only_inputs({0, 1});
  const Entry entries[] = {
      {"add(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor",
       [](const std::vector<Tensor>& in, const Attrs& a) { return add_sub_rule(in, a, false); }, add_sub_grad(1.0),
       SaveSet::none()},
      {"sub(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor",
       [](const std::vector<Tensor>& in, const Attrs& a) { return add_sub_rule(in, a, true); }, add_sub_grad(-1.0),
       SaveSet::none()},
      {"mul(Tensor self, Tensor other) -> Tensor", same, mul_grad, SaveSet(inputs_only).only_for_others({0, 1})},
      // a / b's gradient for a reads only b; a is kept for b's.
      {"div(Tensor self, Tensor other, *, str? rounding_mode=None) -> Tensor", div_rule, div_grad,
       SaveSet(inputs_only).only_for_others({0})},
      {"remainder(Tensor self, Tensor other) -> Tensor", no_bool, remainder_grad, inputs_only},
      {"maximum(Tensor self, Tensor other) -> Tensor", same, extremum_grad("lt", "gt"), inputs_only},
      {"minimum(Tensor self, Tensor other) -> Tensor", same, extremum_grad("gt", "lt"), inputs_only},
      {"pow(Tensor self, Tensor exponent) -> Tensor", pow_rule, pow_grad},
      {"atan2(Tensor self, Tensor other) -> Tensor", to_float, atan2_grad, inputs_only},
      {"eq(Tensor self, Tensor other) -> Tensor", compare, nullptr},
      {"ne(Tensor self, Tensor other) -> Tensor", compare, nullptr},
      {"lt(Tensor self, Tensor other) -> Tensor", compare, nullptr},
      {"le(Tensor self, Tensor other) -> Tensor", compare, nullptr},
      {"gt(Tensor self, Tensor other) -> Tensor", compare, nullptr},
      {"ge(Tensor self, Tensor other) -> Tensor", compare, nullptr},
      {"logical_and(Tensor self, Tensor other) -> Tensor", compare, nullptr},
      {"logical_or(Tensor self, Tensor other) -> Tensor", compare, nullptr},
      {"logical_xor(Tensor self, Tensor other) -> Tensor", compare, nullptr},
      {"bitwise_and(Tensor self, Tensor other) -> Tensor", bitwise, nullptr},
      {"bitwise_or(Tensor self, Tensor other) -> Tensor", bitwise, nullptr},
      {"bitwise_xor(Tensor self, Tensor other) -> Tensor", bitwise, nullptr},
      {"bitwise_left_shift(Tensor self, Tensor other) -> Tensor", integers, nullptr},
      {"bitwise_right_shift(Tensor self, Tensor other) -> Tensor", integers, nullptr},
      {"gcd(Tensor self, Tensor other) -> Tensor", integers, nullptr},
      {"lcm(Tensor self, Tensor other) -> Tensor", integers, nullptr},
      {"where(Tensor condition, Tensor self, Tensor other) -> Tensor", where_rule, where_grad, SaveSet::only_inputs({0})},
  };
  for (const Entry& e : entries) {
    OpRegistrar reg(e.schema);
    reg.infer(e.rule).fusion(FusionKind::Elementwise);
    if (e.grad) reg.grad(e.grad, e.saves);
    else reg.not_differentiable();
  }
  return true;
}();

}  // namespace
}  // namespace terra
