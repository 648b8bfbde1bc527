// What the graph tests share: options that verify the IR after every pass, seeded random bound
// inputs, and the comparison of a run with eager execution (kept values and bound inputs).
#pragma once
#include "engine/graph/tensor_on.hpp"
#include "helpers.hpp"
#include "tests/engine/graph_programs.hpp"

namespace terra::test {

inline graph::CompileOptions checked_options() {
  graph::CompileOptions o;
  o.validate_each_pass = true;
  return o;
}

inline std::vector<int> bind_random(GraphBuilder& g, const std::vector<Shape>& shapes, DType dtype, uint64_t seed) {
  std::vector<int> ids;
  for (size_t i = 0; i < shapes.size(); ++i) ids.push_back(g.bind(random_tensor(shapes[i], dtype, seed + i)));
  return ids;
}

// Every kept value and every bound input equals eager (rtol 0: bitwise); kept storages end
// allocated and not pending.
inline void check_against_eager(const GraphBuilder& g, const GraphBuilder::Outcome& o, double rtol) {
  for (int v : g.kept_values) {
    const graph::Value& val = g.program.values[v];
    const Storage& s = o.kept[g.program.buffers[val.buffer].index];
    CHECK(s->allocated());
    CHECK(!s->pending());
    INFO("kept value " << v);
    check_values(graph::tensor_on(s, val.meta), values(g.eager[v]), rtol, 0.0);
  }
  for (int b = 0; b < g.program.num_bound; ++b) {
    INFO("bound input " << b);
    check_values(o.bound[b], values(g.eager[b]), rtol, 0.0);
  }
}

}  // namespace terra::test
