// Note [Lazy CUDA libraries]: libterra links only the CUDA runtime. cuBLAS, cuBLASLt, cuDNN and
// NVRTC are opened with dlopen the first time a kernel needs one (libraries.hpp), so `import terra`
// on a machine without a GPU never maps them (they cost ~180 MB of resident memory, libcublasLt
// alone ~150 MB), as PyTorch's LazyNVRTC does. A library's functions form one table: a struct of
// pointers typed from the library's own header (decltype of the declaration) and filled all at once
// on first use; a missing library or symbol raises terra::Error (Runtime) naming both, each time a
// caller asks, instead of crashing. Plain C++: this header includes no CUDA headers.
#pragma once
#include <mutex>
#include <string>

#include "tensor/error.hpp"

namespace terra::cuda {

// A shared library opened with dlopen (by soname: found where libterra's own libraries are, its
// RUNPATH included) and kept open for the life of the process.
class LazyLibrary {
 public:
  LazyLibrary(std::string title, std::string soname) : title_(std::move(title)), soname_(std::move(soname)) {}
  // The address of `symbol`, or nullptr with `error` naming the library, the symbol and dlerror's
  // reason (the first call opens the library).
  void* find(const char* symbol, std::string& error) const;

 private:
  std::string title_, soname_;
  mutable std::once_flag opened_;
  mutable void* handle_ = nullptr;
  mutable std::string open_error_;
};

// The table of functions `Table` (made by TERRA_LAZY_TABLE) from one library, resolved the first
// time get() is called, by any thread.
template <class Table>
class LazyTable {
 public:
  LazyTable(std::string title, std::string soname) : library_(std::move(title), std::move(soname)) {}
  const Table& get() const {
    std::call_once(resolved_, [this] {
      table_.resolve([this](const char* symbol) { return error_.empty() ? library_.find(symbol, error_) : nullptr; });
    });
    if (!error_.empty()) fail(ErrorKind::Runtime, error_);
    return table_;
  }

 private:
  LazyLibrary library_;
  mutable std::once_flag resolved_;
  mutable Table table_;
  mutable std::string error_;
};

}  // namespace terra::cuda

// TERRA_LAZY_TABLE(Name, LIST) defines struct Name with one pointer per entry X(prefix, fn) of the
// X-macro LIST: member `fn` has the type of `prefix##fn`'s declaration, and is looked up under the
// name that declaration expands to (cublas_v2.h maps cublasCreate to cublasCreate_v2, for
// instance), so a call through the table binds to the same symbol a linked call would.
#define TERRA_LAZY_STRING(symbol) TERRA_LAZY_STRING_(symbol)
#define TERRA_LAZY_STRING_(symbol) #symbol
#define TERRA_LAZY_POINTER(prefix, fn) decltype(&prefix##fn) fn = nullptr;
#define TERRA_LAZY_LOOKUP(prefix, fn) fn = reinterpret_cast<decltype(fn)>(lookup(TERRA_LAZY_STRING(prefix##fn)));
#define TERRA_LAZY_TABLE(Name, LIST)           \
  struct Name {                                \
    LIST(TERRA_LAZY_POINTER)                   \
    template <class Lookup>                    \
    void resolve(Lookup&& lookup) {            \
      LIST(TERRA_LAZY_LOOKUP)                  \
    }                                          \
  }
