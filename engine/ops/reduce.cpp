// Registry entries of the reductions and of cumsum: which dims an op reduces (an int, a list, or
// None / [] for all), keepdim shapes, PyTorch's result dtypes (integer sums and products give
// int64, dtype= converts the input first, mean/var/norm want floating inputs) and the errors
// PyTorch raises for empty reductions that have no identity (max, argmax, ...).
#include "engine/ops/rules.hpp"
#include "engine/registry/registry.hpp"

namespace terra {
namespace {

// The normalized, sorted dims named by the "dim" attribute (None or [] means every dim); raises
// PyTorch's errors for out-of-range and repeated dims.
std::vector<int64_t> reduced_dims(const Tensor& t, const Attrs& attrs) {
  const AttrValue& v = attrs["dim"];
  std::vector<int64_t> dims;
  if (const auto* d = std::get_if<int64_t>(&v)) dims = {*d};
  if (const auto* l = std::get_if<std::vector<int64_t>>(&v)) dims = *l;
  return normalize_dims(dims, t.dim());
}

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

const bool registered = [] {
  const std::pair<const char*, InferFn> entries[] = {
      {"sum(Tensor self, int[]? dim=None, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor", sum_rule},
      {"prod(Tensor self, int[]? dim=None, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor", sum_rule},
      {"mean(Tensor self, int[]? dim=None, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor", mean_rule},
      {"max(Tensor self) -> Tensor", extremum_all_rule},
      {"min(Tensor self) -> Tensor", extremum_all_rule},
      {"amax(Tensor self, int[] dim=[], bool keepdim=False) -> Tensor", amax_rule},
      {"amin(Tensor self, int[] dim=[], bool keepdim=False) -> Tensor", amax_rule},
      {"max_dim(Tensor self, int dim, bool keepdim=False) -> (Tensor values, Tensor indices)", max_dim_rule},
      {"min_dim(Tensor self, int dim, bool keepdim=False) -> (Tensor values, Tensor indices)", max_dim_rule},
      {"argmax(Tensor self, int? dim=None, bool keepdim=False) -> Tensor", argmax_rule},
      {"argmin(Tensor self, int? dim=None, bool keepdim=False) -> Tensor", argmax_rule},
      {"var(Tensor self, int[]? dim=None, *, float correction=1.0, bool keepdim=False) -> Tensor", var_rule},
      {"std(Tensor self, int[]? dim=None, *, float correction=1.0, bool keepdim=False) -> Tensor", var_rule},
      {"norm(Tensor self, float p=2.0, int[]? dim=None, bool keepdim=False) -> Tensor", norm_rule},
      {"logsumexp(Tensor self, int[] dim, bool keepdim=False) -> Tensor", logsumexp_rule},
      {"all(Tensor self, int[]? dim=None, bool keepdim=False) -> Tensor", all_any_rule},
      {"any(Tensor self, int[]? dim=None, bool keepdim=False) -> Tensor", all_any_rule},
  };
  for (const auto& [schema, rule] : entries) OpRegistrar(schema).infer(rule).fusion(FusionKind::Reduction);
  // A scan keeps the input's shape, so a fusion pass must not treat it as a reduction.
  OpRegistrar("cumsum(Tensor self, int dim, *, ScalarType? dtype=None) -> Tensor").infer(cumsum_rule);
  return true;
}();

}  // namespace
}  // namespace terra
