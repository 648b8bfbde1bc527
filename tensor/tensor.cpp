#include "tensor/tensor.hpp"

#include <atomic>

namespace terra {

namespace {
std::atomic<uint32_t> g_trace_epoch{0};
}

uint32_t trace_epoch() { return g_trace_epoch.load(std::memory_order_relaxed); }
void set_trace_epoch(uint32_t epoch) { g_trace_epoch.store(epoch, std::memory_order_relaxed); }

Tensor Tensor::empty_deferred(const Shape& shape, DType dtype, Device device) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<StorageImpl>(storage_bytes(shape, terra::itemsize(dtype)), device,
                                                StorageImpl::Deferred{});
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  for (int64_t s : shape)
    TERRA_CHECK(s >= 0, Runtime, "Trying to create tensor with negative dimension ", s, ": ", shape_str(shape));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<StorageImpl>(storage_bytes(shape, terra::itemsize(dtype)), device);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor Tensor::from_blob(void* data, const Shape& shape, const Strides& strides, DType dtype, Device device,
                         std::function<void()> release) {
  TERRA_CHECK(shape.size() == strides.size(), Runtime, "from_blob: shape ", shape_str(shape), " and strides ",
              shape_str(strides), " differ in length");
  int64_t span = 1;
  for (size_t i = 0; i < shape.size(); ++i) span += (shape[i] - 1) * strides[i];
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<StorageImpl>(data, shape_numel(shape) ? span * terra::itemsize(dtype) : 0,
                                                device, std::move(release));
  impl->shape = shape;
  impl->strides = strides;
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor Tensor::wrap_scalar(double value, DType dtype) {
  Tensor t = empty({}, dtype);
  dispatch_dtype(dtype, [&](auto tag) { *t.data<decltype(tag)>() = static_cast<decltype(tag)>(value); });
  t.impl_->wrapped_number = true;
  return t;
}

Tensor Tensor::as_strided(const Shape& shape, const Strides& strides, int64_t offset) const {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = impl_->storage;
  impl->shape = shape;
  impl->strides = strides;
  impl->offset = offset;
  impl->dtype = impl_->dtype;
  return Tensor(std::move(impl));
}

Tensor Tensor::alias() const {
  Tensor t = as_strided(impl_->shape, impl_->strides, impl_->offset);
  t.impl_->trace = impl_->trace;  // the same value, so the tracer sees where it came from
  return t;
}

std::string Tensor::describe() const {
  if (!defined()) return "None";
  std::string s = std::string(dtype_name(dtype())) + shape_str(shape());
  if (!device().is_cpu()) s += "@" + device().str();
  return s;
}

}  // namespace terra
