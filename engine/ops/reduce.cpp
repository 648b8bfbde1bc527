// Registry entries of the reductions and of cumsum: which dims an op reduces (an int, a list, or
// None / [] for all), keepdim shapes, PyTorch's result dtypes (integer sums and products give
// int64, dtype= converts the input first, mean/var/norm want floating inputs) and the errors
// PyTorch raises for empty reductions that have no identity (max, argmax, ...), and their
// gradients (PyTorch's formulas, written as op calls: Note [Reduction gradients]).
#include <cmath>

#include "engine/ops/formula_ops.hpp"
#include "engine/ops/rules.hpp"
#include "engine/registry/registry.hpp"

namespace terra {
namespace {

// The normalized, sorted dims named by the "dim" attribute (None or [] means every dim); raises
// PyTorch's errors for out-of-range and repeated dims.
std::vector<int64_t> reduced_dims(int64_t ndim, const Attrs& attrs) {
  const AttrValue& v = attrs["dim"];
  std::vector<int64_t> dims;
  if (const auto* d = std::get_if<int64_t>(&v)) dims = {*d};
  if (const auto* l = std::get_if<std::vector<int64_t>>(&v)) dims = *l;
  return normalize_dims(dims, ndim);
}
std::vector<int64_t> reduced_dims(const Tensor& t, const Attrs& attrs) { return reduced_dims(t.dim(), attrs); }

Shape reduced_shape(const Tensor& t, const std::vector<int64_t>& dims, bool keepdim) {
  Shape out;
  for (int64_t d = 0, k = 0; d < t.dim(); ++d) {
    const bool r = k < static_cast<int64_t>(dims.size()) && dims[k] == d;
    k += r;
    if (!r) out.push_back(t.shape()[d]);
    else if (keepdim) out.push_back(1);
  }
  return out;
}

Inferred reduction(const Tensor& t, const Attrs& attrs, DType out) {
  Inferred inf;
  inf.outputs.push_back(TensorMeta{reduced_shape(t, reduced_dims(t, attrs), attrs.get<bool>("keepdim")), out, t.device()});
  return inf;
}

// Reductions without an identity (max, amax, argmax, ...) cannot reduce an empty slice.
void require_nonempty(const Tensor& t, const std::vector<int64_t>& dims, bool all_dims) {
  if (all_dims) {
    TERRA_CHECK(t.numel() != 0, Runtime,
                "Expected reduction dim to be specified for input.numel() == 0. Specify the reduction dim with the "
                "'dim' argument.");
    return;
  }
  for (int64_t d : dims)
    TERRA_CHECK(t.shape()[d] != 0, Index, "Expected reduction dim ", d, " to have non-zero size.");
}

bool all_dims_requested(const Attrs& attrs) {
  const AttrValue& v = attrs["dim"];
  const auto* l = std::get_if<std::vector<int64_t>>(&v);
  return std::holds_alternative<std::monostate>(v) || (l && l->empty());
}

// sum and prod: dtype= converts first; otherwise bool and integers accumulate into int64.
Inferred sum_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const Tensor& t = in[0];
  const auto dtype = attrs.opt<DType>("dtype");
  DType out = dtype ? *dtype : (is_integral(t.dtype(), true) ? DType::Int64 : t.dtype());
  Inferred inf = reduction(t, attrs, out);
  if (dtype) inf.input_dtypes = {*dtype};
  return inf;
}

Inferred mean_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const Tensor& t = in[0];
  const auto dtype = attrs.opt<DType>("dtype");
  if (dtype) {
    TERRA_CHECK(is_floating(*dtype), Runtime,
                "could not infer output dtype. Optional dtype must be either a floating point or complex dtype. Got: ",
                dtype_name(*dtype));
  } else {
    TERRA_CHECK(is_floating(t.dtype()), Runtime,
                "could not infer output dtype. Input dtype must be either a floating point or complex dtype. Got: ",
                dtype_name(t.dtype()));
  }
  const DType out = dtype ? *dtype : t.dtype();
  Inferred inf = reduction(t, attrs, out);
  inf.input_dtypes = {out};
  return inf;
}

// max(self) / min(self): every element, no identity.
Inferred extremum_all_rule(const std::vector<Tensor>& in, const Attrs&) {
  require_nonempty(in[0], {}, true);
  Inferred inf;
  inf.outputs.push_back(TensorMeta{{}, in[0].dtype(), in[0].device()});
  return inf;
}

