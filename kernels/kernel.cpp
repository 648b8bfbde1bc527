#include "kernels/kernel.hpp"

#include <array>
#include <mutex>
#include <sstream>
#include <unordered_map>

namespace terra {

namespace {
struct KernelTable {
  std::mutex mutex;
  std::unordered_map<std::string, std::array<KernelFn, kNumDeviceTypes>> map;
};
KernelTable& table() {
  static KernelTable* t = new KernelTable();
  return *t;
}
}  // namespace

bool register_kernel(const char* op, DeviceType device, KernelFn fn) {
  auto& t = table();
  std::lock_guard<std::mutex> lock(t.mutex);
  auto& slot = t.map[op][static_cast<int>(device)];
  TERRA_ASSERT(slot == nullptr);  // one kernel per op and device
  slot = fn;
  return true;
}

KernelFn find_kernel(std::string_view op, DeviceType device) {
  auto& t = table();
  std::lock_guard<std::mutex> lock(t.mutex);
  auto it = t.map.find(std::string(op));
  return it == t.map.end() ? nullptr : it->second[static_cast<int>(device)];
}

size_t Attrs::index(std::string_view name) const {
  for (size_t i = 0; i < names_->size(); ++i)
    if ((*names_)[i] == name) return i;
  fail(ErrorKind::Runtime, "internal error: no attribute named '", name, "'");
}

std::string attr_str(const AttrValue& v) {
  std::ostringstream os;
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) os << "None";
        else if constexpr (std::is_same_v<T, bool>) os << (x ? "True" : "False");
        else if constexpr (std::is_same_v<T, Scalar>) {
          if (x.is_floating()) os << x.as_double();
          else if (x.is_bool()) os << (x.as_int() ? "True" : "False");
          else os << x.as_int();
        } else if constexpr (std::is_same_v<T, std::string>) os << '"' << x << '"';
        else if constexpr (std::is_same_v<T, std::vector<int64_t>> || std::is_same_v<T, std::vector<double>>) {
          os << "[";
          for (size_t i = 0; i < x.size(); ++i) os << (i ? ", " : "") << x[i];
          os << "]";
        } else if constexpr (std::is_same_v<T, DType>) os << dtype_name(x);
        else if constexpr (std::is_same_v<T, Device>) os << x.str();
        else if constexpr (std::is_same_v<T, std::shared_ptr<Generator>>) os << "<Generator>";
        else os << x;
      },
      v);
  return os.str();
}

}  // namespace terra
