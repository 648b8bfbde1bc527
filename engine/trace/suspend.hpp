// Ops called while tracing is suspended on this thread go straight to the eager dispatcher: the
// plan executor, kernels that dispatch other ops, and the tracer's own work use this so that only
// the op calls a program makes are traced.
#pragma once
#include "tensor/scoped_depth.hpp"

namespace terra::trace {

inline thread_local int suspend_depth = 0;

struct SuspendTracing : ScopedDepth {
  SuspendTracing() : ScopedDepth(suspend_depth) {}
};

inline bool tracing_suspended() { return suspend_depth > 0; }

}  // namespace terra::trace
