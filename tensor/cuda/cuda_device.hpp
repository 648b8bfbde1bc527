// The CUDA device probe and host<->device copies, callable from any layer in any build: this
// header includes no CUDA headers, and a build without CUDA implements it (no_cuda.cpp) as "no
// devices", with errors that say Terra was built without CUDA. The Python layer's
// terra.cuda.is_available() and the to_device op are written against it.
#pragma once
#include <cstddef>
#include <string>

#include "tensor/device.hpp"

namespace terra::cuda {

// Whether this build has the CUDA backend (the toolkit was found at configure time).
bool is_built();
// Devices visible to this process; 0 without CUDA, without a driver or without a GPU. The probe
// runs once (when libterra loads) and is cached.
int device_count();
inline bool is_available() { return device_count() > 0; }
// Why device_count() is 0 ("Terra was built without CUDA", the driver's error), or "".
const std::string& unavailable_reason();

struct DeviceInfo {
  std::string name;            // "NVIDIA H100 80GB HBM3"
  int major = 0, minor = 0;    // compute capability
  size_t total_memory = 0;     // bytes
  int multiprocessors = 0;
};
// Throws terra::Error when the index is not that of a present device.
DeviceInfo device_info(int index);

// Throws a clear terra::Error unless tensors can be placed on `device`: Terra built with CUDA, a
// device present, the index in range. Only cuda:0 is served for now (see cuda_allocator.hpp).
void check_device(Device device);

// Copies nbytes of contiguous data between host and device memory (either direction, or device
// to device) on the current stream. Unless non_blocking, a copy into host memory waits for its
// completion, so the host may read the bytes at once; copies into device memory never wait
// (kernels queued later on the stream see the data; a pageable host source is staged by CUDA
// before the call returns, so it may be freed at once).
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t nbytes,
                bool non_blocking);

}  // namespace terra::cuda
