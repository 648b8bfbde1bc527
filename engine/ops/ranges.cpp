// Registry entries of the range creation ops: arange, linspace, eye. Their rules decide the
// length and dtype from the arguments alone, with PyTorch 1.13's formulas and messages: arange
// is int64 unless an argument is a float (then the default float type), and measures its length
// in the accumulation type its kernel uses (int64 for integer outputs, double otherwise).
#include <cmath>
#include <limits>

#include "engine/ops/rules.hpp"
#include "engine/registry/registry.hpp"

namespace terra {
namespace {

// Whether a Scalar converts to an integer dtype without overflow (floating dtypes take anything).
bool fits(const Scalar& v, DType dtype) {
  if (is_floating(dtype)) return true;
  const double lo = dtype == DType::Int32 ? -2147483648.0 : -9223372036854775808.0;
  if (!v.is_floating()) return dtype == DType::Int64 || (v.as_int() >= lo && v.as_int() <= -lo - 1);
  return v.as_double() >= lo && v.as_double() < -lo;  // false for NaN and inf
}

Inferred vector_of(int64_t n, DType dtype, const Attrs& attrs) {
  Inferred inf;
  inf.outputs.push_back(TensorMeta{{n}, dtype, rules::device_attr(attrs)});
  return inf;
}

Inferred arange_rule(const std::vector<Tensor>&, const Attrs& attrs) {
  const Scalar start = attrs.get<Scalar>("start"), end = attrs.get<Scalar>("end"), step = attrs.get<Scalar>("step");
  const bool any_float = start.is_floating() || end.is_floating() || step.is_floating();
  const DType dtype = attrs.opt<DType>("dtype").value_or(any_float ? default_float_dtype() : DType::Int64);
  TERRA_CHECK(dtype != DType::Bool, Runtime, "\"arange\" not implemented for 'bool'");
  TERRA_CHECK(std::isfinite(start.as_double()) && std::isfinite(end.as_double()), Runtime,
              "unsupported range: ", start.as_double(), " -> ", end.as_double());
  const bool integral = is_integral(dtype, false);
  // Integer outputs accumulate in int64.
  for (const Scalar& v : {start, end, step})
    TERRA_CHECK(!integral || fits(v, DType::Int64), Runtime, "value cannot be converted to type int64 without overflow");
  // Integer outputs truncate the arguments to int64 before anything is compared.
  auto acc = [&](const Scalar& s) { return integral ? static_cast<double>(s.as_int()) : s.as_double(); };
  const double xstart = acc(start), xend = acc(end), xstep = acc(step);
  TERRA_CHECK(xstep > 0 || xstep < 0, Runtime, "step must be nonzero");
  TERRA_CHECK((xstep > 0 && xend >= xstart) || (xstep < 0 && xend <= xstart), Runtime,
              "upper bound and larger bound inconsistent with step sign");
  // PyTorch takes the int64 difference for int64 outputs only; int32 ones use the doubles.
  const double span = dtype == DType::Int64
                          ? static_cast<double>(static_cast<int64_t>(static_cast<uint64_t>(end.as_int()) -
                                                                     static_cast<uint64_t>(start.as_int())))
                          : end.as_double() - start.as_double();
  const double size = std::ceil(span / (dtype == DType::Int64 ? xstep : step.as_double()));
  TERRA_CHECK(size >= 0 && size <= static_cast<double>(std::numeric_limits<int64_t>::max()), Runtime,
              "invalid size, possible overflow?");
  return vector_of(static_cast<int64_t>(size), dtype, attrs);
}

Inferred linspace_rule(const std::vector<Tensor>&, const Attrs& attrs) {
  const int64_t steps = attrs.get<int64_t>("steps");
  TERRA_CHECK(steps >= 0, Runtime, "number of steps must be non-negative");
  const DType dtype = attrs.opt<DType>("dtype").value_or(default_float_dtype());
  TERRA_CHECK(dtype != DType::Bool, Runtime, "\"linspace\" not implemented for 'bool'");
  for (const Scalar& v : {attrs.get<Scalar>("start"), attrs.get<Scalar>("end")})
    TERRA_CHECK(fits(v, dtype), Runtime, "value cannot be converted to type ", dtype_name(dtype), " without overflow");
  return vector_of(steps, dtype, attrs);
}

Inferred eye_rule(const std::vector<Tensor>&, const Attrs& attrs) {
  const int64_t n = attrs.get<int64_t>("n");
  int64_t m = attrs.get<int64_t>("m");
  TERRA_CHECK(n >= 0, Runtime, "n must be greater or equal to 0, got ", n);
  if (m == -1) m = n;
  TERRA_CHECK(m >= 0, Runtime, "m must be greater or equal to 0, got ", m);
  Inferred inf;
  inf.outputs.push_back(
      TensorMeta{{n, m}, attrs.opt<DType>("dtype").value_or(default_float_dtype()), rules::device_attr(attrs)});
  return inf;
}

}  // namespace

TERRA_OP("arange(Scalar start, Scalar end, Scalar step=1, *, ScalarType? dtype=None, Device? device=None) -> Tensor")
    .infer(arange_rule)
    .not_differentiable();
TERRA_OP("linspace(Scalar start, Scalar end, int steps, *, ScalarType? dtype=None, Device? device=None) -> Tensor")
    .infer(linspace_rule)
    .not_differentiable();
// m = -1 stands for "m = n" (PyTorch's eye(n) overload).
TERRA_OP("eye(int n, int m=-1, *, ScalarType? dtype=None, Device? device=None) -> Tensor")
    .infer(eye_rule)
    .not_differentiable();

}  // namespace terra