// amax / amin over a dim list ([] is every dim).
Inferred amax_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const Tensor& t = in[0];
  require_nonempty(t, reduced_dims(t, attrs), all_dims_requested(attrs));
  return reduction(t, attrs, t.dtype());
}

// max_dim / min_dim: values and int64 indices.
Inferred max_dim_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const Tensor& t = in[0];
  const auto dims = reduced_dims(t, attrs);
  require_nonempty(t, dims, false);
  Inferred inf = reduction(t, attrs, t.dtype());
  inf.outputs.push_back(TensorMeta{inf.outputs[0].shape, DType::Int64, t.device()});
  return inf;
}

// argmax / argmin: dim=None reduces the flattened tensor (keepdim then keeps every dim as 1).
Inferred argmax_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const Tensor& t = in[0];
  TERRA_CHECK(t.dtype() != DType::Bool, Runtime, "not implemented for 'bool'");
  const bool flat = attrs.is_none("dim");
  if (flat) {
    TERRA_CHECK(t.numel() != 0, Index, "Expected reduction dim to be specified for input.numel() == 0.");
  } else {
    require_nonempty(t, reduced_dims(t, attrs), false);
  }
  return reduction(t, attrs, DType::Int64);
}

Inferred var_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const Tensor& t = in[0];
  TERRA_CHECK(is_floating(t.dtype()), Runtime, "std and var only support floating point and complex dtypes");
  return reduction(t, attrs, t.dtype());
}

Inferred norm_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const Tensor& t = in[0];
  TERRA_CHECK(is_floating(t.dtype()), Runtime, "input dtype should be either floating point or complex. Got ",
              dtype_name(t.dtype()), " instead.");
  return reduction(t, attrs, t.dtype());
}

// Integers and bool promote to the default float dtype.
Inferred logsumexp_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const Tensor& t = in[0];
  const DType out = is_floating(t.dtype()) ? t.dtype() : default_float_dtype();
  Inferred inf = reduction(t, attrs, out);
  inf.input_dtypes = {out};
  return inf;
}

Inferred all_any_rule(const std::vector<Tensor>& in, const Attrs& attrs) { return reduction(in[0], attrs, DType::Bool); }

Inferred cumsum_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const Tensor& t = in[0];
  normalize_dim(attrs.get<int64_t>("dim"), t.dim());
  const auto dtype = attrs.opt<DType>("dtype");
  const DType out = dtype ? *dtype : (is_integral(t.dtype(), true) ? DType::Int64 : t.dtype());
  TERRA_CHECK(out != DType::Bool, Runtime, "not implemented for 'bool'");
  Inferred inf = rules::like(t, out);
  if (dtype) inf.input_dtypes = {*dtype};
  return inf;
}

// ---- Gradients ---------------------------------------------------------------------------------
// Note [Reduction gradients]
// A reduction's gradient (and, where a formula needs it, its result) is first given the input's
// rank back, the reduced dims as size 1 (`Reduced::keep`, a reshape: PyTorch's unsqueeze_multiple
// for keepdim=False); broadcasting then spreads it over each reduced slice. Selections (max, amax,
// norm with p = inf) share the gradient evenly among the elements that tie for the result, as
// PyTorch does; max_dim / min_dim give it all to the reported index. Every formula is made of op
// calls without data-dependent branches, so it traces and differentiates again.

using namespace formula;

struct Reduced {
  const GradContext& c;
  Shape in_shape;
  std::vector<int64_t> dims;  // normalized, sorted; every dim for dim=None / []
  bool keepdim;

  // max(self) / min(self) have no attributes: they reduce every dim.
  explicit Reduced(const GradContext& ctx)
      : c(ctx), in_shape(ctx.input_shape(0)),
        dims(ctx.attrs.size() ? reduced_dims(static_cast<int64_t>(in_shape.size()), ctx.attrs)
                              : normalize_dims({}, static_cast<int64_t>(in_shape.size()))),
        keepdim(ctx.attrs.size() && ctx.attrs.get<bool>("keepdim")) {}

  // t (shaped like the reduction's result) with the reduced dims back as size 1.
  Tensor keep(const Tensor& t) const {
    if (keepdim) return t;
    Shape s = in_shape;
    for (int64_t d : dims) s[d] = 1;
    return call1("reshape", {t}, {{"shape", grad::dims_of(s)}});
  }
  Tensor grad() const { return keep(c.grad()); }
  Tensor result() const { return keep(c.output(0)); }
  Tensor expanded(const Tensor& t) const { return call1("expand", {t}, {{"size", grad::dims_of(in_shape)}}); }
  // An op reducing `t` over the same dims, keeping them.
  Tensor reduce(const char* op, const Tensor& t) const { return call1(op, {t}, {{"dim", dims}, {"keepdim", true}}); }
  double count() const {
    double n = 1;
    for (int64_t d : dims) n *= static_cast<double>(in_shape[d]);
    return n;
  }
};

