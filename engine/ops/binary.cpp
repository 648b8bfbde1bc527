// Registry entries of the elementwise binary ops and where(): broadcasting and PyTorch's type
// promotion (rules::elementwise), plus each op's own argument checks.
#include "engine/autograd/grad_helpers.hpp"
#include "engine/ops/rules.hpp"
#include "engine/registry/registry.hpp"

namespace terra {
namespace {

using rules::ElementwiseOptions;
using rules::OutType;

const ElementwiseOptions kSame{OutType::Same, true, false};
const ElementwiseOptions kNoBool{OutType::Same, false, false};
const ElementwiseOptions kFloat{OutType::Float, true, false};
const ElementwiseOptions kCompare{OutType::Bool, true, false};

Inferred add_sub_rule(const std::vector<Tensor>& in, const Attrs& attrs, bool is_sub) {
  Inferred inf = rules::elementwise(in, is_sub ? kNoBool : kSame);
  const Scalar alpha = attrs.get<Scalar>("alpha");
  DType ct = inf.outputs[0].dtype;
  TERRA_CHECK(is_floating(ct) || !alpha.is_floating(), Runtime,
              "For integral input tensors, argument alpha must not be a floating point number.");
  TERRA_CHECK(ct != DType::Bool || alpha.is_bool() || alpha.as_int() == 1, Runtime,
              "Boolean alpha only supported for Boolean results.");
  return inf;
}

Inferred div_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  if (attrs.is_none("rounding_mode")) return rules::elementwise(in, kFloat);
  const std::string& mode = attrs.get<std::string>("rounding_mode");
  TERRA_CHECK(mode == "trunc" || mode == "floor", Value,
              "div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '", mode, "'");
  return rules::elementwise(in, kNoBool);
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

// alpha scales `other` in add/sub: d/dother = ±alpha.
Tensor scaled(const Tensor& g, const Attrs& a, double sign) {
  double alpha = sign * a.get<Scalar>("alpha").as_double();
  return alpha == 1.0 ? g : call1("mul", {g, Tensor::wrap_scalar(alpha, g.dtype())});
}

TensorList add_grad(const GradContext& c) {
  return {c.needs(0) ? grad::sum_to(c.grad(), c.input_shape(0)) : Tensor(),
          c.needs(1) ? grad::sum_to(scaled(c.grad(), c.attrs, 1.0), c.input_shape(1)) : Tensor()};
}

TensorList sub_grad(const GradContext& c) {
  return {c.needs(0) ? grad::sum_to(c.grad(), c.input_shape(0)) : Tensor(),
          c.needs(1) ? grad::sum_to(scaled(c.grad(), c.attrs, -1.0), c.input_shape(1)) : Tensor()};
}

TensorList mul_grad(const GradContext& c) {
  return {c.needs(0) ? grad::sum_to(call1("mul", {c.grad(), c.input(1)}), c.input_shape(0)) : Tensor(),
          c.needs(1) ? grad::sum_to(call1("mul", {c.grad(), c.input(0)}), c.input_shape(1)) : Tensor()};
}

struct Entry {
  const char* schema;
  InferFn rule;
  GradFn grad;        // empty: not differentiable (comparisons, logical ops)
  SaveSet saves = SaveSet::all();
};

const bool registered = [] {
  const InferFn same = rules::elementwise_rule(kSame), no_bool = rules::elementwise_rule(kNoBool),
                to_float = rules::elementwise_rule(kFloat), compare = rules::elementwise_rule(kCompare);
  const SaveSet inputs_only = SaveSet::only_inputs({0, 1});
  const Entry entries[] = {
      {"add(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor",
       [](const std::vector<Tensor>& in, const Attrs& a) { return add_sub_rule(in, a, false); }, add_grad,
       SaveSet::none()},
      {"sub(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor",
       [](const std::vector<Tensor>& in, const Attrs& a) { return add_sub_rule(in, a, true); }, sub_grad,
       SaveSet::none()},
      {"mul(Tensor self, Tensor other) -> Tensor", same, mul_grad, inputs_only},
      {"div(Tensor self, Tensor other, *, str? rounding_mode=None) -> Tensor", div_rule, nullptr},
      {"remainder(Tensor self, Tensor other) -> Tensor", no_bool, nullptr},
      {"maximum(Tensor self, Tensor other) -> Tensor", same, nullptr},
      {"minimum(Tensor self, Tensor other) -> Tensor", same, nullptr},
      {"pow(Tensor self, Tensor exponent) -> Tensor", no_bool, nullptr},
      {"atan2(Tensor self, Tensor other) -> Tensor", to_float, nullptr},
      {"eq(Tensor self, Tensor other) -> Tensor", compare, nullptr},
      {"ne(Tensor self, Tensor other) -> Tensor", compare, nullptr},
      {"lt(Tensor self, Tensor other) -> Tensor", compare, nullptr},
      {"le(Tensor self, Tensor other) -> Tensor", compare, nullptr},
      {"gt(Tensor self, Tensor other) -> Tensor", compare, nullptr},
      {"ge(Tensor self, Tensor other) -> Tensor", compare, nullptr},
      {"logical_and(Tensor self, Tensor other) -> Tensor", compare, nullptr},
      {"logical_or(Tensor self, Tensor other) -> Tensor", compare, nullptr},
      {"logical_xor(Tensor self, Tensor other) -> Tensor", compare, nullptr},
      {"where(Tensor condition, Tensor self, Tensor other) -> Tensor", where_rule, nullptr},
  };
  for (const Entry& e : entries) {
    OpRegistrar reg(e.schema);
    reg.infer(e.rule).fusion(FusionKind::Elementwise);
    if (e.grad) reg.grad(e.grad, e.saves);
  }
  return true;
}();

}  // namespace
}  // namespace terra
