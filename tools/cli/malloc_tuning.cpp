#include "tools/cli/malloc_tuning.hpp"

#include <unistd.h>  // execv, readlink

#include <cstdlib>
#include <cstring>
#include <string>

namespace terra::cli {

// Note [Malloc tuning]
// Every op allocates and frees a dozen or two small objects: tensor headers and their shapes,
// autograd nodes, Python wrappers. glibc keeps 7 free chunks of each size in a per-thread cache;
// a training step frees in bursts (backward releases the forward's nodes) and then allocates as
// many, so all but seven of them go through the arena's lock and bins instead. With 256 a size,
// a step of 50 adds and their backward on [32, 16] tensors takes 100 µs instead of 115 eagerly
// and 100 instead of 121 replayed (128 gets most of it; 1024 and 4096 gain nothing more). The
// cache size is a tunable glibc reads only when a process starts, so `terra run` sets it and
// executes itself again before anything else has run, then takes its marks out of the
// environment, so the script and its subprocesses see the environment they were given. A
// GLIBC_TUNABLES set by the user is left alone (and not added to); TERRA_MALLOC_TUNING=0 turns
// this off. Under a tool that hosts the program (valgrind), /proc/self/exe is the tool, not
// `terra`: it is executed again only when the names agree.
namespace {

constexpr const char* kTunables = "glibc.malloc.tcache_count=256";
constexpr const char* kMark = "TERRA_MALLOC_TUNED";

std::string base_name(const std::string& path) { return path.substr(path.find_last_of('/') + 1); }

// The running executable, when it is the program argv[0] names; empty otherwise.
std::string own_executable(const char* argv0) {
  char path[4096];
  const ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0 || !argv0) return {};
  path[n] = '\0';
  return base_name(path) == base_name(argv0) ? std::string(path) : std::string();
}

}  // namespace

void tune_malloc(char** argv) {
  if (std::getenv(kMark)) {  // this is the re-execution: the setting is in effect
    unsetenv(kMark);
    unsetenv("GLIBC_TUNABLES");
    return;
  }
  if (std::getenv("GLIBC_TUNABLES")) return;
  if (const char* v = std::getenv("TERRA_MALLOC_TUNING"); v && std::strcmp(v, "0") == 0) return;
  const std::string self = own_executable(argv[0]);
  if (self.empty()) return;
  if (setenv("GLIBC_TUNABLES", kTunables, 1) != 0 || setenv(kMark, "1", 1) != 0) return;
  execv(self.c_str(), argv);
  unsetenv(kMark);  // the program could not be executed again: run untuned
  unsetenv("GLIBC_TUNABLES");
}

}  // namespace terra::cli
