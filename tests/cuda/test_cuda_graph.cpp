// CUDA graph capture and replay of plan runs (engine/graph/cuda_graph.hpp, Note [CUDA graph
// replay]) on a device: a fused plan run many times replays, bitwise what plain launches compute,
// on the caller's thread and on another one, with fresh kept storages, and with a moving input
// once it is staged; TERRA_CUDA_GRAPHS=0 and a plan a capture may not hold give the same results. The policy itself is tested
// without a device in tests/engine/test_graph_replay.cpp.
#include <cstdlib>
#include <thread>

#include "cuda_cases.hpp"
#include "engine/graph/graph_replay.hpp"
#include "engine/graph/tensor_on.hpp"
#include "tests/engine/graph_builder.hpp"

namespace terra::test {
namespace {

// x [64, 33], w [33] on the device: two fused chains around a copy of its transpose (clone is not fused), both results kept.
GraphBuilder fused_program() {
  GraphBuilder g;
  const int x = g.bind(to(random_tensor({64, 33}, DType::Float32, 401), kCuda));
  const int w = g.bind(to(random_tensor({33}, DType::Float32, 402), kCuda));
  const int a = g.op1("tanh", {g.op1("mul", {g.op1("sin", {x}), w})});
  g.keep(a);
  const int t = g.op1("clone", {g.op1("transpose", {a}, {{"dim0", int64_t(0)}, {"dim1", int64_t(1)}})});
  g.keep(g.op1("exp", {g.op1("add", {t, g.op1("cos", {t})})}));
  return g;
}

std::vector<Storage> fresh_kept(const GraphBuilder& g) {
  std::vector<Storage> kept(g.program.num_kept);
  for (const graph::Buffer& b : g.program.buffers)
    if (b.kind == graph::BufferKind::Kept) kept[b.index] = std::make_shared<StorageImpl>(b.nbytes, b.device, StorageImpl::Deferred{});
  return kept;
}

// The kept values of a run, read back to the host.
std::vector<std::vector<double>> results(const GraphBuilder& g, const std::vector<Storage>& kept) {
  std::vector<std::vector<double>> out;
  for (int v : g.kept_values) {
    const graph::Value& val = g.program.values[v];
    out.push_back(values(to(graph::tensor_on(kept[g.program.buffers[val.buffer].index], val.meta), kCpu)));
  }
  return out;
}

graph::CompiledPlan compile_with(const GraphBuilder& g, bool cuda_graphs) {
  graph::CompileOptions o;
  o.cuda_graphs = cuda_graphs;
  return graph::compile(g.program, o);
}

}  // namespace

TEST_CASE("CUDA graphs: a fused plan replays bitwise what plain launches compute", "[cuda][cuda_graph]") {
  if (!have_device("CUDA graph capture and replay of a fused plan")) return;
  const GraphBuilder g = fused_program();
  const std::vector<Tensor> bound(g.eager.begin(), g.eager.begin() + g.program.num_bound);
  graph::CompiledPlan plain = compile_with(g, false), graphs = compile_with(g, true);
  REQUIRE(graphs.stats.fused_groups >= 2);
  CHECK(graphs.cuda_graph_blocker.empty());
  CHECK(plain.cuda_graph_blocker == "turned off (TERRA_CUDA_GRAPHS=0)");
  constexpr int kRuns = 8;
  // The same kept storages every run: one capture (after the warm-up run), then replays.
  const std::vector<Storage> kept_plain = fresh_kept(g), kept_graphs = fresh_kept(g);
  for (int run = 0; run < kRuns; ++run) {
    INFO("run " << run);
    graph::run(plain, bound, kept_plain);
    graph::run(graphs, bound, kept_graphs);
    CHECK(results(g, kept_graphs) == results(g, kept_plain));
  }
  CHECK(plain.stats.cuda_graph_captures == 0);
  CHECK(plain.stats.cuda_graph_replays == 0);
  INFO(graphs.to_json());
  CHECK(graphs.cuda_graph_blocker.empty());
  CHECK(graphs.stats.cuda_graph_captures == 1);
  CHECK(graphs.stats.cuda_graph_replays == kRuns - 2);
  const std::vector<std::vector<double>> want = results(g, kept_plain);

  // Replays from another thread (its own stream) compute the same.
  const int replays = graphs.stats.cuda_graph_replays;
  std::thread([&] { graph::run(graphs, bound, kept_graphs); }).join();
  CHECK(graphs.stats.cuda_graph_replays == replays + 1);
  CHECK(results(g, kept_graphs) == want);

  // Fresh kept storages every run (as co-execution hands in): the graph writes storages of its
  // own and copies them out, so it replays.
  const int captured = graphs.stats.cuda_graph_captures, replayed = graphs.stats.cuda_graph_replays;
  for (int run = 0; run < kRuns; ++run) {
    const std::vector<Storage> kept = fresh_kept(g);
    graph::run(graphs, bound, kept);
    CHECK(results(g, kept) == want);
  }
  CHECK(graphs.stats.cuda_graph_captures == captured);
  CHECK(graphs.stats.cuda_graph_replays == replayed + kRuns);

  // x moves (the next batch): the plan only reads it, so it is staged (copied into the graph's own
  // storage before each launch) after one more capture; later batches replay.
  for (int batch = 0; batch < 3; ++batch) {
    INFO("batch " << batch);
    const std::vector<Tensor> other = {to(random_tensor({64, 33}, DType::Float32, 403 + batch), kCuda), bound[1]};
    const std::vector<Storage> k1 = fresh_kept(g), k2 = fresh_kept(g);
    graph::run(plain, other, k1);
    graph::run(graphs, other, k2);
    CHECK(results(g, k2) == results(g, k1));
    CHECK(results(g, k2) != want);
  }
  CHECK(graphs.stats.cuda_graph_captures == captured + 1);
  CHECK(graphs.stats.cuda_graph_replays == replayed + kRuns + 2);
  CHECK(graphs.cuda_graph_blocker.empty());
}

TEST_CASE("CUDA graphs: TERRA_CUDA_GRAPHS=0 runs every kernel plainly", "[cuda][cuda_graph]") {
  if (!have_device("TERRA_CUDA_GRAPHS=0")) return;
  const GraphBuilder g = fused_program();
  const std::vector<Tensor> bound(g.eager.begin(), g.eager.begin() + g.program.num_bound);
  ::setenv("TERRA_CUDA_GRAPHS", "0", 1);
  graph::CompiledPlan plan = graph::compile(g.program, graph::CompileOptions{});
  ::unsetenv("TERRA_CUDA_GRAPHS");
  const std::vector<Storage> kept = fresh_kept(g);
  for (int run = 0; run < 4; ++run) graph::run(plan, bound, kept);
  CHECK(plan.stats.cuda_graph_captures == 0);
  CHECK(plan.stats.cuda_graph_replays == 0);
  const std::vector<Storage> reference = fresh_kept(g);
  graph::CompiledPlan graphs = compile_with(g, true);
  for (int run = 0; run < 4; ++run) graph::run(graphs, bound, reference);
  CHECK(results(g, kept) == results(g, reference));
}

// A matmul (cuBLAS with a workspace from the caching allocator) and reductions: whether their
// kernels can be captured or the capture is dropped (an allocation during capture, a host
// read), every run's results are those of plain launches.
TEST_CASE("CUDA graphs: library calls and reductions give the same results captured or not", "[cuda][cuda_graph]") {
  if (!have_device("CUDA graphs around cuBLAS and reductions")) return;
  GraphBuilder g;
  const int x = g.bind(to(random_tensor({32, 48}, DType::Float32, 411), kCuda));
  const int w = g.bind(to(random_tensor({48, 16}, DType::Float32, 412), kCuda));
  const int y = g.op1("relu", {g.op1("mm", {x, w})});
  g.keep(y);
  g.keep(g.op1("sum", {g.op1("mul", {y, y})}, {{"dim", std::vector<int64_t>{1}}}));
  const std::vector<Tensor> bound(g.eager.begin(), g.eager.begin() + g.program.num_bound);
  graph::CompiledPlan plain = compile_with(g, false), graphs = compile_with(g, true);
  const std::vector<Storage> kp = fresh_kept(g), kg = fresh_kept(g);
  for (int run = 0; run < 6; ++run) {
    graph::run(plain, bound, kp);
    graph::run(graphs, bound, kg);
    CHECK(results(g, kg) == results(g, kp));
  }
  INFO("blocker: " << graphs.cuda_graph_blocker);
  CHECK((graphs.stats.cuda_graph_replays > 0 || !graphs.cuda_graph_blocker.empty()));
  WARN("matmul + sum plan: " << graphs.stats.cuda_graph_captures << " captures, " << graphs.stats.cuda_graph_replays
                             << " replays; " << (graphs.cuda_graph_blocker.empty() ? "captured" : graphs.cuda_graph_blocker));
}

}  // namespace terra::test
