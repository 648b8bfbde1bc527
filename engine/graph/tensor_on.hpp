// A tensor with exactly a value's layout (shape, strides, offset, dtype) over a given storage: how
// the executor puts values in the arena and in the caller's kept storages.
#pragma once
#include "engine/trace/record.hpp"

namespace terra::graph {

inline Tensor tensor_on(const Storage& storage, const trace::ValueMeta& m) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = storage;
  impl->shape = m.shape;
  impl->strides = m.strides;
  impl->offset = m.offset;
  impl->dtype = m.dtype;
  return Tensor(std::move(impl));
}

}  // namespace terra::graph
