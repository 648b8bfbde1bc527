// Graph compiler and plan executor benchmark: for elementwise-heavy programs (LSTM cell, GELU with
// the tanh approximation, LayerNorm, at 64x512), kernels and bytes moved per run before and after
// fusion, and the median run time of the plan with fusion off and on against eager dispatch of the
// same ops (interleaved); then the compile time of a 1,000-op program. Not a test: it prints numbers.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>

#include "engine/trace/suspend.hpp"
#include "kernels/cpu/parallel.hpp"
#include "tests/engine/graph_programs.hpp"

using namespace terra;
using namespace terra::test;

namespace {

// Median seconds of each body over `reps` rounds; the bodies take turns within a round (A B C A B
// C ...) so that a change of load on a shared machine hits them alike.
std::vector<double> interleaved_medians(int reps, const std::vector<std::function<void()>>& bodies) {
  for (const auto& body : bodies) body();  // warm up (arena, caches)
  std::vector<std::vector<double>> t(bodies.size());
  for (int i = 0; i < reps; ++i) {
    for (size_t k = 0; k < bodies.size(); ++k) {
      const auto start = std::chrono::steady_clock::now();
      bodies[k]();
      t[k].push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
  }
  std::vector<double> medians;
  for (std::vector<double>& times : t) {
    std::sort(times.begin(), times.end());
    medians.push_back(times[times.size() / 2]);
  }
  return medians;
}

Tensor randn(const Shape& shape) { return call1("randn", {}, {{"size", std::vector<int64_t>(shape)}}); }

// The same ops in the same order through the eager dispatcher, allocating as eager code does.
void eager_replay(const graph::Program& p, const std::vector<Tensor>& bound) {
  std::vector<Tensor> vals(p.values.size());
  std::copy(bound.begin(), bound.end(), vals.begin());
  for (const graph::Step& s : p.steps) {
    std::vector<Tensor> ins;
    for (int in : s.inputs) ins.push_back(in >= 0 ? vals[in] : Tensor());
    if (s.form == trace::CallForm::InPlace) {
      vals[s.outputs[0]] = dispatch_inplace(*s.op, ins, s.attrs);
    } else {
      std::vector<Tensor> out = dispatch(*s.op, ins, s.attrs);
      for (size_t o = 0; o < out.size(); ++o) vals[s.outputs[o]] = out[o];
    }
  }
}

void bench_program(const char* name, const GraphBuilder& g) {
  graph::CompileOptions off;
  off.fusion = false;
  graph::CompiledPlan plain = graph::compile(g.program, off), fused = graph::compile(g.program);
  std::vector<Storage> kept;
  for (const graph::Buffer& b : g.program.buffers)
    if (b.kind == graph::BufferKind::Kept) kept.push_back(std::make_shared<StorageImpl>(b.nbytes, b.device));
  std::vector<Tensor> bound = g.initial;
  const int reps = 200;
  const std::vector<double> t = interleaved_medians(reps, {[&] { eager_replay(g.program, bound); },
                                                            [&] { graph::run(plain, bound, kept); },
                                                            [&] { graph::run(fused, bound, kept); }});
  std::printf("%-11s kernels %3d -> %3d   bytes moved %8.1f KiB -> %8.1f KiB   arena %7.1f KiB -> %7.1f KiB\n", name,
              plain.stats.kernels_per_run, fused.stats.kernels_per_run, plain.stats.bytes_moved / 1024.0,
              fused.stats.bytes_moved / 1024.0, plain.stats.arena_bytes / 1024.0, fused.stats.arena_bytes / 1024.0);
  std::printf("%-11s median run: eager %8.1f us   plan, fusion off %8.1f us   plan, fusion on %8.1f us\n", "",
              t[0] * 1e6, t[1] * 1e6, t[2] * 1e6);
}

// A 1,000-op program: elementwise chains with broadcasts, matmuls and views, on small tensors.
GraphBuilder thousand_ops() {
  GraphBuilder g;
  std::vector<int> live = {g.bind(randn({16, 16})), g.bind(randn({16, 16})), g.bind(randn({16}))};
  const char* unary[] = {"tanh", "sigmoid", "exp", "neg"};
  const char* binary[] = {"add", "mul", "sub"};
  for (int i = 0; static_cast<int>(g.program.steps.size()) < 1000; ++i) {
    const int a = live[live.size() - 1], b = live[(i * 7) % live.size()];
    int v;
    if (i % 10 == 9) v = g.op1("mm", {a, live[1]});
    else if (i % 10 == 4) v = g.op1("transpose", {g.op1("contiguous", {a})}, {{"dim0", 0}, {"dim1", 1}});
    else if (i % 2) v = g.op1(unary[i % 4], {a});
    else v = g.op1(binary[i % 3], {a, g.program.values[b].meta.shape.size() == 1 ? live[2] : b});
    live.push_back(v);
  }
  g.keep(live.back());
  return g;
}

}  // namespace

int main() {
  trace::SuspendTracing no_trace;
  std::printf("graph_bench: %d threads\n", cpu::num_threads());
  {
    GraphBuilder g;
    const int x = g.bind(randn({64, 512})), h = g.bind(randn({64, 512})), c = g.bind(randn({64, 512}));
    const int w_ih = g.bind(randn({512, 2048})), w_hh = g.bind(randn({512, 2048})), bias = g.bind(randn({2048}));
    lstm_cell(g, {x, h, c, w_ih, w_hh, bias});
    bench_program("lstm cell", g);
  }
  {
    GraphBuilder g;
    gelu_tanh(g, g.bind(randn({64, 512})));
    bench_program("gelu tanh", g);
  }
  {
    GraphBuilder g;
    const int x = g.bind(randn({64, 512})), w = g.bind(randn({512})), b = g.bind(randn({512}));
    layer_norm(g, x, w, b);
    bench_program("layer norm", g);
  }
  GraphBuilder big = thousand_ops();
  graph::CompiledPlan plan = graph::compile(big.program);
  const double t_compile = interleaved_medians(5, {[&] { plan = graph::compile(big.program); }})[0];
  std::printf("compile of a %zu-op program: %.1f ms (%d kernels, %d fused groups, arena %.1f KiB)\n",
              big.program.steps.size(), t_compile * 1e3, plan.stats.kernels_per_run, plan.stats.fused_groups,
              plan.stats.arena_bytes / 1024.0);
  return 0;
}
