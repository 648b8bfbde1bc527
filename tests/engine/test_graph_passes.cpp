// The graph compiler's passes as Before/Expected programs (which steps remain, which fuse, where
// buffers go), each also run against eager execution.
#include <set>

#include "graph_test_support.hpp"

using namespace terra;
using namespace terra::test;

namespace {

std::vector<std::string> op_names(const graph::Program& p) {
  std::vector<std::string> names;
  for (const graph::Step& s : p.steps) names.push_back(s.op->name());
  return names;
}

graph::CompileOptions only(bool graph::CompileOptions::*pass) {
  graph::CompileOptions o = checked_options();
  o.dce = o.cse = o.constant_folding = o.fusion = o.inplace_reuse = false;
  o.*pass = true;
  return o;
}

}  // namespace

TEST_CASE("dce removes dead pure steps and keeps random and in-place ones", "[graph][passes]") {
  GraphBuilder g;
  const auto ids = bind_random(g, {{4, 5}}, DType::Float32, 101);
  g.op1("exp", {ids[0]});                                                   // dead
  g.op1("transpose", {g.op1("sin", {ids[0]})}, {{"dim0", 0}, {"dim1", 1}});  // dead view of a dead value
  g.op1("rand", {}, {{"size", std::vector<int64_t>{3}}});                   // unused, but draws
  g.inplace("add", {g.op1("mul", {ids[0], ids[0]}), ids[0]});               // writes an unused buffer
  g.keep(g.op1("neg", {ids[0]}));
  graph::CompiledPlan plan = graph::compile(g.program, only(&graph::CompileOptions::dce));
  CHECK(op_names(plan.program) == std::vector<std::string>{"rand", "mul", "add", "neg"});
  check_against_eager(g, g.run(plan), 0.0);
}

TEST_CASE("cse merges repeats but not across an in-place write to an input's buffer", "[graph][passes]") {
  GraphBuilder g;
  const auto ids = bind_random(g, {{3, 4}, {3, 4}}, DType::Float32, 111);
  const int e1 = g.op1("exp", {ids[0]}), e2 = g.op1("exp", {ids[0]});
  g.keep(g.op1("add", {e1, e2}, {{"alpha", 2}}));
  g.keep(g.op1("add", {e2, e1}, {{"alpha", 3}}));  // same op, other attributes: not a repeat
  const int t = g.op1("transpose", {ids[1]}, {{"dim0", 0}, {"dim1", 1}});
  const int s1 = g.op1("sigmoid", {t});
  g.inplace("mul", {ids[1], ids[1]});  // changes what t reads
  const int s2 = g.op1("sigmoid", {t});
  g.keep(g.op1("sub", {s1, s2}));
  graph::CompiledPlan plan = graph::compile(g.program, only(&graph::CompileOptions::cse));
  CHECK(op_names(plan.program) ==
        std::vector<std::string>{"exp", "add", "add", "transpose", "sigmoid", "mul", "sigmoid", "sub"});
  check_against_eager(g, g.run(plan), 0.0);
}

TEST_CASE("constant folding evaluates factory ops and what only they feed", "[graph][passes]") {
  GraphBuilder g;
  const auto ids = bind_random(g, {{4, 6}}, DType::Float32, 121);
  const int ones = g.op1("ones", {}, {{"size", std::vector<int64_t>{4, 6}}});
  const int steps = g.op1("arange", {}, {{"start", 1}, {"end", 7}, {"dtype", DType::Float32}});
  const int w = g.op1("add", {g.op1("mul", {ones, steps}), ones});
  g.keep(g.op1("mul", {ids[0], w}));
  const int kept_zeros = g.op1("zeros", {}, {{"size", std::vector<int64_t>{2}}});
  g.keep(kept_zeros);  // Python holds it: never folded away
  const int scratch = g.op1("full", {}, {{"size", std::vector<int64_t>{4, 6}}, {"fill_value", 2.0}});
  g.inplace("add", {scratch, ids[0]});  // written later: never folded
  g.keep(g.op1("mul", {scratch, ids[0]}));
  graph::CompiledPlan plan = graph::compile(g.program, only(&graph::CompileOptions::constant_folding));
  CHECK(op_names(plan.program) == std::vector<std::string>{"mul", "zeros", "full", "add", "mul"});
  CHECK(plan.program.constants.size() == 1);
  CHECK(plan.stats.constant_bytes == 4 * 6 * 4);
  check_against_eager(g, g.run(plan), 0.0);
}

