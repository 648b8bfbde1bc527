// Registry entry of to_device, the host<->device transfer: the same tensor when it is already on
// the device, a contiguous copy there otherwise. The rule refuses a device Terra cannot use
// (built without CUDA, no device present, an index out of range) before anything runs. Its
// gradient is the output gradient moved back to the input's device.
#include "engine/dispatch/dispatcher.hpp"
#include "tensor/cuda/cuda_device.hpp"

namespace terra {
namespace {

Inferred to_device_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const Device target = attrs.get<Device>("device");
  if (target != in[0].device()) cuda::check_device(target);
  Inferred inf;
  inf.outputs.push_back(TensorMeta{in[0].shape(), in[0].dtype(), target});
  return inf;
}

}  // namespace

TERRA_OP("to_device(Tensor self, Device device, bool non_blocking=False) -> Tensor")
    .infer(to_device_rule)
    .makes_outputs()
    .grad([](const GradContext& c) -> TensorList { return {call1("to_device", {c.grad()}, {{"device", c.metas[0].device}})}; },
          SaveSet::none());

}  // namespace terra
