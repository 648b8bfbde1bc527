#include "tools/cli/ops_table.hpp"

#include <iomanip>

#include "engine/registry/registry.hpp"

namespace terra::cli {

void print_ops_table(std::ostream& os) {
  auto ops = Registry::instance().all();
  size_t w = 4;
  for (const OpDef* op : ops) w = std::max(w, op->name().size());
  os << std::left << std::setw(static_cast<int>(w) + 2) << "op" << std::setw(13) << "effect" << std::setw(12)
     << "devices" << std::setw(7) << "grad"
     << "schema\n";
  int with_grad = 0;
  for (const OpDef* op : ops) {
    std::string devices;
    for (int d = 0; d < kNumDeviceTypes; ++d)
      if (op->kernel(static_cast<DeviceType>(d)))
        devices += std::string(devices.empty() ? "" : ",") + device_type_name(static_cast<DeviceType>(d));
    const char* grad = op->grad_state == GradState::Formula ? "yes"
                       : op->grad_state == GradState::NotDifferentiable ? "none"
                                                                        : "-";
    with_grad += op->grad_state == GradState::Formula;
    os << std::setw(static_cast<int>(w) + 2) << op->name() << std::setw(13) << effect_name(op->effect) << std::setw(12)
       << (devices.empty() ? "(none)" : devices) << std::setw(7) << grad << op->schema.str() << "\n";
  }
  os << ops.size() << " ops, " << with_grad << " with a gradient\n";
}

}  // namespace terra::cli
