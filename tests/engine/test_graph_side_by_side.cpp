// Kernels side by side (Note [Steps side by side] in engine/graph/side_by_side.cpp): the order the
// analysis keeps is checked against a brute-force list of every pair of kernels that touch the
// same bytes, and runs that put kernels side by side on two threads equal eager execution bitwise.
#include <set>

#include "engine/graph/analysis.hpp"
#include "graph_test_support.hpp"
#include "kernels/cpu/parallel.hpp"

using namespace terra;
using namespace terra::test;

namespace {

// The pool has two threads for the test (the machine may have one core or many).
struct TwoThreads {
  TwoThreads() : saved(cpu::num_threads()) { cpu::set_num_threads(2); }
  ~TwoThreads() { cpu::set_num_threads(saved); }
  int saved;
};

graph::CompileOptions side_by_side_options(bool fusion) {
  graph::CompileOptions o = checked_options();
  o.fusion = fusion;
  o.side_by_side = 1;
  return o;
}

// What schedule position k reads (values) and writes (buffers), derived from the program.
struct Touches {
  std::vector<int> reads, writes;
};
Touches touches(const graph::CompiledPlan& plan, const graph::Kernel& k) {
  const graph::Program& p = plan.program;
  Touches t;
  if (k.group >= 0) {
    for (int v : plan.groups[k.group].inputs) t.reads.push_back(v);
    for (int v : plan.groups[k.group].outputs) t.writes.push_back(p.values[v].buffer);
    return t;
  }
  const graph::Step& s = p.steps[k.step];
  for (int v : s.inputs)
    if (v >= 0) t.reads.push_back(v);
  for (int b : graph::overwritten_buffers(p, s)) t.writes.push_back(b);
  for (size_t o = 0; o < s.outputs.size(); ++o)
    if (graph::fresh_output(p, s, static_cast<int>(o))) t.writes.push_back(p.values[s.outputs[o]].buffer);
  return t;
}

bool same_bytes(const graph::CompiledPlan& plan, int a, int b) {
  if (a == b) return true;
  const graph::BufferPlacement &x = plan.placement[a], &y = plan.placement[b];
  if (x.where != graph::Placement::Arena || y.where != graph::Placement::Arena || x.arena != y.arena) return false;
  const size_t x_end = x.offset + plan.program.buffers[a].nbytes, y_end = y.offset + plan.program.buffers[b].nbytes;
  return x.offset < y_end && y.offset < x_end;
}

// Every pair of positions i < j that must keep its order does: j reads what i produced, or both
// touch the same bytes and one of them writes. Kept: j waits for i, directly or through others,
// or a lone position lies between them (or is one of them).
void check_order_kept(const graph::CompiledPlan& plan) {
  const graph::SideBySide& sb = plan.side_by_side;
  const int n = static_cast<int>(plan.schedule.size());
  REQUIRE(static_cast<int>(sb.alone.size()) == n);
  std::vector<int> position_of_step(plan.program.steps.size());
  for (int i = 0; i < n; ++i) {
    const graph::Kernel& k = plan.schedule[i];
    if (k.group >= 0)
      for (int s : plan.groups[k.group].steps) position_of_step[s] = i;
    else
      position_of_step[k.step] = i;
  }
  std::vector<std::set<int>> before(n);  // transitive waits
  for (int j = 0; j < n; ++j)
    for (int i : sb.waits_for[j]) {
      REQUIRE(i < j);
      before[j].insert(i);
      before[j].insert(before[i].begin(), before[i].end());
    }
  std::vector<Touches> t;
  for (const graph::Kernel& k : plan.schedule) t.push_back(touches(plan, k));
  auto lone_between = [&](int i, int j) {
    for (int k = i; k <= j; ++k)
      if (sb.alone[k]) return true;
    return false;
  };
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < j; ++i) {
      bool conflict = false;
      for (int v : t[j].reads) {
        const graph::Value& val = plan.program.values[v];
        conflict = conflict || (val.producer >= 0 && position_of_step[val.producer] == i);
        if (val.constant >= 0) continue;
        for (int w : t[i].writes) conflict = conflict || same_bytes(plan, w, val.buffer);
      }
      for (int w : t[j].writes) {
        for (int v : t[i].reads)
          conflict = conflict || (plan.program.values[v].constant < 0 && same_bytes(plan, w, plan.program.values[v].buffer));
        for (int w2 : t[i].writes) conflict = conflict || same_bytes(plan, w, w2);
      }
      if (!conflict) continue;
      INFO("positions " << i << " and " << j);
      CHECK((before[j].count(i) > 0 || lone_between(i, j)));
    }
}

