// tensor/cuda/cuda_device.hpp for a build without CUDA: no devices, and clear errors for anyone
// asking for one.
#include "tensor/cuda/cuda_device.hpp"

#include "tensor/error.hpp"

namespace terra::cuda {

namespace {
const char* const kNotBuilt = "Terra was built without CUDA (reconfigure with -Dcuda=enabled and the CUDA toolkit)";
}

bool is_built() { return false; }

int device_count() { return 0; }

const std::string& unavailable_reason() {
  static const std::string reason = kNotBuilt;
  return reason;
}

DeviceInfo device_info(int index) { fail(ErrorKind::Runtime, "cannot query CUDA device ", index, ": ", kNotBuilt); }

void check_device(Device device) {
  if (device.is_cuda()) fail(ErrorKind::Runtime, "cannot use device ", device.str(), ": ", kNotBuilt);
}

void synchronize() { fail(ErrorKind::Runtime, "cannot synchronize CUDA: ", kNotBuilt); }

void copy_bytes(void*, Device dst_device, const void*, Device src_device, size_t, bool) {
  fail(ErrorKind::Runtime, "cannot copy from ", src_device.str(), " to ", dst_device.str(), ": ", kNotBuilt);
}

void* pinned_allocate(size_t) { fail(ErrorKind::Runtime, "cannot pin memory: ", kNotBuilt); }

void pinned_free(void*) {}

bool is_pinned(const void*) { return false; }

MemoryStats pinned_stats() { return {}; }

}  // namespace terra::cuda
