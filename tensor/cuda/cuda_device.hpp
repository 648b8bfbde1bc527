// The CUDA device probe and host<->device copies, callable from any layer in any build: this
// header includes no CUDA headers, and a build without CUDA implements it (no_cuda.cpp) as "no
// devices", with errors that say Terra was built without CUDA. The Python layer's
// terra.cuda.is_available() and the to_device op are written against it.
#pragma once
#include <cstddef>
#include <string>

#include "tensor/allocator.hpp"
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

// Waits until the device has finished all queued work (torch.cuda.synchronize()).
void synchronize();

// Copies nbytes of contiguous data between host and device memory (either direction, or device
// to device) on the current stream. Unless non_blocking, a copy into host memory waits for its
// completion, so the host may read the bytes at once; copies into device memory never wait
// (kernels queued later on the stream see the data). A host source may be freed as soon as the
// call returns: a pageable one is staged first (by CUDA, or with non_blocking into a pinned
// staging block, so the call returns before the transfer ends), and a pinned block is kept
// from reuse until the copies that read it are done (see pinned_free).
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t nbytes,
                bool non_blocking);

// Pinned (page-locked) host memory, from a caching pool of cudaHostAlloc'd segments (a
// BlockPool, tensor/cuda/block_pool.hpp): what Tensor.pin_memory() returns, and the staging of
// non_blocking host-to-device copies. Throws without a device. pinned_free gives a block back
// once the copies queued on it have completed (CUDA events), so a tensor may be freed while its
// non_blocking copy is still in flight.
void* pinned_allocate(size_t nbytes);
void pinned_free(void* ptr);
// Whether ptr points into a pinned block in use (false without a device).
bool is_pinned(const void* ptr);
MemoryStats pinned_stats();

}  // namespace terra::cuda
