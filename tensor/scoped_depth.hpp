// ScopedDepth raises a thread-local depth counter for the life of a scope; the named guards
// (FreezeVersions, RunningDeferredWork, trace::SuspendTracing) are instances of it.
#pragma once

namespace terra {

class ScopedDepth {
 public:
  explicit ScopedDepth(int& depth) : depth_(depth) { ++depth_; }
  ~ScopedDepth() { --depth_; }
  ScopedDepth(const ScopedDepth&) = delete;
  ScopedDepth& operator=(const ScopedDepth&) = delete;

 private:
  int& depth_;
};

}  // namespace terra
