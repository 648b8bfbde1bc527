// Registry entries of the random ops: rand, randn, randint, randperm, bernoulli, bernoulli_p,
// dropout. All are Effect::Random: each call draws fresh counters from its generator (the default
// one when None), so the graph compiler must neither merge nor reorder them. How counters become
// numbers is fixed in kernels/common/random_math.hpp (Note [Philox element mapping]). Only dropout
// is differentiable; it returns its mask as a second output so that its gradient is exact (a mask
// recomputed from the output would be wrong wherever the input was zero).
#include <limits>

#include "engine/autograd/grad_helpers.hpp"
#include "engine/ops/rules.hpp"

namespace terra {
namespace {

Inferred made(const Shape& shape, DType dtype, const Attrs& attrs) {
  Inferred inf;
  inf.outputs.push_back(TensorMeta{shape, dtype, rules::device_attr(attrs)});
  return inf;
}

[[noreturn]] void not_implemented(const char* op, DType dtype) {
  fail(ErrorKind::Runtime, "\"", op, "\" not implemented for '", dtype_name(dtype), "'");
}

// rand and randn: floating outputs only.
InferFn floating_sample_rule(const char* op) {
  return [op](const std::vector<Tensor>&, const Attrs& attrs) {
    const DType dtype = attrs.opt<DType>("dtype").value_or(default_float_dtype());
    if (!is_floating(dtype)) not_implemented(op, dtype);
    return made(rules::size_attr(attrs), dtype, attrs);
  };
}

// The largest n such that a dtype holds every integer in [0, n] exactly.
double largest_exact_integer(DType dtype) {
  switch (dtype) {
    case DType::Bool: return 1;
    case DType::Int32: return std::numeric_limits<int32_t>::max();
    case DType::Float32: return 16777216.0;          // 2^24
    case DType::Float64: return 9007199254740992.0;  // 2^53
    default: return static_cast<double>(std::numeric_limits<int64_t>::max());
  }
}

Inferred randint_rule(const std::vector<Tensor>&, const Attrs& attrs) {
  const int64_t low = attrs.get<int64_t>("low"), high = attrs.get<int64_t>("high");
  TERRA_CHECK(low < high, Runtime, "random_ expects 'from' to be less than 'to', but got from=", low, " >= to=", high);
  const DType dtype = attrs.opt<DType>("dtype").value_or(DType::Int64);
  // Integer outputs must hold every value of [low, high); floats are as exact as PyTorch makes them.
  if (!is_floating(dtype)) {
    const double top = largest_exact_integer(dtype);
    const double bottom = dtype == DType::Bool ? 0.0 : -top - 1;
    TERRA_CHECK(static_cast<double>(low) >= bottom, Runtime, "from is out of bounds for ", dtype_name(dtype));
    TERRA_CHECK(static_cast<double>(high) - 1 <= top, Runtime, "to - 1 is out of bounds for ", dtype_name(dtype));
  }
  return made(rules::size_attr(attrs), dtype, attrs);
}

Inferred randperm_rule(const std::vector<Tensor>&, const Attrs& attrs) {
  const int64_t n = attrs.get<int64_t>("n");
  TERRA_CHECK(n >= 0, Runtime, "Trying to create tensor with negative dimension ", n, ": [", n, "]");
  const DType dtype = attrs.opt<DType>("dtype").value_or(DType::Int64);
  if (dtype == DType::Bool) not_implemented("randperm", dtype);
  TERRA_CHECK(static_cast<double>(n) - 1 <= largest_exact_integer(dtype), Runtime,
              "n is too large for result tensor type: '", dtype_name(dtype), "'");
  return made({n}, dtype, attrs);
}

// bernoulli(self): self's values are the probabilities (checked by the kernel, which sees them).
Inferred bernoulli_rule(const std::vector<Tensor>& in, const Attrs&) {
  if (!is_floating(in[0].dtype())) not_implemented("bernoulli", in[0].dtype());
  return rules::like(in[0], in[0].dtype());
}

Inferred bernoulli_p_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const double p = attrs.get<double>("p");
  TERRA_CHECK(p >= 0 && p <= 1, Runtime, "bernoulli_ expects p to be in [0, 1], but got p=", p);
  return rules::like(in[0], in[0].dtype());
}

// ValueError, as torch.nn.functional.dropout raises it (the wording is ATen's). The mask (true
// where an element was kept) exists only when some elements are kept at random; otherwise it is
// empty, shape [0].
Inferred dropout_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const double p = attrs.get<double>("p");
  TERRA_CHECK(p >= 0 && p <= 1, Value, "dropout probability has to be between 0 and 1, but got ", p);
  const DType dtype = in[0].dtype();
  // Only a real mask scales by 1 / (1 - p), which integer tensors cannot hold.
  const bool masks = attrs.get<bool>("train") && p > 0 && p < 1;
  TERRA_CHECK(!masks || is_floating(dtype), Runtime, "result type ", dtype_name(default_float_dtype()),
              " can't be cast to the desired output type ", dtype_name(dtype));
  Inferred inf = rules::like(in[0], dtype);
  inf.outputs.push_back(TensorMeta{masks ? in[0].shape() : Shape{0}, DType::Bool, in[0].device()});
  return inf;
}

