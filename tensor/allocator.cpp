#include "tensor/allocator.hpp"

#include <array>

#include "tensor/cpu_allocator.hpp"
#include "tensor/error.hpp"

namespace terra {

namespace {
std::array<Allocator*, kNumDeviceTypes>& table() {
  // The CPU arena lives for the whole process (leaked on purpose: tensors may be freed during
  // static destruction, after a function-local static allocator would already be gone).
  static std::array<Allocator*, kNumDeviceTypes> t = {new CpuCachingAllocator(), nullptr};
  return t;
}
}  // namespace

Allocator& allocator_for(DeviceType type) {
  Allocator* a = table()[static_cast<int>(type)];
  TERRA_CHECK(a, Runtime, "no allocator for device type ", device_type_name(type),
              " (Terra was built without it, or no such device is present)");
  return *a;
}

void register_allocator(DeviceType type, Allocator* allocator) { table()[static_cast<int>(type)] = allocator; }

bool has_allocator(DeviceType type) { return table()[static_cast<int>(type)] != nullptr; }

}  // namespace terra
