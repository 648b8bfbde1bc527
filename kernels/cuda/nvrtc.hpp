// Run-time compilation of generated CUDA C++ (the fused elementwise kernels of
// kernels/fused_codegen.hpp) with NVRTC, which needs no device: CUBIN for the current device's
// architecture, or sm_90 (the H100s this project targets) when none is present, with the headers of
// fused::embedded_headers(). Results are cached in this process by the source and the options,
// and on disk (Note [NVRTC disk cache] in nvrtc.cpp), since a compile costs about half a second
// and every process of a test run would repeat it. Loading runs through the CUDA runtime's library API (cudaLibraryLoadData), so
// libterra never links the driver library. This header includes no CUDA headers.
#pragma once
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>

namespace terra::cuda {

class NvrtcKernel {
 public:
  NvrtcKernel(std::string hash, std::string arch, std::string cubin, std::string log)
      : hash_(std::move(hash)), arch_(std::move(arch)), cubin_(std::move(cubin)), log_(std::move(log)) {}
  // 16 hex digits naming the source and options (plan dumps show it).
  const std::string& hash() const { return hash_; }
  const std::string& arch() const { return arch_; }  // "sm_90"
  const std::string& cubin() const { return cubin_; }
  const std::string& log() const { return log_; }  // NVRTC's warnings, usually empty
  // The kernel `name` as a cudaKernel_t (for cudaLaunchKernel), loaded on first use; needs a device.
  const void* function(const char* name) const;

 private:
  std::string hash_, arch_, cubin_, log_;
  mutable std::once_flag loaded_;
  mutable const void* function_ = nullptr;
};

// Compiles `source` with NVRTC; a compile error raises terra::Error (Runtime) naming `what`, with
// NVRTC's log and the source. The same source and options give the same object.
std::shared_ptr<const NvrtcKernel> nvrtc_compile(const std::string& source, const std::string& what);

// Distinct programs this process compiled or read from the disk cache (the in-process cache's size).
size_t nvrtc_programs_compiled();

}  // namespace terra::cuda