// An LSTM of `layers` layers over `steps` time steps, one lstm_cell per layer and step; the
// last step's states are kept, the others die in the arena (so its space is reused).
GraphBuilder stacked_lstm(int layers, int steps, DType dt) {
  GraphBuilder g;
  const int64_t batch = 4, hidden = 8, input = 3;
  std::vector<int> x;
  for (int t = 0; t < steps; ++t) x.push_back(g.bind(random_tensor({batch, input}, dt, 100 + t)));
  std::vector<int> w_ih, w_hh, bias, h, c;
  for (int l = 0; l < layers; ++l) {
    w_ih.push_back(g.bind(random_tensor({l == 0 ? input : hidden, 4 * hidden}, dt, 200 + l)));
    w_hh.push_back(g.bind(random_tensor({hidden, 4 * hidden}, dt, 300 + l)));
    bias.push_back(g.bind(random_tensor({4 * hidden}, dt, 400 + l)));
    h.push_back(g.bind(random_tensor({batch, hidden}, dt, 500 + l)));
    c.push_back(g.bind(random_tensor({batch, hidden}, dt, 600 + l)));
  }
  for (int t = 0; t < steps; ++t) {
    int in = x[t];
    for (int l = 0; l < layers; ++l) {
      const int gates =
          g.op1("add", {g.op1("add", {g.op1("mm", {in, w_ih[l]}), g.op1("mm", {h[l], w_hh[l]})}), bias[l]});
      const std::vector<int> parts = g.op("chunk", {gates}, {{"chunks", 4}, {"dim", 1}});
      const int i = g.op1("sigmoid", {parts[0]}), f = g.op1("sigmoid", {parts[1]});
      const int cell = g.op1("tanh", {parts[2]}), o = g.op1("sigmoid", {parts[3]});
      c[l] = g.op1("add", {g.op1("mul", {f, c[l]}), g.op1("mul", {i, cell})});
      h[l] = g.op1("mul", {o, g.op1("tanh", {c[l]})});
      in = h[l];
    }
  }
  for (int l = 0; l < layers; ++l) {
    g.keep(h[l]);
    g.keep(c[l]);
  }
  return g;
}

}  // namespace

TEST_CASE("side by side: the order kept covers every pair of kernels that touch the same bytes", "[graph]") {
  for (bool fusion : {false, true}) {
    GraphBuilder lstm = stacked_lstm(3, 4, DType::Float32);
    graph::CompiledPlan plan = graph::compile(lstm.program, side_by_side_options(fusion));
    check_order_kept(plan);
    CHECK(plan.side_by_side.width > 1.3);  // layer l + 1 at step t beside layer l at step t + 1

    GraphBuilder norm;
    const auto ids = bind_random(norm, {{16, 40}, {40}, {40}}, DType::Float64, 22);
    layer_norm(norm, ids[0], ids[1], ids[2]);
    check_order_kept(graph::compile(norm.program, side_by_side_options(fusion)));
  }
}

TEST_CASE("side by side: the memory plan shares bytes only between kernels already in order", "[graph]") {
  for (bool fusion : {false, true}) {
    GraphBuilder g = stacked_lstm(3, 4, DType::Float32);
    graph::CompiledPlan plan = graph::compile(g.program, side_by_side_options(fusion));
    const graph::Ancestry before = graph::ancestry(plan.program, plan.groups, plan.schedule);
    for (size_t j = 0; j < plan.schedule.size(); ++j)
      for (int i : plan.side_by_side.waits_for[j]) {
        INFO("position " << j << " waits for " << i);
        CHECK(((before[j][i / 64] >> (i % 64)) & 1));
      }
    graph::CompileOptions unshared = side_by_side_options(fusion);
    unshared.memory_planning = unshared.inplace_reuse = false;
    graph::CompiledPlan apart = graph::compile(g.program, unshared);
    CHECK(plan.side_by_side.width == apart.side_by_side.width);
    CHECK(plan.stats.arena_bytes < apart.stats.arena_bytes / 2);  // and still shares most of it
  }
}

