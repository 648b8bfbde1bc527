#include "engine/ops/rules.hpp"

#include <optional>

#include "tensor/cuda/cuda_device.hpp"

namespace terra::rules {

namespace {
// PyTorch's combine_categories: keep `higher` unless `lower` belongs to a higher category.
std::optional<DType> combine(std::optional<DType> higher, std::optional<DType> lower) {
  if (!higher) return lower;
  if (!lower) return higher;
  if (is_floating(*higher)) return higher;
  if (*higher == DType::Bool || is_floating(*lower)) return promote_types(*higher, *lower);
  return higher;
}
std::optional<DType> promote_opt(std::optional<DType> a, DType b) { return a ? promote_types(*a, b) : b; }
}  // namespace

DType result_type(const std::vector<Tensor>& tensors) {
  std::optional<DType> dim, zero, wrapped;
  for (const Tensor& t : tensors) {
    if (!t.defined()) continue;
    if (t.is_wrapped_number()) {
      DType d = is_floating(t.dtype()) ? default_float_dtype() : t.dtype();
      wrapped = promote_opt(wrapped, d);
    } else if (t.dim() == 0) {
      zero = promote_opt(zero, t.dtype());
    } else {
      dim = promote_opt(dim, t.dtype());
    }
  }
  auto r = combine(dim, combine(zero, wrapped));
  return r ? *r : default_float_dtype();
}

Shape broadcast_all(const std::vector<Tensor>& tensors) {
  Shape out;
  bool first = true;
  for (const Tensor& t : tensors) {
    if (!t.defined()) continue;
    if (first) {
      out = t.shape();
      first = false;
    } else if (t.dim() != 0 && t.shape() != out) {  // a scalar or an equal shape changes nothing
      out = broadcast_shapes(out, t.shape());
    }
  }
  return out;
}

Device common_device(const std::vector<Tensor>& tensors) {
  for (const Tensor& t : tensors)
    if (t.defined() && !t.is_cpu_scalar()) return t.device();
  for (const Tensor& t : tensors)
    if (t.defined()) return t.device();
  return Device{};
}

Inferred elementwise(const std::vector<Tensor>& inputs, ElementwiseOptions opts) {
  DType ct = result_type(inputs);
  if (!opts.allow_bool && ct == DType::Bool)
    fail(ErrorKind::Runtime, "this op does not support bool tensors (use logical_not / logical_xor instead)");
  if (opts.integral_only)
    TERRA_CHECK(is_integral(ct, true), Runtime, "this op is only supported for integer and bool tensors, got ",
                dtype_name(ct));
  if (opts.out == OutType::Float && !is_floating(ct)) ct = default_float_dtype();
  DType out = opts.out == OutType::Bool ? DType::Bool : ct;
  Inferred inf;
  inf.outputs.push_back(TensorMeta{broadcast_all(inputs), out, common_device(inputs)});
  inf.input_dtypes.assign(inputs.size(), ct);
  return inf;
}

Inferred like(const Tensor& t, DType dtype) {
  Inferred inf;
  inf.outputs.push_back(TensorMeta{t.shape(), dtype, t.device()});
  return inf;
}

Shape size_attr(const Attrs& attrs) {
  const auto& size = attrs.get<std::vector<int64_t>>("size");
  for (int64_t s : size)
    TERRA_CHECK(s >= 0, Runtime, "Trying to create tensor with negative dimension ", s, ": ", shape_str(size));
  return size;
}

Device device_attr(const Attrs& attrs) {
  Device device = attrs.opt<Device>("device").value_or(Device{});
  cuda::check_device(device);
  return device;
}

void check_alpha(DType result, const Scalar& alpha) {
  TERRA_CHECK(is_floating(result) || !alpha.is_floating(), Runtime,
              "For integral input tensors, argument alpha must not be a floating point number.");
  TERRA_CHECK(result != DType::Bool || alpha.is_bool() || alpha.as_int() == 1, Runtime,
              "Boolean alpha only supported for Boolean results.");
}

void require_floating(const Tensor& t, const char* what) {
  TERRA_CHECK(is_floating(t.dtype()), Runtime, what, " expected a floating-point tensor but got ", dtype_name(t.dtype()));
}

void require_same_dtype(const Tensor& t, const Tensor& reference) {
  TERRA_CHECK(!t.defined() || t.dtype() == reference.dtype(), Runtime, "expected scalar type ",
              dtype_name(reference.dtype()), " but found ", dtype_name(t.dtype()));
}

const int64_t* int64s_at_hand(const Tensor& t) {
  if (!t.defined() || t.dtype() != DType::Int64 || !t.device().is_cpu() || !t.is_contiguous()) return nullptr;
  const Storage& st = t.storage();
  if (st->pending() || !st->allocated()) return nullptr;
  return t.data<int64_t>();
}

}  // namespace terra::rules
