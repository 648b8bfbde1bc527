// NVRTC compilation and its caches (nvrtc.hpp). Note [NVRTC disk cache]: a CUBIN is also kept in
// a file named by the hash of everything it depends on (NVRTC's version, the options, the embedded
// headers' text, the source), which holds that whole key too, so a hash collision or a changed
// header is a miss, never a wrong kernel. Every process of a test run or training job then compiles
// a kernel once. Files are written under a temporary name and renamed into place, so processes
// sharing the folder never read half a file. The folder is $TERRA_NVRTC_CACHE ("0" turns the disk
// cache off), else $XDG_CACHE_HOME/terra/nvrtc, else ~/.cache/terra/nvrtc; one that cannot be
// written only costs the compile.
#include "kernels/cuda/nvrtc.hpp"

#include <cuda_runtime_api.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>
#include <vector>

#include "kernels/cuda/libraries.hpp"
#include "kernels/fused_codegen.hpp"
#include "tensor/cuda/check.hpp"
#include "tensor/cuda/cuda_device.hpp"
#include "tensor/error.hpp"

namespace terra::cuda {

namespace {

[[noreturn]] void throw_nvrtc_error(nvrtcResult status, const char* call, const char* file, int line) {
  fail(ErrorKind::Runtime, call, " failed: ", nvrtc().GetErrorString(status), " (", file, ":", line, ")");
}
#define TERRA_NVRTC_CHECK(call) TERRA_STATUS_CHECK(call, NVRTC_SUCCESS, throw_nvrtc_error)

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
    if (p) nvrtc().DestroyProgram(&p);
  }
};

std::string program_log(nvrtcProgram p) {
  size_t size = 0;
  TERRA_NVRTC_CHECK(nvrtc().GetProgramLogSize(p, &size));
  std::string log(size, '\0');
  TERRA_NVRTC_CHECK(nvrtc().GetProgramLog(p, log.data()));
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
  TERRA_NVRTC_CHECK(nvrtc().CreateProgram(&prog.p, source.c_str(), file.c_str(), static_cast<int>(headers.size()),
                                          texts.data(), names.data()));
  const nvrtcResult result = nvrtc().CompileProgram(prog.p, static_cast<int>(opts.size()), opts.data());
  std::string log = program_log(prog.p);
  TERRA_CHECK(result == NVRTC_SUCCESS, Runtime, "NVRTC could not compile ", what, " (", nvrtc().GetErrorString(result),
              "):\n", log, "\n--- source ", file, " ---\n", source);
  size_t size = 0;
  TERRA_NVRTC_CHECK(nvrtc().GetCUBINSize(prog.p, &size));
  std::string cubin(size, '\0');
  TERRA_NVRTC_CHECK(nvrtc().GetCUBIN(prog.p, cubin.data()));
  return std::make_shared<const NvrtcKernel>(hash, arch, std::move(cubin), std::move(log));
}

std::string cache_dir() {
  if (const char* dir = std::getenv("TERRA_NVRTC_CACHE")) return std::string(dir) == "0" ? "" : dir;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::string(xdg) + "/terra/nvrtc";
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.cache/terra/nvrtc";
  return "";
}

// A file holds the key's length, the key, then the CUBIN (Note [NVRTC disk cache]).
std::string read_cached(const std::string& path, const std::string& key) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::stringstream bytes;
  bytes << in.rdbuf();
  const std::string file = bytes.str();
  const std::string head = std::to_string(key.size()) + '\n';
  if (file.compare(0, head.size(), head) != 0 || file.compare(head.size(), key.size(), key) != 0) return "";
  return file.substr(head.size() + key.size());
}

void write_cached(const std::string& dir, const std::string& path, const std::string& key, const std::string& cubin) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const std::string tmp = path + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary);
    out << key.size() << '\n' << key << cubin;
    if (!out) return;
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) std::filesystem::remove(tmp, ec);
}

// What a CUBIN depends on besides the source: NVRTC's version, the options, the headers' text.
std::string key_prefix(const std::vector<std::string>& options) {
  int major = 0, minor = 0;
  TERRA_NVRTC_CHECK(nvrtc().Version(&major, &minor));
  std::string prefix = "nvrtc " + std::to_string(major) + "." + std::to_string(minor) + "\n";
  for (const std::string& o : options) prefix += o + '\n';
  static const std::string headers = [] {
    std::string all;
    for (const fused::EmbeddedHeader& h : fused::embedded_headers()) all += std::string(h.name) + '\n' + h.text;
    return fnv1a_hex(all);
  }();
  return prefix + "headers " + headers + '\n';
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
  std::string key = key_prefix(options) + source;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    auto it = cache().find(key);
    if (it != cache().end()) return it->second;
  }
  // Compiled outside the lock (plans build on several threads); a race compiles twice, keeps one.
  const std::string hash = fnv1a_hex(key), dir = cache_dir(), path = dir + "/" + hash + ".cubin";
  std::shared_ptr<const NvrtcKernel> kernel;
  if (std::string cubin = dir.empty() ? "" : read_cached(path, key); !cubin.empty()) {
    kernel = std::make_shared<const NvrtcKernel>(hash, arch, std::move(cubin), "");
  } else {
    kernel = compile(source, options, arch, hash, what);
    if (!dir.empty()) write_cached(dir, path, key, kernel->cubin());
  }
  std::lock_guard<std::mutex> lock(g_mutex);
  return cache().emplace(std::move(key), std::move(kernel)).first->second;
}

size_t nvrtc_programs_compiled() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return cache().size();
}

}  // namespace terra::cuda