// The gradient shared evenly among the elements of each slice where `hit` holds.
Tensor share_evenly(const Reduced& r, const Tensor& hit) { return mul(hit, div(r.grad(), r.reduce("sum", hit))); }

// max / min / amax / amin: the elements equal to the result (or NaN, where the result is NaN).
Tensor extremum_grad(const GradContext& c) {
  const Reduced r(c);
  const Tensor& x = c.input(0);
  Tensor v = r.result();
  Tensor nan_hit = call1("logical_and", {call1("isnan", {x}), call1("isnan", {v})});
  return share_evenly(r, call1("logical_or", {eq(x, v), nan_hit}));
}

// prod: each element's gradient is the product of the others, written without dividing by zero:
// (product of the non-zero elements) / (the element, or 1 where it is zero), times a factor for
// the zeros among the others: 1 if there are none, their sum if there is one (numerically 0, but
// its derivative is what double backward needs), 0 if there are more. Exact for any number of
// zeros; its own gradient is exact wherever a slice has at most two.
Tensor prod_grad(const GradContext& c) {
  const Reduced r(c);
  const Tensor& x = c.input(0);
  Tensor zero = eq(x, 0.0);
  Tensor safe = where(zero, scalar(1.0, x), x);
  Tensor nonzero_others = div(r.reduce("prod", safe), safe);
  Tensor zeros = r.reduce("sum", zero);  // per slice; minus this element's own gives the others'
  Tensor zero_values = where_or_zero(zero, x);
  Tensor other_zero_values = sub(r.reduce("sum", zero_values), zero_values);
  Tensor one_other = eq(zeros, call1("add", {zero, Tensor::wrap_scalar(1.0, DType::Int64)}));
  Tensor factor = where(eq(zeros, zero), scalar(1.0, x), where_or_zero(one_other, other_zero_values));
  return mul(r.grad(), mul(nonzero_others, factor));
}

// d var / dx = 2 (x - mean) / (N - correction).
Tensor var_backward(const Reduced& r, const Tensor& g) {
  const Tensor& x = r.c.input(0);
  const double scale = 2.0 / (r.count() - r.c.attrs.get<double>("correction"));
  return mul(mul(g, scale), sub(x, r.reduce("mean", x)));
}

// std = sqrt(var): the var gradient of g / (2 std), zero where std is 0 (PyTorch).
Tensor std_grad(const GradContext& c) {
  const Reduced r(c);
  Tensor s = r.result();
  return var_backward(r, zero_where(eq(s, 0.0), div(r.grad(), mul(s, 2.0))));
}

// PyTorch's norm_backward: a zero slice gets gradient 0 for every p.
Tensor norm_grad(const GradContext& c) {
  const Reduced r(c);
  const Tensor& x = c.input(0);
  const double p = c.attrs.get<double>("p");
  if (p == 0) return zeros(r.in_shape, c.grad());
  Tensor g = r.grad(), n = r.result(), sign = call1("sign", {x});
  if (p == 1) return mul(sign, g);
  if (p == 2) return mul(g, zero_where(eq(n, 0.0), div(x, n)));
  Tensor ax = call1("abs", {x});
  if (std::isinf(p)) return mul(sign, share_evenly(r, call1("logical_or", {eq(ax, n), call1("isnan", {ax})})));
  if (p < 1) {
    Tensor scaled = zero_where(eq(x, 0.0), mul(sign, pow(ax, p - 1)));
    return mul(mul(scaled, g), pow(n, 1 - p));
  }
  Tensor scaled = p < 2 ? mul(sign, pow(ax, p - 1)) : mul(x, pow(ax, p - 2));
  return mul(scaled, zero_where(eq(n, 0.0), div(g, pow(n, p - 1))));
}

// max_dim / min_dim: the values' gradient goes to the reported index.
Tensor max_dim_grad(const GradContext& c) {
  const Reduced r(c);
  if (r.in_shape.empty()) return c.grad(0);
  Tensor index = r.keep(c.output(1));
  return call1("scatter", {zeros(r.in_shape, c.grad(0)), index, r.keep(c.grad(0))},
               {{"dim", r.dims.at(0)}});
}

