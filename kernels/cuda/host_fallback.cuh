// Runs an op's CPU kernel for a CUDA call: the inputs are copied to the host, the CPU kernel
// computes into host outputs, and those are copied into the call's device outputs. For the few
// kernels whose algorithm is inherently sequential or whose large cases a simple device kernel
// does not cover (randperm; sort and topk of long rows); each use says so where it is made. The
// copy back to the host waits for the device (a synchronization).
#pragma once
#include "kernels/cuda/movement.cuh"
#include "kernels/kernel.hpp"
#include "tensor/cuda/cuda_device.hpp"

namespace terra::cuda {

// A contiguous host copy of a device tensor.
inline Tensor to_host(const Tensor& t) {
  Tensor dense = t;
  if (!t.is_contiguous()) {
    dense = Tensor::empty(t.shape(), t.dtype(), t.device());
    copy_elements(dense, t);
  }
  Tensor host = Tensor::empty(t.shape(), t.dtype(), Device{DeviceType::CPU, 0});
  if (t.numel() > 0)
    copy_bytes(host.raw_data(), host.device(), dense.raw_data(), dense.device(), t.numel() * t.itemsize(), false);
  return host;
}

// dst (a device tensor, any strides) = src (a contiguous host tensor of its shape and dtype).
inline void from_host(const Tensor& dst, const Tensor& src) {
  if (dst.numel() == 0) return;
  Tensor dense = dst.is_contiguous() ? dst : Tensor::empty(dst.shape(), dst.dtype(), dst.device());
  copy_bytes(dense.raw_data(), dense.device(), src.raw_data(), src.device(), src.numel() * src.itemsize(), false);
  if (!dense.is_same(dst)) copy_elements(dst, dense);
}

// The CPU kernel of c.op on host copies of c's inputs, written into c's (preallocated) outputs.
inline void run_cpu_kernel(KernelCall& c) {
  KernelCall host{c.op, {}, c.attrs, {}};
  for (const Tensor& t : c.inputs) host.inputs.push_back(t.defined() ? to_host(t) : t);
  for (const Tensor& t : c.outputs) host.outputs.push_back(Tensor::empty(t.shape(), t.dtype(), Device{DeviceType::CPU, 0}));
  find_kernel(c.op, DeviceType::CPU)(host);
  for (size_t k = 0; k < c.outputs.size(); ++k) from_host(c.outputs[k], host.outputs[k]);
}

}  // namespace terra::cuda
