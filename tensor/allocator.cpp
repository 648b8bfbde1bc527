#include "tensor/allocator.hpp"

#include <array>

#include <pthread.h>

#include "tensor/cpu_allocator.hpp"
#include "tensor/error.hpp"

namespace terra {

namespace {
CpuCachingAllocator& cpu_arena() {
  // The CPU arena lives for the whole process (leaked on purpose: tensors may be freed during
  // static destruction, after a function-local static allocator would already be gone).
  static CpuCachingAllocator* arena = [] {
    auto* made = new CpuCachingAllocator();
    pthread_atfork([] { cpu_arena().lock_for_fork(); }, [] { cpu_arena().unlock_after_fork(); },
                   [] { cpu_arena().unlock_after_fork(); });
    return made;
  }();
  return *arena;
}

std::array<Allocator*, kNumDeviceTypes>& table() {
  static std::array<Allocator*, kNumDeviceTypes> t = {&cpu_arena(), nullptr};
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