TEST_CASE("fusion turns elementwise chains into few kernels that move fewer bytes", "[graph][passes]") {
  struct Case {
    const char* name;
    int plain_kernels, fused_kernels;
  };
  for (const Case& c : {Case{"lstm", 13, 4}, Case{"gelu", 9, 1}, Case{"layer_norm", 9, 5}}) {
    INFO(c.name);
    GraphBuilder g;
    const std::string name = c.name;
    if (name == "lstm") {
      const auto ids = bind_random(g, {{8, 12}, {8, 16}, {8, 16}, {12, 64}, {16, 64}, {64}}, DType::Float32, 131);
      lstm_cell(g, {ids[0], ids[1], ids[2], ids[3], ids[4], ids[5]});
    } else if (name == "gelu") {
      gelu_tanh(g, bind_random(g, {{8, 32}}, DType::Float32, 132)[0]);
    } else {
      const auto ids = bind_random(g, {{8, 32}, {32}, {32}}, DType::Float32, 133);
      layer_norm(g, ids[0], ids[1], ids[2]);
    }
    graph::CompileOptions off = checked_options();
    off.fusion = false;
    graph::CompiledPlan plain = graph::compile(g.program, off);
    graph::CompiledPlan fused = graph::compile(g.program, checked_options());
    CHECK(fused.stats.kernels_per_run == c.fused_kernels);
    CHECK(plain.stats.kernels_per_run == c.plain_kernels);
    CHECK(fused.stats.bytes_moved < plain.stats.bytes_moved);
    CHECK(fused.stats.arena_bytes <= plain.stats.arena_bytes);
    check_against_eager(g, g.run(fused), 1e-5);
  }
}

TEST_CASE("fusion never moves a read past a write to the same buffer", "[graph][passes]") {
  GraphBuilder g;
  const auto ids = bind_random(g, {{6, 7}}, DType::Float32, 141);
  const int y = g.op1("mul", {ids[0], ids[0]});
  g.inplace("add", {ids[0], ids[0]});  // overwrites what y read
  const int z = g.op1("exp", {y});
  g.keep(g.op1("add", {z, ids[0]}));
  graph::CompiledPlan plan = graph::compile(g.program, checked_options());
  // mul stays before add_; exp and the final add fuse behind it.
  REQUIRE(plan.groups.size() == 1);
  CHECK(plan.groups[0].steps == std::vector<int>{2, 3});
  check_against_eager(g, g.run(plan), 1e-5);
}

TEST_CASE("memory planning: live arena buffers never overlap, and dead ones are reused", "[graph][passes]") {
  GraphBuilder g;
  const auto ids = bind_random(g, {{16, 24}, {16, 24}, {16, 24}, {16, 24}}, DType::Float32, 151);
  int acc = ids[0];
  for (int i = 0; i < 12; ++i) acc = g.op1(i % 3 ? "mul" : "add", {g.op1("sin", {acc}), ids[1 + i % 3]});
  g.keep(acc);
  for (bool reuse : {false, true}) {
    graph::CompileOptions o = checked_options();
    o.fusion = false;
    o.inplace_reuse = reuse;
    graph::CompiledPlan plan = graph::compile(g.program, o);
    const auto& pl = plan.placement;
    size_t total = 0;
    int reused = 0;
    for (size_t a = 0; a < pl.size(); ++a) {
      if (pl[a].where != graph::Placement::Arena) continue;
      total += plan.program.buffers[a].nbytes;
      reused += pl[a].reused_from >= 0;
      CHECK(pl[a].offset % 64 == 0);
      for (size_t b = a + 1; b < pl.size(); ++b) {
        if (pl[b].where != graph::Placement::Arena) continue;
        const bool live_together = pl[a].first <= pl[b].last && pl[b].first <= pl[a].last;
        const bool same_space = pl[a].offset < pl[b].offset + plan.program.buffers[b].nbytes &&
                                pl[b].offset < pl[a].offset + plan.program.buffers[a].nbytes;
        const bool handed_over = pl[b].reused_from == static_cast<int>(a) || pl[a].reused_from == static_cast<int>(b);
        CHECK(!(live_together && same_space && !handed_over));
      }
    }
    CHECK(plan.stats.arena_bytes < total / 4);
    CHECK((reused > 0) == reuse);
    check_against_eager(g, g.run(plan), 0.0);
  }
}

TEST_CASE("dumps and the verifier", "[graph][passes]") {
  GraphBuilder g;
  gelu_tanh(g, bind_random(g, {{4, 8}}, DType::Float32, 161)[0]);
  graph::CompiledPlan plan = graph::compile(g.program, checked_options());
  const std::string json = plan.to_json(), dot = plan.to_dot(), before = g.program.to_json();
  CHECK(before.find("\"op\":\"tanh\"") != std::string::npos);
  CHECK(json.find("\"groups\":[") != std::string::npos);
  CHECK(json.find("= tanh r") != std::string::npos);
  CHECK(json.find("\"where\":\"kept\"") != std::string::npos);
  CHECK(dot.find("subgraph cluster_0") != std::string::npos);
  CHECK(g.program.to_dot().find("-> s") != std::string::npos);
  graph::Program broken = g.program;
  std::swap(broken.steps[0], broken.steps[1]);
  require_error([&] { broken.validate(); }, ErrorKind::Runtime, {"invalid graph program"});
}
