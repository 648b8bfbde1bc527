// The one signature every kernel has, and the table kernels register themselves in:
//   void kernel(KernelCall& call);
// A kernel file ends with TERRA_KERNEL(op_name, CPU, function) lines; the engine's registry looks
// the kernels up by op name, so adding a device's kernel never edits the op's registry entry.
// Kernels trust their inputs: the op's shape rule has already checked shapes, dtypes and dims,
// and the dispatcher has allocated the outputs (except for ops that make their own: views and
// ops whose output shape depends on the data).
#pragma once
#include <string>
#include <vector>

#include "kernels/attrs.hpp"
#include "tensor/tensor.hpp"

namespace terra {

struct KernelCall {
  std::string_view op;
  std::vector<Tensor> inputs;  // an absent optional input is an undefined Tensor
  Attrs attrs;
  std::vector<Tensor> outputs;
};

using KernelFn = void (*)(KernelCall&);

bool register_kernel(const char* op, DeviceType device, KernelFn fn);
KernelFn find_kernel(std::string_view op, DeviceType device);  // nullptr when absent

// An optional operand's elements (an absent weight, bias or gradient): null when it is absent.
template <class T>
const T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

}  // namespace terra

#define TERRA_CONCAT_INNER(a, b) a##b
#define TERRA_CONCAT(a, b) TERRA_CONCAT_INNER(a, b)
#define TERRA_KERNEL(op, device, fn)                                     \
  [[maybe_unused]] static const bool TERRA_CONCAT(terra_kernel_, __COUNTER__) = \
      ::terra::register_kernel(#op, ::terra::DeviceType::device, fn)

// A composite op's kernel is written with other ops (through the engine's dispatcher), so the
// same function serves every device. Only engine/ may use this (kernels/ cannot dispatch).
#define TERRA_COMPOSITE_KERNEL(op, fn) \
  TERRA_KERNEL(op, CPU, fn);           \
  TERRA_KERNEL(op, CUDA, fn)