// cumsum: the gradient of x[i] is the sum of the output gradients from i on, a reversed cumsum.
Tensor cumsum_grad(const GradContext& c) {
  const Shape& shape = c.input_shape(0);
  if (shape.empty()) return c.grad();
  const int64_t dim = normalize_dim(c.attrs.get<int64_t>("dim"), static_cast<int64_t>(shape.size()));
  const NamedAttrs flip_dim = {{"dims", std::vector<int64_t>{dim}}};
  Tensor reversed = call1("cumsum", {call1("flip", {c.grad()}, flip_dim)}, {{"dim", dim}});
  return call1("flip", {reversed}, flip_dim);
}

using Formula = std::function<Tensor(const GradContext&)>;

GradFn single(Formula f) {
  return [f = std::move(f)](const GradContext& c) -> TensorList { return {f(c)}; };
}

const bool registered = [] {
  struct Entry {
    const char* schema;
    InferFn rule;
    Formula grad;  // empty: not differentiable
    SaveSet saves = SaveSet::all();
    bool values_only = false;  // (values, indices) results: only the values carry a gradient
  };
  const SaveSet input = SaveSet::only_inputs({0}), nothing = SaveSet::none();
  const Entry entries[] = {
      {"sum(Tensor self, int[]? dim=None, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor", sum_rule,
       [](const GradContext& c) {
         const Reduced r(c);
         return r.expanded(r.grad());
       },
       nothing},
      {"prod(Tensor self, int[]? dim=None, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor", sum_rule,
       prod_grad, input},
      {"mean(Tensor self, int[]? dim=None, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor", mean_rule,
       [](const GradContext& c) {
         const Reduced r(c);
         return r.expanded(div(r.grad(), r.count()));
       },
       nothing},
      {"max(Tensor self) -> Tensor", extremum_all_rule, extremum_grad},
      {"min(Tensor self) -> Tensor", extremum_all_rule, extremum_grad},
      {"amax(Tensor self, int[] dim=[], bool keepdim=False) -> Tensor", amax_rule, extremum_grad},
      {"amin(Tensor self, int[] dim=[], bool keepdim=False) -> Tensor", amax_rule, extremum_grad},
      {"max_dim(Tensor self, int dim, bool keepdim=False) -> (Tensor values, Tensor indices)", max_dim_rule,
       max_dim_grad, SaveSet::only_outputs(), true},
      {"min_dim(Tensor self, int dim, bool keepdim=False) -> (Tensor values, Tensor indices)", max_dim_rule,
       max_dim_grad, SaveSet::only_outputs(), true},
      {"argmax(Tensor self, int? dim=None, bool keepdim=False) -> Tensor", argmax_rule, nullptr},
      {"argmin(Tensor self, int? dim=None, bool keepdim=False) -> Tensor", argmax_rule, nullptr},
      {"var(Tensor self, int[]? dim=None, *, float correction=1.0, bool keepdim=False) -> Tensor", var_rule,
       [](const GradContext& c) {
         const Reduced r(c);
         return var_backward(r, r.grad());
       },
       input},
      {"std(Tensor self, int[]? dim=None, *, float correction=1.0, bool keepdim=False) -> Tensor", var_rule, std_grad},
      {"norm(Tensor self, float p=2.0, int[]? dim=None, bool keepdim=False) -> Tensor", norm_rule, norm_grad},
      {"logsumexp(Tensor self, int[] dim, bool keepdim=False) -> Tensor", logsumexp_rule,
       [](const GradContext& c) {
         const Reduced r(c);
         return mul(r.grad(), exp(sub(c.input(0), r.result())));
       }},
      {"all(Tensor self, int[]? dim=None, bool keepdim=False) -> Tensor", all_any_rule, nullptr},
      {"any(Tensor self, int[]? dim=None, bool keepdim=False) -> Tensor", all_any_rule, nullptr},
  };
  for (const Entry& e : entries) {
    OpRegistrar reg(e.schema);
    reg.infer(e.rule).fusion(FusionKind::Reduction);
    if (e.grad) reg.grad(single(e.grad), e.saves);
    else reg.not_differentiable();
    if (e.values_only) reg.differentiable_outputs({0});
  }
  // A scan keeps the input's shape, so a fusion pass must not treat it as a reduction.
  OpRegistrar("cumsum(Tensor self, int dim, *, ScalarType? dtype=None) -> Tensor")
      .infer(cumsum_rule)
      .grad(single(cumsum_grad), nothing);
  return true;
}();

}  // namespace
}  // namespace terra
