// Whether the dispatcher records the autograd graph on this thread (torch.no_grad and friends).
#pragma once

namespace terra {

class GradMode {
 public:
  static bool is_enabled();
  static void set_enabled(bool enabled);
};

// torch.autograd's anomaly detection, process-wide as PyTorch's: with check_nan, backward raises
// at the first node that returns a NaN gradient, naming it.
class AnomalyMode {
 public:
  static bool is_enabled();
  static bool checks_nan();
  static void set_enabled(bool enabled, bool check_nan = true);
};

// Sets grad mode for a scope and restores the previous value on exit.
class GradModeGuard {
 public:
  explicit GradModeGuard(bool enabled) : previous_(GradMode::is_enabled()) { GradMode::set_enabled(enabled); }
  ~GradModeGuard() { GradMode::set_enabled(previous_); }
  GradModeGuard(const GradModeGuard&) = delete;
  GradModeGuard& operator=(const GradModeGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace terra
