// Per-device arenas (memory_plan.cpp) and the CUDA-free half of CUDA graph replay
// (engine/graph/graph_replay.hpp): which plans qualify, the replay key, the capture policy. The
// programs are built on the CPU and some buffers retagged as CUDA ones: planning never runs them.
// tests/cuda/test_cuda_graph.cpp runs captured plans on a device.
#include <cstdlib>

#include "engine/graph/graph_replay.hpp"
#include "graph_test_support.hpp"

namespace terra::test {
namespace {

const Device kCuda0{DeviceType::CUDA, 0};

// Moves buffer b (and every value on it) to `d`, on paper.
void retag(graph::Program& p, int b, Device d) {
  p.buffers[b].device = d;
  for (graph::Value& v : p.values)
    if (v.buffer == b) v.meta.device = d;
}

void retag_all(graph::Program& p, Device d) {
  for (size_t b = 0; b < p.buffers.size(); ++b) retag(p, static_cast<int>(b), d);
}

graph::CompileOptions planning_only() {
  graph::CompileOptions o = checked_options();
  o.fusion = false;  // a CUDA group would be compiled with NVRTC; placement is what is tested
  return o;
}

// A chain of 12 elementwise steps over 4 bound inputs, the last value kept.
GraphBuilder chain() {
  GraphBuilder g;
  const auto ids = bind_random(g, {{16, 24}, {16, 24}, {16, 24}, {16, 24}}, DType::Float32, 301);
  int acc = ids[0];
  for (int i = 0; i < 12; ++i) acc = g.op1(i % 3 ? "mul" : "add", {g.op1("sin", {acc}), ids[1 + i % 3]});
  g.keep(acc);
  return g;
}

}  // namespace

TEST_CASE("memory planning: one arena per device, space shared only within a device", "[graph][arena]") {
  GraphBuilder g = chain();
  const graph::CompiledPlan cpu = graph::compile(g.program, planning_only());
  REQUIRE(cpu.stats.arenas.size() == 1);
  CHECK(cpu.stats.arenas[0].device == Device{});
  CHECK(cpu.stats.arenas[0].bytes == cpu.stats.arena_bytes);

  // Every other Internal buffer moves to cuda:0.
  graph::Program p = g.program;
  int internal = 0;
  for (size_t b = 0; b < p.buffers.size(); ++b)
    if (p.buffers[b].kind == graph::BufferKind::Internal && internal++ % 2) retag(p, static_cast<int>(b), kCuda0);
  const graph::CompiledPlan plan = graph::compile(p, planning_only());
  REQUIRE(plan.stats.arenas.size() == 2);
  CHECK(plan.stats.arenas[0].device == Device{});
  CHECK(plan.stats.arenas[1].device == kCuda0);
  CHECK(plan.stats.arena_bytes == plan.stats.arenas[0].bytes + plan.stats.arenas[1].bytes);
  std::vector<size_t> end(2, 0);
  const auto& pl = plan.placement;
  for (size_t a = 0; a < pl.size(); ++a) {
    if (pl[a].where != graph::Placement::Arena) continue;
    REQUIRE(pl[a].arena >= 0);
    CHECK(plan.stats.arenas[pl[a].arena].device == p.buffers[a].device);
    CHECK(pl[a].offset % 64 == 0);
    end[pl[a].arena] = std::max(end[pl[a].arena], pl[a].offset + p.buffers[a].nbytes);
    if (pl[a].reused_from >= 0) CHECK(pl[pl[a].reused_from].arena == pl[a].arena);
    for (size_t b = a + 1; b < pl.size(); ++b) {
      if (pl[b].where != graph::Placement::Arena || pl[b].arena != pl[a].arena) continue;
      const bool live_together = pl[a].first <= pl[b].last && pl[b].first <= pl[a].last;
      const bool same_space = pl[a].offset < pl[b].offset + p.buffers[b].nbytes &&
                              pl[b].offset < pl[a].offset + p.buffers[a].nbytes;
      const bool handed_over = pl[b].reused_from == static_cast<int>(a) || pl[a].reused_from == static_cast<int>(b);
      CHECK(!(live_together && same_space && !handed_over));
    }
  }
  for (int a = 0; a < 2; ++a) {
    CHECK(end[a] > 0);
    CHECK(plan.stats.arenas[a].bytes >= end[a]);
    CHECK(plan.stats.arenas[a].bytes < end[a] + 64);
  }
  const std::string json = plan.to_json();
  CHECK(json.find("\"arenas\":[{\"device\":\"cpu\"") != std::string::npos);
  CHECK(json.find("{\"device\":\"cuda:0\",\"bytes\":" + std::to_string(plan.stats.arenas[1].bytes)) != std::string::npos);
  CHECK(plan.to_dot().find(" cuda:0 @") != std::string::npos);

  // All on cuda:0: one arena again, placed as the CPU plan was.
  retag_all(p, kCuda0);
  const graph::CompiledPlan all = graph::compile(p, planning_only());
  REQUIRE(all.stats.arenas.size() == 1);
  CHECK(all.stats.arenas[0].device == kCuda0);
  CHECK(all.stats.arena_bytes == cpu.stats.arena_bytes);
  for (size_t b = 0; b < all.placement.size(); ++b) CHECK(all.placement[b].offset == cpu.placement[b].offset);
}

TEST_CASE("a plan without arena buffers has no arena and still runs", "[graph][arena]") {
  GraphBuilder g;
  const int x = bind_random(g, {{5}}, DType::Float32, 311)[0];
  g.keep(g.op1("exp", {x}));
  graph::CompiledPlan plan = graph::compile(g.program, checked_options());
  CHECK(plan.stats.arenas.empty());
  CHECK(plan.stats.arena_bytes == 0);
  for (int run = 0; run < 2; ++run) check_against_eager(g, g.run(plan), 0.0);
}

TEST_CASE("CUDA graphs: which plans may be captured", "[graph][cuda_graph]") {
  GraphBuilder g = chain();
  graph::CompiledPlan cpu = graph::compile(g.program, planning_only());
  CHECK(cpu.cuda_graph_blocker == "runs on cpu");
  CHECK(cpu.to_json().find("\"cuda_graph\":\"not captured: runs on cpu\"") != std::string::npos);

  graph::Program p = g.program;
  retag_all(p, kCuda0);
  graph::CompiledPlan plan = graph::compile(p, planning_only());
  CHECK(plan.cuda_graph_blocker.empty());
  CHECK(plan.to_json().find("\"cuda_graph\":\"capturable\"") != std::string::npos);
  CHECK(plan.to_json().find("\"cuda_graph_captures\":0,\"cuda_graph_replays\":0") != std::string::npos);

  graph::CompileOptions off = planning_only();
  off.cuda_graphs = false;
  CHECK(graph::compile(p, off).cuda_graph_blocker == "turned off (TERRA_CUDA_GRAPHS=0)");

  graph::Program mixed = p;
  retag(mixed, mixed.values[1].buffer, Device{});  // a bound input on the CPU
  CHECK(graph::compile(mixed, planning_only()).cuda_graph_blocker == "value 1 is on cpu, not cuda:0");

  // A Python number stays on the CPU: its value goes into the replay key.
  GraphBuilder s;
  const int half = s.bind(Tensor::wrap_scalar(0.5, DType::Float64));  // the first value, on the CPU
  const int sx = bind_random(s, {{6}}, DType::Float32, 325)[0];
  s.keep(s.op1("mul", {s.op1("exp", {sx}), half}));
  for (size_t b = 0; b < s.program.buffers.size(); ++b)
    if (s.program.values[half].buffer != static_cast<int>(b)) retag(s.program, static_cast<int>(b), kCuda0);
  CHECK(graph::compile(s.program, planning_only()).cuda_graph_blocker.empty());

  graph::Program per_run = p;
  per_run.steps[3].runtime_attrs = 0;
  CHECK(graph::compile(per_run, planning_only()).cuda_graph_blocker.find("attributes that change") != std::string::npos);

  GraphBuilder r;
  const int x = bind_random(r, {{6}}, DType::Float32, 321)[0];
  r.keep(r.op("dropout", {x}, {{"p", 0.5}}).at(0));
  retag_all(r.program, kCuda0);
  CHECK(graph::compile(r.program, planning_only()).cuda_graph_blocker.find("(dropout) draws random numbers") !=
        std::string::npos);

  GraphBuilder n;
  const int y = bind_random(n, {{6}}, DType::Float32, 331)[0];
  n.keep(n.op1("nonzero", {y}));
  retag_all(n.program, kCuda0);
  CHECK(graph::compile(n.program, planning_only()).cuda_graph_blocker.find("(nonzero)") != std::string::npos);
}

TEST_CASE("CUDA graphs: TERRA_CUDA_GRAPHS=0 turns them off for plans compiled after", "[graph][cuda_graph]") {
  ::setenv("TERRA_CUDA_GRAPHS", "0", 1);
  CHECK_FALSE(graph::CompileOptions{}.cuda_graphs);
  ::setenv("TERRA_CUDA_GRAPHS", "1", 1);
  CHECK(graph::CompileOptions{}.cuda_graphs);
  ::unsetenv("TERRA_CUDA_GRAPHS");
  CHECK(graph::CompileOptions{}.cuda_graphs);
}

TEST_CASE("CUDA graphs: the replay key follows the arenas, unstaged inputs' addresses, layouts, numbers",
          "[graph][cuda_graph]") {
  const Storage arena = std::make_shared<StorageImpl>(256, Device{});
  const Tensor a = random_tensor({4, 6}, DType::Float32, 341);
  const Tensor b = random_tensor({6, 4}, DType::Float32, 342);
  const std::vector<bool> none(2, false), b_staged = {false, true};
  const graph::ReplayKey key = graph::replay_key({arena}, {a, b}, none);
  CHECK(key == graph::replay_key({arena}, {a, b}, none));
  CHECK(key != graph::replay_key({std::make_shared<StorageImpl>(256, Device{})}, {a, b}, none));
  const Tensor moved = random_tensor({6, 4}, DType::Float32, 343);
  CHECK(key != graph::replay_key({arena}, {a, moved}, none));
  // A staged input counts by its layout only: the graph reads a copy.
  CHECK(graph::replay_key({arena}, {a, b}, b_staged) == graph::replay_key({arena}, {a, moved}, b_staged));
  CHECK(graph::replay_key({arena}, {a, b}, b_staged) != graph::replay_key({arena}, {moved, b}, b_staged));
  // The same storage, another layout (strides) or offset.
  for (const std::vector<bool>* staged : {&none, &b_staged}) {
    CHECK(key != graph::replay_key({arena}, {a, b.as_strided({6, 4}, {1, 6}, 0)}, *staged));
    CHECK(graph::replay_key({arena}, {a, b.as_strided({5, 4}, {4, 1}, 0)}, *staged) !=
          graph::replay_key({arena}, {a, b.as_strided({5, 4}, {4, 1}, 4)}, *staged));
  }
  // A Python number counts by its value, not its address.
  const graph::ReplayKey half = graph::replay_key({arena}, {a, Tensor::wrap_scalar(0.5, DType::Float64)}, none);
  CHECK(half == graph::replay_key({arena}, {a, Tensor::wrap_scalar(0.5, DType::Float64)}, none));
  CHECK(half != graph::replay_key({arena}, {a, Tensor::wrap_scalar(0.25, DType::Float64)}, none));
}

TEST_CASE("CUDA graphs: inputs the plan only reads are staged once their address moves", "[graph][cuda_graph]") {
  // x is read only; p is updated in place (an optimizer's parameter); n is a Python number.
  GraphBuilder g;
  const int x = g.bind(random_tensor({8}, DType::Float32, 351));
  const int p = g.bind(random_tensor({8}, DType::Float32, 352));
  const int n = g.bind(Tensor::wrap_scalar(0.5, DType::Float64));
  g.inplace("add", {p, g.op1("mul", {x, n})});
  const std::vector<bool> stageable = graph::stageable_inputs(g.program);
  CHECK(stageable == std::vector<bool>{true, false, true});

  std::vector<const void*> last;
  std::vector<bool> staged;
  const Tensor x1 = g.eager[x], p1 = g.eager[p];
  CHECK_FALSE(graph::stage_moved_inputs({x1, p1, Tensor::wrap_scalar(0.5, DType::Float64)}, stageable, last, staged));
  CHECK(staged == std::vector<bool>{false, false, false});  // the first run has nothing to compare with
  CHECK_FALSE(graph::stage_moved_inputs({x1, p1, Tensor::wrap_scalar(0.5, DType::Float64)}, stageable, last, staged));
  // x moves (the next batch), the number is made anew: x is staged.
  const Tensor x2 = random_tensor({8}, DType::Float32, 353);
  CHECK(graph::stage_moved_inputs({x2, p1, Tensor::wrap_scalar(0.5, DType::Float64)}, stageable, last, staged));
  CHECK(staged == std::vector<bool>{true, false, false});
  CHECK_FALSE(graph::stage_moved_inputs({x1, p1, Tensor::wrap_scalar(0.5, DType::Float64)}, stageable, last, staged));
  // p moves: it cannot be staged (the plan writes it), so its address stays in the key.
  const Tensor p2 = random_tensor({8}, DType::Float32, 354);
  CHECK_FALSE(graph::stage_moved_inputs({x1, p2, Tensor::wrap_scalar(0.5, DType::Float64)}, stageable, last, staged));
  CHECK(staged == std::vector<bool>{true, false, false});
}

TEST_CASE("CUDA graphs: warm up, capture per address set, replay, give up", "[graph][cuda_graph]") {
  using A = graph::ReplayPolicy::Action;
  const graph::ReplayKey k1{1, 2}, k2{3, 4}, k3{5, 6}, k4{7, 8};
  SECTION("the first run is plain, then each new key captures and a known one replays") {
    graph::ReplayPolicy policy;
    CHECK(policy.next(k1).action == A::Plain);  // the warm-up
    const graph::ReplayPolicy::Decision c1 = policy.next(k1);
    CHECK(c1.action == A::Capture);
    const graph::ReplayPolicy::Decision r1 = policy.next(k1);
    CHECK(r1.action == A::Replay);
    CHECK(r1.slot == c1.slot);
    // Two addresses that alternate (kept outputs of consecutive iterations) both replay.
    const graph::ReplayPolicy::Decision c2 = policy.next(k2);
    CHECK(c2.action == A::Capture);
    CHECK(c2.slot != c1.slot);
    for (int i = 0; i < 3; ++i) {
      const graph::ReplayPolicy::Decision d1 = policy.next(k1), d2 = policy.next(k2);
      CHECK((d1.action == A::Replay && d1.slot == c1.slot));
      CHECK((d2.action == A::Replay && d2.slot == c2.slot));
    }
    // A third key takes the least recently used slot (k1's).
    const graph::ReplayPolicy::Decision c3 = policy.next(k3);
    CHECK((c3.action == A::Capture && c3.slot == c1.slot));
    CHECK(policy.next(k2).action == A::Replay);
    CHECK(policy.next(k1).action == A::Capture);  // the fourth capture
    // A fifth would be one too many: the plan gives up, and runs plainly from then on.
    CHECK(policy.next(k4).action == A::GiveUp);
    CHECK(policy.gave_up());
    for (const graph::ReplayKey& k : {k1, k2, k4}) CHECK(policy.next(k).action == A::Plain);
  }
  SECTION("forgetting the graphs (more inputs staged) captures again, within the same limit") {
    graph::ReplayPolicy policy;
    CHECK(policy.next(k1).action == A::Plain);
    CHECK(policy.next(k1).action == A::Capture);
    CHECK(policy.next(k1).action == A::Replay);
    policy.forget_graphs();
    CHECK(policy.next(k1).action == A::Capture);
    CHECK(policy.next(k1).action == A::Replay);
    CHECK(policy.next(k2).action == A::Capture);
    CHECK(policy.next(k3).action == A::Capture);  // the fourth
    CHECK(policy.next(k4).action == A::GiveUp);
  }
  SECTION("a failed capture ends capturing for the plan") {
    graph::ReplayPolicy policy;
    CHECK(policy.next(k1).action == A::Plain);
    CHECK(policy.next(k1).action == A::Capture);
    policy.capture_failed();
    CHECK(policy.gave_up());
    CHECK(policy.next(k1).action == A::Plain);
    CHECK(policy.next(k2).action == A::Plain);
  }
}

}  // namespace terra::test
