#include "tensor/error.hpp"

namespace terra {

const char* error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Type: return "TypeError";
    case ErrorKind::Value: return "ValueError";
    case ErrorKind::Runtime: return "RuntimeError";
    case ErrorKind::Index: return "IndexError";
    case ErrorKind::NotImplemented: return "NotImplementedError";
    case ErrorKind::OutOfMemory: return "OutOfMemoryError";
  }
  return "Error";
}

static std::string compose(const std::string& op, const std::string& message) {
  return op.empty() ? message : op + ": " + message;
}

Error::Error(ErrorKind kind, std::string message, std::string op)
    : std::runtime_error(compose(op, message)),
      kind_(kind),
      message_(std::move(message)),
      op_(std::move(op)) {}

Error Error::with_context(const std::string& op, const std::string& context) const {
  std::string msg = message_;
  if (!context.empty()) msg += " (" + context + ")";
  return Error(kind_, msg, op_.empty() ? op : op_);
}

}  // namespace terra
