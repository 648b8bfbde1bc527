// Registry entries of the elementwise unary ops. Math lives in kernels/common/unary_math.hpp;
// here each op states its signature and dtype rule (integers promote to float for
// transcendental functions, bool is rejected where PyTorch rejects it).
#include "engine/ops/rules.hpp"
#include "engine/registry/registry.hpp"

namespace terra {
namespace {

using rules::ElementwiseOptions;
using rules::OutType;

const ElementwiseOptions kFloat{OutType::Float, true, false};
const ElementwiseOptions kNumeric{OutType::Same, false, false};

// Predicates read any dtype as it is and return bool.
Inferred predicate_rule(const std::vector<Tensor>& in, const Attrs&) { return rules::like(in[0], DType::Bool); }

Inferred gelu_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const std::string& a = attrs.get<std::string>("approximate");
  TERRA_CHECK(a == "none" || a == "tanh", Runtime, "approximate argument must be either none or tanh, got '", a, "'");
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

const bool registered = [] {
  const InferFn to_float = rules::elementwise_rule(kFloat), numeric = rules::elementwise_rule(kNumeric);
  const std::pair<const char*, InferFn> entries[] = {
      {"neg(Tensor self) -> Tensor", numeric},
      {"abs(Tensor self) -> Tensor", numeric},
      {"sign(Tensor self) -> Tensor", numeric},
      {"exp(Tensor self) -> Tensor", to_float},
      {"log(Tensor self) -> Tensor", to_float},
      {"log1p(Tensor self) -> Tensor", to_float},
      {"expm1(Tensor self) -> Tensor", to_float},
      {"sqrt(Tensor self) -> Tensor", to_float},
      {"rsqrt(Tensor self) -> Tensor", to_float},
      {"sin(Tensor self) -> Tensor", to_float},
      {"cos(Tensor self) -> Tensor", to_float},
      {"tanh(Tensor self) -> Tensor", to_float},
      {"sigmoid(Tensor self) -> Tensor", to_float},
      {"relu(Tensor self) -> Tensor", numeric},
      {"gelu(Tensor self, *, str approximate=\"none\") -> Tensor", gelu_rule},
      {"silu(Tensor self) -> Tensor", to_float},
      {"softplus(Tensor self, float beta=1.0, float threshold=20.0) -> Tensor", to_float},
      {"leaky_relu(Tensor self, float negative_slope=0.01) -> Tensor", to_float},
      {"elu(Tensor self, float alpha=1.0) -> Tensor", to_float},
      {"erf(Tensor self) -> Tensor", to_float},
      {"floor(Tensor self) -> Tensor", numeric},
      {"ceil(Tensor self) -> Tensor", numeric},
      {"round(Tensor self, *, int decimals=0) -> Tensor", numeric},
      {"reciprocal(Tensor self) -> Tensor", to_float},
      {"clamp(Tensor self, Scalar? min=None, Scalar? max=None) -> Tensor", clamp_rule},
      {"logical_not(Tensor self) -> Tensor", predicate_rule},
      {"isnan(Tensor self) -> Tensor", predicate_rule},
      {"isinf(Tensor self) -> Tensor", predicate_rule},
  };
  for (const auto& [schema, rule] : entries) OpRegistrar(schema).infer(rule).fusion(FusionKind::Elementwise);
  return true;
}();

}  // namespace
}  // namespace terra
