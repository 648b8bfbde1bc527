// NVRTC compilation and its cache (nvrtc.hpp).
#include "kernels/cuda/nvrtc.hpp"

#include <cuda_runtime_api.h>
#include <nvrtc.h>

#include <cstdio>
#include <unordered_map>
#include <vector>

#include "kernels/fused_codegen.hpp"
#include "tensor/cuda/check.hpp"
#include "tensor/cuda/cuda_device.hpp"
#include "tensor/error.hpp"

namespace terra::cuda {

namespace {

#define TERRA_NVRTC_CHECK(call)                                                                          \
  do {                                                                                                   \
    const nvrtcResult terra_nvrtc_err_ = (call);                                                         \
    TERRA_CHECK(terra_nvrtc_err_ == NVRTC_SUCCESS, Runtime, #call, " failed: ", nvrtcGetErrorString(terra_nvrtc_err_), \
                " (", __FILE__, ":", __LINE__, ")");                                                     \
  } while (0)

// The only device served is cuda:0 (cuda_allocator.hpp); without one, the H100's sm_90.
std::string target_arch() {
  if (!is_available()) return "sm_90";
  const DeviceInfo info = device_info(0);
  return "sm_" + std::to_string(info.major) + std::to_string(info.minor);
}

std::string fnv1a_hex(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// Destroys the program on every path out of compile().
struct Program {
  nvrtcProgram p = nullptr;
  ~Program() {
    if (p) nvrtcDestroyProgram(&p);
  }
};

std::string program_log(nvrtcProgram p) {
  size_t size = 0;
  TERRA_NVRTC_CHECK(nvrtcGetProgramLogSize(p, &size));
  std::string log(size, '\0');
  TERRA_NVRTC_CHECK(nvrtcGetProgramLog(p, log.data()));
  while (!log.empty() && (log.back() == '\0' || log.back() == '\n')) log.pop_back();
  return log;
}

std::shared_ptr<const NvrtcKernel> compile(const std::string& source, const std::vector<std::string>& options,
                                           const std::string& arch, const std::string& hash, const std::string& what) {
  const std::vector<fused::EmbeddedHeader>& headers = fused::embedded_headers();
  std::vector<const char*> names, texts, opts;
  for (const fused::EmbeddedHeader& h : headers) names.push_back(h.name), texts.push_back(h.text);
  for (const std::string& o : options) opts.push_back(o.c_str());
  Program prog;
  const std::string file = "terra_" + hash + ".cu";
  TERRA_NVRTC_CHECK(nvrtcCreateProgram(&prog.p, source.c_str(), file.c_str(), static_cast<int>(headers.size()),
                                       texts.data(), names.data()));
  const nvrtcResult result = nvrtcCompileProgram(prog.p, static_cast<int>(opts.size()), opts.data());
  std::string log = program_log(prog.p);
  TERRA_CHECK(result == NVRTC_SUCCESS, Runtime, "NVRTC could not compile ", what, " (", nvrtcGetErrorString(result),
              "):\n", log, "\n--- source ", file, " ---\n", source);
  size_t size = 0;
  TERRA_NVRTC_CHECK(nvrtcGetCUBINSize(prog.p, &size));
  std::string cubin(size, '\0');
  TERRA_NVRTC_CHECK(nvrtcGetCUBIN(prog.p, cubin.data()));
  return std::make_shared<const NvrtcKernel>(hash, arch, std::move(cubin), std::move(log));
}

std::mutex g_mutex;
std::unordered_map<std::string, std::shared_ptr<const NvrtcKernel>>& cache() {
  static std::unordered_map<std::string, std::shared_ptr<const NvrtcKernel>> c;
  return c;
}

}  // namespace

const void* NvrtcKernel::function(const char* name) const {
  std::call_once(loaded_, [&] {
    cudaLibrary_t library = nullptr;
    TERRA_CUDA_CHECK(cudaLibraryLoadData(&library, cubin_.data(), nullptr, nullptr, 0, nullptr, nullptr, 0));
    cudaKernel_t kernel = nullptr;
    TERRA_CUDA_CHECK(cudaLibraryGetKernel(&kernel, library, name));
    function_ = reinterpret_cast<const void*>(kernel);  // kept loaded for the process, like the cache
  });
  return function_;
}

std::shared_ptr<const NvrtcKernel> nvrtc_compile(const std::string& source, const std::string& what) {
  const std::string arch = target_arch();
  const std::vector<std::string> options = {"--std=c++17", "-default-device", "--gpu-architecture=" + arch};
  std::string key;
  for (const std::string& o : options) key += o + '\n';
  key += source;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    auto it = cache().find(key);
    if (it != cache().end()) return it->second;
  }
  // Compiled outside the lock (plans build on several threads); a race compiles twice, keeps one.
  std::shared_ptr<const NvrtcKernel> kernel = compile(source, options, arch, fnv1a_hex(key), what);
  std::lock_guard<std::mutex> lock(g_mutex);
  return cache().emplace(std::move(key), std::move(kernel)).first->second;
}

size_t nvrtc_programs_compiled() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return cache().size();
}

}  // namespace terra::cuda