TEST_CASE("side by side: writes to a bound tensor and random draws run alone", "[graph]") {
  GraphBuilder g;
  const auto ids = bind_random(g, {{32, 16}, {32, 16}, {32, 16}}, DType::Float32, 41);
  const int param = ids[0], x = ids[1], target = ids[2], two = scalar(g, 2.0);
  const int err = g.op1("sub", {g.op1("mul", {param, x}), target});
  const int grad = g.op1("mul", {g.op1("mul", {err, x}), two});
  const int noise = g.op("dropout", {grad}, {{"p", 0.5}})[0];
  g.inplace("add", {param, grad}, {{"alpha", -0.1}});
  g.keep(noise);
  graph::CompiledPlan plan = graph::compile(g.program, side_by_side_options(false));
  check_order_kept(plan);
  int alone = 0;
  for (size_t i = 0; i < plan.schedule.size(); ++i) {
    const graph::Step& s = plan.program.steps[plan.schedule[i].step];
    const bool must = s.op->name() == "dropout" || s.form == trace::CallForm::InPlace;
    INFO(s.op->name());
    CHECK(static_cast<bool>(plan.side_by_side.alone[i]) == must);
    alone += plan.side_by_side.alone[i];
  }
  CHECK(alone == 2);
}

TEST_CASE("side by side: runs on two threads equal eager execution bitwise", "[graph]") {
  TwoThreads two;
  for (DType dt : {DType::Float32, DType::Float64}) {
    GraphBuilder g = stacked_lstm(3, 5, dt);
    graph::CompiledPlan plan = graph::compile(g.program, side_by_side_options(false));
    check_against_eager(g, g.run(plan), 0.0);  // the first run is in order: it finds the direct kernels
    CHECK(plan.stats.side_by_side_runs == 0);
    for (int run = 1; run <= 3; ++run) {
      check_against_eager(g, g.run(plan), 0.0);
      CHECK(plan.stats.side_by_side_runs == run);
    }
    graph::CompiledPlan fused = graph::compile(g.program, side_by_side_options(true));
    check_against_eager(g, g.run(fused), 1e-5);
    check_against_eager(g, g.run(fused), 1e-5);
    CHECK(fused.stats.side_by_side_runs == 1);
  }
}

TEST_CASE("side by side: a narrow plan runs in order, and so does every plan when told", "[graph]") {
  TwoThreads two;
  GraphBuilder chain;  // one chain: nothing to put side by side
  const auto ids = bind_random(chain, {{64, 64}}, DType::Float64, 31);
  int x = ids[0];
  for (int k = 0; k < 40; ++k) x = chain.op1(k % 2 ? "tanh" : "sin", {x});
  chain.keep(x);
  graph::CompileOptions automatic = side_by_side_options(false);
  automatic.side_by_side = -1;
  graph::CompiledPlan narrow = graph::compile(chain.program, automatic);
  CHECK(narrow.side_by_side.width == 1.0);
  for (int run = 0; run < 3; ++run) check_against_eager(chain, chain.run(narrow), 0.0);
  CHECK(narrow.stats.side_by_side_runs == 0);

  GraphBuilder wide = stacked_lstm(3, 4, DType::Float32);
  graph::CompileOptions never = side_by_side_options(false);
  never.side_by_side = 0;
  graph::CompiledPlan off = graph::compile(wide.program, never);
  CHECK(off.side_by_side.width > 1.3);
  for (int run = 0; run < 3; ++run) check_against_eager(wide, wide.run(off), 0.0);
  CHECK(off.stats.side_by_side_runs == 0);
}

TEST_CASE("side by side: a kernel error among side-by-side kernels is raised naming the op", "[graph]") {
  TwoThreads two;
  GraphBuilder g;
  const auto ids = bind_random(g, {{5}, {5}, {5, 5}}, DType::Int64, 61);
  g.keep(g.op1("div", {ids[0], ids[1]}, {{"rounding_mode", "floor"}}));
  int chain = ids[2];
  for (int k = 0; k < 4; ++k) chain = g.op1("add", {chain, chain});
  g.keep(chain);
  graph::CompiledPlan plan = graph::compile(g.program, side_by_side_options(false));
  auto kept = [&] {
    std::vector<Storage> k;
    for (const graph::Buffer& b : g.program.buffers)
      if (b.kind == graph::BufferKind::Kept) k.push_back(std::make_shared<StorageImpl>(b.nbytes, b.device, StorageImpl::Deferred{}));
    return k;
  };
  Tensor divisor = call1("add", {call1("abs", {g.initial[1]}), Tensor::wrap_scalar(int64_t{1}, DType::Int64)});
  graph::run(plan, {g.initial[0], divisor, g.initial[2]}, kept());  // in order
  Tensor zero_divisor = call1("zeros", {}, {{"size", std::vector<int64_t>{5}}, {"dtype", DType::Int64}});
  require_error([&] { graph::run(plan, {g.initial[0], zero_divisor, g.initial[2]}, kept()); }, ErrorKind::Runtime,
                {"div", "ZeroDivisionError"});
  CHECK(plan.stats.side_by_side_runs == 0);  // the failed run did not finish
}
