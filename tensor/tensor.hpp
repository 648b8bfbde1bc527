// Tensor: a strided view (shape, strides in elements, offset) of a Storage, with a dtype. Copying
// a Tensor copies a reference, as in PyTorch. This layer knows nothing of ops: views are made with
// as_strided(); everything that computes lives in kernels/ and is reached through the engine.
#pragma once
#include <memory>
#include <string>

#include "tensor/dtype.hpp"
#include "tensor/shape.hpp"
#include "tensor/storage.hpp"

namespace terra {

struct AutogradMeta;  // defined by engine/autograd; opaque here

// The tracer's epoch (engine/trace): bumped at each iteration boundary, never reset. A
// tensor remembers the epoch it was born in, so the tracer can tell a tensor made in this
// iteration from one made in an earlier one or before tracing began (a parameter).
uint32_t trace_epoch();
void set_trace_epoch(uint32_t epoch);

// What the tracer knows about a tensor: the trace record whose output it is (the latest writer,
// for in-place ops) in iteration `epoch`; record < 0 when no traced op made it.
struct TraceTag {
  uint32_t born = trace_epoch();
  uint32_t epoch = 0;
  int32_t record = -1;
  int32_t output = -1;
};

struct TensorImpl {
  Storage storage;
  Shape shape;
  Strides strides;
  int64_t offset = 0;  // in elements
  DType dtype = DType::Float32;
  // A Python number wrapped as a 0-d tensor: it does not take part in type promotion's
  // "dimensioned tensor" category (so float32_tensor * 2.5 stays float32).
  bool wrapped_number = false;
  std::shared_ptr<AutogradMeta> autograd;
  TraceTag trace;
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // A new, uninitialised, contiguous tensor.
  static Tensor empty(const Shape& shape, DType dtype, Device device = {});
  // The same, with a deferred (pending, unallocated) storage: an op's output not computed yet.
  static Tensor empty_deferred(const Shape& shape, DType dtype, Device device = {});
  // Wraps memory owned elsewhere; `release` runs when no tensor uses it any more.
  static Tensor from_blob(void* data, const Shape& shape, const Strides& strides, DType dtype,
                          Device device, std::function<void()> release);
  // A 0-d tensor holding a Python number (wrapped_number set).
  static Tensor wrap_scalar(double value, DType dtype);

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl_->shape; }
  const Strides& strides() const { return impl_->strides; }
  int64_t dim() const { return static_cast<int64_t>(impl_->shape.size()); }
  int64_t size(int64_t d) const { return impl_->shape[normalize_dim(d, dim())]; }
  int64_t stride(int64_t d) const { return impl_->strides[normalize_dim(d, dim())]; }
  int64_t numel() const { return shape_numel(impl_->shape); }
  int64_t offset() const { return impl_->offset; }
  DType dtype() const { return impl_->dtype; }
  Device device() const { return impl_->storage->device(); }
  size_t itemsize() const { return terra::itemsize(impl_->dtype); }
  bool is_contiguous() const { return terra::is_contiguous(impl_->shape, impl_->strides); }
  bool is_wrapped_number() const { return impl_->wrapped_number; }
  // A 0-d tensor on the CPU (a Python number, or a value such as a loss kept on the host): as in
  // PyTorch it goes with tensors of any device, and never decides an op's device.
  bool is_cpu_scalar() const { return dim() == 0 && device().is_cpu(); }

  // Address of element 0 (storage base plus offset).
  void* raw_data() const {
    return static_cast<char*>(impl_->storage->data()) + impl_->offset * static_cast<int64_t>(itemsize());
  }
  template <class T>
  T* data() const {
    TERRA_ASSERT(dtype_of<T>::value == impl_->dtype);
    return static_cast<T*>(raw_data());
  }

  // A view sharing this tensor's storage (and so its version counter).
  Tensor as_strided(const Shape& shape, const Strides& strides, int64_t offset) const;
  // Same view, same storage, a new identity with no autograd history (PyTorch's detach()); the
  // tracer still sees the value it aliases.
  Tensor alias() const;

  const Storage& storage() const { return impl_->storage; }
  bool shares_storage(const Tensor& other) const { return impl_->storage == other.impl_->storage; }
  bool is_same(const Tensor& other) const { return impl_ == other.impl_; }
  uint32_t version() const { return impl_->storage->version(); }
  void bump_version() const { impl_->storage->bump_version(); }

  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

  // "float32[2, 3]", for error messages.
  std::string describe() const;

 private:
  std::shared_ptr<TensorImpl> impl_;
};

}  // namespace terra