// grad_output * mask * scale with the forward's scale (1 / (1 - p) rounded to the dtype), so the
// gradient is exactly what the forward multiplied by.
TensorList dropout_grad(const GradContext& c) {
  const Tensor& g = c.grad();
  const double p = c.attrs.get<double>("p");
  if (!c.attrs.get<bool>("train") || p == 0) return {g};
  if (p == 1) return {call1("mul", {g, Tensor::wrap_scalar(0.0, g.dtype())})};
  const double scale = g.dtype() == DType::Float32 ? static_cast<double>(1.0f / static_cast<float>(1.0 - p)) : 1.0 / (1.0 - p);
  Tensor scaled = call1("mul", {g, Tensor::wrap_scalar(scale, g.dtype())});
  return {call1("where", {c.output(1), scaled, Tensor::wrap_scalar(0.0, g.dtype())})};
}

}  // namespace

TERRA_OP("rand(int[] size, *, Generator? generator=None, ScalarType? dtype=None, Device? device=None) -> Tensor")
    .infer(floating_sample_rule("rand"))
    .effect(Effect::Random)
    .not_differentiable();
TERRA_OP("randn(int[] size, *, Generator? generator=None, ScalarType? dtype=None, Device? device=None) -> Tensor")
    .infer(floating_sample_rule("randn"))
    .effect(Effect::Random)
    .not_differentiable();
TERRA_OP("randint(int low, int high, int[] size, *, Generator? generator=None, ScalarType? dtype=None, "
         "Device? device=None) -> Tensor")
    .infer(randint_rule)
    .effect(Effect::Random)
    .not_differentiable();
TERRA_OP("randperm(int n, *, Generator? generator=None, ScalarType? dtype=None, Device? device=None) -> Tensor")
    .infer(randperm_rule)
    .effect(Effect::Random)
    .not_differentiable();
TERRA_OP("bernoulli(Tensor self, *, Generator? generator=None) -> Tensor")
    .infer(bernoulli_rule)
    .effect(Effect::Random)
    .not_differentiable();
TERRA_OP("bernoulli_p(Tensor self, float p, *, Generator? generator=None) -> Tensor")
    .infer(bernoulli_p_rule)
    .effect(Effect::Random)
    .not_differentiable();
// Output 0 is the result; output 1 the kept-element mask its gradient reads (grad_output * mask / (1 - p)).
TERRA_OP("dropout(Tensor input, float p=0.5, bool train=True, *, Generator? generator=None) -> (Tensor output, "
         "Tensor mask)")
    .infer(dropout_rule)
    .effect(Effect::Random)
    .differentiable_outputs({0})
    .grad(dropout_grad, SaveSet::only_outputs({1}));

}  // namespace terra
