// The to_device kernel, for every device (like the views in views.cpp, it only moves bytes):
// the same tensor when it is already there, otherwise a contiguous copy of its data on the
// target device. The copy itself is tensor/cuda's copy_bytes, which a build without CUDA
// implements as an error; the op's shape rule has already refused a device Terra cannot use.
#include "kernels/kernel.hpp"
#include "tensor/cuda/cuda_device.hpp"

namespace terra {
namespace {

void to_device_kernel(KernelCall& c) {
  const Tensor& x = c.inputs[0];
  const Device target = c.attrs.get<Device>("device");
  if (x.device() == target) {
    c.outputs = {x};
    return;
  }
  KernelCall contiguous{"contiguous", {x}, {}, {}};
  find_kernel("contiguous", x.device().type)(contiguous);
  const Tensor& src = contiguous.outputs[0];
  Tensor out = Tensor::empty(x.shape(), x.dtype(), target);
  cuda::copy_bytes(out.raw_data(), target, src.raw_data(), src.device(), static_cast<size_t>(x.numel()) * x.itemsize(),
                   c.attrs.get<bool>("non_blocking"));
  c.outputs = {out};
}

}  // namespace

TERRA_KERNEL(to_device, CPU, to_device_kernel);
TERRA_KERNEL(to_device, CUDA, to_device_kernel);

}  // namespace terra
