// dlopen and dlsym behind the lazy library tables (lazy_library.hpp, Note [Lazy CUDA libraries]).
#include "kernels/cuda/lazy_library.hpp"

#include <dlfcn.h>

namespace terra::cuda {

void* LazyLibrary::find(const char* symbol, std::string& error) const {
  std::call_once(opened_, [this] {
    // RTLD_LOCAL: the library's symbols resolve only through the table. Never closed: handles and
    // descriptors made from it live as long as the process.
    handle_ = dlopen(soname_.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle_) {
      const char* why = dlerror();
      open_error_ = title_ + " is needed here but " + soname_ + " could not be loaded (" +
                    (why ? why : "unknown reason") + "): install it where the CUDA runtime is found, or on " +
                    "LD_LIBRARY_PATH";
    }
  });
  if (!handle_) {
    error = open_error_;
    return nullptr;
  }
  dlerror();  // clear a stale message
  void* address = dlsym(handle_, symbol);
  if (!address) {
    const char* why = dlerror();
    error = title_ + " (" + soname_ + ") has no function " + symbol + " (" + (why ? why : "null symbol") +
            "): a library older than the headers Terra was built with?";
  }
  return address;
}

}  // namespace terra::cuda
