// tensor/cuda/cuda_device.hpp with CUDA: the device probe (run once, cached; a missing driver or
// GPU is "0 devices", not an error), the CUDA error reporting behind TERRA_CUDA_CHECK, and
// host<->device copies (staged through pinned memory when non_blocking).
#include "tensor/cuda/cuda_device.hpp"

#include <cuda_runtime_api.h>

#include <cstring>

#include "tensor/cuda/check.hpp"
#include "tensor/cuda/graph_capture.hpp"
#include "tensor/cuda/pinned.hpp"
#include "tensor/cuda/stream.hpp"
#include "tensor/error.hpp"

namespace terra::cuda {

namespace {

struct Probe {
  int count = 0;
  std::string reason;  // why count is 0
};

const Probe& probe() {
  static const Probe p = [] {
    Probe r;
    int n = 0;
    cudaError_t err = cudaGetDeviceCount(&n);
    if (err != cudaSuccess) {
      // No driver (cudaErrorInsufficientDriver) or no GPU (cudaErrorNoDevice) on a machine that
      // only builds: not an error, just no devices.
      (void)cudaGetLastError();
      r.reason = std::string("no CUDA device is present (cudaGetDeviceCount: ") + cudaGetErrorName(err) + ": " +
                 cudaGetErrorString(err) + ")";
      n = 0;
    } else if (n == 0) {
      r.reason = "no CUDA device is present";
    }
    r.count = n;
    return r;
  }();
  return p;
}

}  // namespace

void throw_cuda_error(cudaError_t err, const char* call, const char* file, int line) {
  (void)cudaGetLastError();  // non-sticky errors would otherwise resurface at the next check
  fail(err == cudaErrorMemoryAllocation ? ErrorKind::OutOfMemory : ErrorKind::Runtime, "CUDA error ",
       cudaGetErrorName(err), " (", cudaGetErrorString(err), ") in ", call, " at ", file, ":", line);
}

bool is_built() { return true; }

int device_count() { return probe().count; }

const std::string& unavailable_reason() { return probe().reason; }

DeviceInfo device_info(int index) {
  TERRA_CHECK(is_available(), Runtime, "cannot query CUDA device ", index, ": ", unavailable_reason());
  TERRA_CHECK(index >= 0 && index < device_count(), Runtime, "CUDA device index ", index, " is out of range (",
              device_count(), " device(s) present)");
  cudaDeviceProp prop{};
  TERRA_CUDA_CHECK(cudaGetDeviceProperties(&prop, index));
  DeviceInfo info;
  info.name = prop.name;
  info.major = prop.major;
  info.minor = prop.minor;
  info.total_memory = prop.totalGlobalMem;
  info.multiprocessors = prop.multiProcessorCount;
  return info;
}

void check_device(Device device) {
  if (!device.is_cuda()) return;
  TERRA_CHECK(is_available(), Runtime, "cannot use device ", device.str(), ": ", unavailable_reason());
  TERRA_CHECK(device.index >= 0 && device.index < device_count(), Runtime, "cannot use device ", device.str(),
              ": CUDA device index out of range (", device_count(), " device(s) present)");
  // Allocations and launches go to the current device, which nothing switches yet.
  TERRA_CHECK(device.index == 0, NotImplemented, "cannot use device ", device.str(), ": only cuda:0 is supported for now");
}

void synchronize() {
  TERRA_CHECK(is_available(), Runtime, "cannot synchronize CUDA: ", unavailable_reason());
  TERRA_CUDA_CHECK(cudaDeviceSynchronize());
}

namespace {
// A pinned block for staging a copy, or nullptr when pinned memory has run out (the copy then
// goes from pageable memory, staged by CUDA).
void* pinned_staging(size_t nbytes) {
  try {
    return pinned_allocate(nbytes);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::OutOfMemory) throw;
    return nullptr;
  }
}
}  // namespace

void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t nbytes,
                bool non_blocking) {
  if (nbytes == 0) return;
  // A captured copy would read or write the host address at every replay, long after the caller's
  // memory is gone (graph_capture.hpp): the capture fails, and the plan runs plainly.
  TERRA_CHECK(!capturing() || (dst_device.is_cuda() && src_device.is_cuda()), Runtime,
              "a copy between host and device memory cannot be captured in a CUDA graph");
  cudaStream_t stream = current_stream();
  if (dst_device.is_cuda() && src_device.is_cpu()) {
    void* staging = non_blocking && !is_pinned(src) ? pinned_staging(nbytes) : nullptr;
    if (staging) {
      // Staged through a pinned block, so the transfer runs while the host goes on; the block
      // returns to the pool when the copy is done (pinned_free).
      std::memcpy(staging, src, nbytes);
      src = staging;
      TERRA_CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyHostToDevice, stream));
      record_pinned_use(staging, stream);
      pinned_free(staging);
      return;
    }
    // From pageable memory CUDA stages the bytes before returning. A pinned source is read by
    // the transfer itself: wait for it unless non_blocking (the caller must then not write the
    // source before synchronizing, as in PyTorch), and keep the block from reuse until it ends.
    TERRA_CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyHostToDevice, stream));
    if (is_pinned(src)) {
      record_pinned_use(src, stream);
      if (!non_blocking) TERRA_CUDA_CHECK(cudaStreamSynchronize(stream));
    }
    return;
  }
  const bool to_host = dst_device.is_cpu();
  const cudaMemcpyKind kind = to_host ? (src_device.is_cpu() ? cudaMemcpyHostToHost : cudaMemcpyDeviceToHost)
                                      : cudaMemcpyDeviceToDevice;
  TERRA_CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, kind, stream));
  if (to_host) record_pinned_use(dst, stream);
  // The host reads what it copied back: wait for it (and for the kernels that produced it).
  if (to_host && !non_blocking) TERRA_CUDA_CHECK(cudaStreamSynchronize(stream));
}

}  // namespace terra::cuda
