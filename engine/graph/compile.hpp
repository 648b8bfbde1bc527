// The graph compiler's entry point (DESIGN.md §8): runs the passes that `options` switch on over a
// Program and returns the plan the executor runs.
#pragma once
#include "engine/graph/plan.hpp"

namespace terra::graph {

CompiledPlan compile(Program program, const CompileOptions& options = {});

}  // namespace terra::graph
