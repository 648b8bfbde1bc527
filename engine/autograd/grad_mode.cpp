#include "engine/autograd/grad_mode.hpp"

#include <atomic>

namespace terra {

namespace {
thread_local bool grad_enabled = true;
std::atomic<bool> anomaly_enabled{false}, anomaly_checks_nan{true};
}

bool GradMode::is_enabled() { return grad_enabled; }
void GradMode::set_enabled(bool enabled) { grad_enabled = enabled; }

bool AnomalyMode::is_enabled() { return anomaly_enabled.load(std::memory_order_relaxed); }
bool AnomalyMode::checks_nan() { return anomaly_checks_nan.load(std::memory_order_relaxed); }
void AnomalyMode::set_enabled(bool enabled, bool check_nan) {
  anomaly_enabled.store(enabled, std::memory_order_relaxed);
  anomaly_checks_nan.store(check_nan, std::memory_order_relaxed);
}

}  // namespace terra
