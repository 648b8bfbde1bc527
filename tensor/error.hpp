// Terra's one exception type. Every user-facing failure (bad shapes, dtypes, dims, indices) is an
// terra::Error carrying a kind that the Python bindings map to TypeError/ValueError/RuntimeError/
// IndexError as PyTorch does, plus the op name when one is known. The dispatcher fills in the op
// and a description of its inputs, so shape rules only need to say what is wrong.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace terra {

enum class ErrorKind { Type, Value, Runtime, Index, NotImplemented, OutOfMemory };

const char* error_kind_name(ErrorKind kind);

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string message, std::string op = {});
  ErrorKind kind() const { return kind_; }
  const std::string& op() const { return op_; }
  const std::string& message() const { return message_; }
  // Returns a copy naming `op` and appending `context` (e.g. the inputs' shapes and dtypes).
  Error with_context(const std::string& op, const std::string& context) const;

 private:
  ErrorKind kind_;
  std::string message_;
  std::string op_;
};

namespace detail {
inline void append(std::ostringstream&) {}
template <class T, class... Rest>
void append(std::ostringstream& os, const T& first, const Rest&... rest) {
  os << first;
  append(os, rest...);
}
}  // namespace detail

template <class... Args>
[[noreturn]] void fail(ErrorKind kind, const Args&... parts) {
  std::ostringstream os;
  detail::append(os, parts...);
  throw Error(kind, os.str());
}

}  // namespace terra

// TERRA_CHECK(cond, Value, "message parts", ...): throws terra::Error of that kind when cond fails.
#define TERRA_CHECK(cond, kind, ...)                              \
  do {                                                            \
    if (!(cond)) ::terra::fail(::terra::ErrorKind::kind, __VA_ARGS__); \
  } while (0)

// Internal invariants: a failure here is a bug in Terra, not in the user's program.
#define TERRA_ASSERT(cond)                                                               \
  do {                                                                                   \
    if (!(cond))                                                                         \
      ::terra::fail(::terra::ErrorKind::Runtime, "internal error: ", #cond, " at ", __FILE__, \
                    ":", __LINE__);                                                      \
  } while (0)
