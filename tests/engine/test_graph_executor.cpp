// The plan executor against eager execution (its oracle): bitwise with every pass but fusion on,
// within 1e-5 relative with fusion on; views and in-place writes through views; Kept buffers end
// allocated and written; Bound buffers written in place; kernel errors name the op.
#include "graph_test_support.hpp"
#include "terra_config.hpp"

using namespace terra;
using namespace terra::test;

namespace {

graph::CompileOptions without_fusion() {
  graph::CompileOptions o = checked_options();
  o.fusion = false;
  return o;
}

void check_both_ways(const GraphBuilder& g) {
  {
    graph::CompiledPlan plan = graph::compile(g.program, without_fusion());
    check_against_eager(g, g.run(plan), 0.0);
    check_against_eager(g, g.run(plan), 0.0);  // a second run reuses the arena
  }
  graph::CompiledPlan fused = graph::compile(g.program, checked_options());
  check_against_eager(g, g.run(fused), 1e-5);
}

}  // namespace

TEST_CASE("graph executor: LSTM cell equals eager", "[graph]") {
  for (DType dt : {DType::Float32, DType::Float64}) {
    GraphBuilder g;
    const auto ids = bind_random(g, {{8, 12}, {8, 16}, {8, 16}, {12, 64}, {16, 64}, {64}}, dt, 11);
    lstm_cell(g, {ids[0], ids[1], ids[2], ids[3], ids[4], ids[5]});
    check_both_ways(g);
  }
}

TEST_CASE("graph executor: GELU and LayerNorm chains equal eager", "[graph]") {
  GraphBuilder gelu;
  gelu_tanh(gelu, bind_random(gelu, {{16, 40}}, DType::Float32, 21)[0]);
  check_both_ways(gelu);
  GraphBuilder norm;
  const auto ids = bind_random(norm, {{16, 40}, {40}, {40}}, DType::Float64, 22);
  layer_norm(norm, ids[0], ids[1], ids[2]);
  check_both_ways(norm);
}

TEST_CASE("graph executor: a fused group reads broadcast, strided and repeated inputs as eager does", "[graph]") {
  // Rows of 700: the fused kernel's blocks straddle rows; 67 rows: the work splits over threads.
  for (DType dt : {DType::Float32, DType::Float64}) {
    GraphBuilder g;
    const auto ids = bind_random(g, {{67, 700}, {67, 1}, {700}, {700, 67}, {67, 1400}}, dt, 71);
    const int x = ids[0], column = ids[1], row = ids[2], half = scalar(g, 0.5);
    const int transposed = g.op1("transpose", {ids[3]}, {{"dim0", 0}, {"dim1", 1}});
    const int left_half = g.op("chunk", {ids[4]}, {{"chunks", 2}, {"dim", 1}})[0];
    const int spread = g.op1("expand", {column}, {{"size", std::vector<int64_t>{67, 700}}});
    const int per_row = g.op1("exp", {g.op1("mul", {spread, half})});  // one value per row
    const int y = g.op1("add", {g.op1("mul", {x, column}), row});
    const int z = g.op1("sub", {g.op1("mul", {y, transposed}), left_half});
    g.keep(g.op1("div", {z, per_row}));
    g.keep(per_row);
    CHECK(graph::compile(g.program, checked_options()).stats.fused_groups == 1);
    check_both_ways(g);
  }
}

TEST_CASE("graph compiler: check_nvrtc compiles every fused group for CUDA and the CPU still runs it", "[graph][nvrtc]") {
  GraphBuilder g;
  const auto ids = bind_random(g, {{6, 10}, {6, 1}, {10, 6}}, DType::Float32, 81);
  const int half = scalar(g, 0.5);
  const int transposed = g.op1("transpose", {ids[2]}, {{"dim0", 0}, {"dim1", 1}});
  const int y = g.op1("leaky_relu", {g.op1("mul", {ids[0], half})}, {{"negative_slope", 0.3}});
  g.keep(g.op1("add", {g.op1("mul", {y, ids[1]}), transposed}, {{"alpha", Scalar(2.0)}}));
  graph::CompileOptions options = checked_options();
  options.check_nvrtc = true;
  graph::CompiledPlan plan = graph::compile(g.program, options);
  REQUIRE(plan.stats.fused_groups == 1);
  CHECK(plan.groups[0].cuda_kernel == nullptr);  // a CPU group: compiled, not used
  if (TERRA_WITH_CUDA) {
    CHECK(plan.stats.nvrtc_kernels == 1);
    CHECK(plan.groups[0].cuda_hash.size() == 16);
    CHECK(plan.to_json().find("\"cuda_kernel\":\"" + plan.groups[0].cuda_hash) != std::string::npos);
  } else {
    CHECK(plan.stats.nvrtc_kernels == 0);
  }
  check_against_eager(g, g.run(plan), 1e-5);
}

TEST_CASE("graph executor: views and in-place writes through views keep eager results", "[graph]") {
  GraphBuilder g;
  const auto ids = bind_random(g, {{6, 10}, {10, 6}}, DType::Float32, 31);
  const int x = ids[0], p = ids[1];
  const int a = g.op1("mul", {x, x});
  const int at = g.op1("transpose", {a}, {{"dim0", 0}, {"dim1", 1}});
  g.inplace("add", {at, p});  // writes a through its transpose
  const int b = g.op1("exp", {a});
  const int rows = g.op1("slice", {p}, {{"dim", 0}, {"start", 2}, {"end", 5}});
  const int block = g.op1("slice", {g.op1("slice", {a}, {{"dim", 0}, {"start", 0}, {"end", 3}})}, {{"dim", 1}, {"start", 0}, {"end", 6}});
  g.inplace("mul", {rows, g.op1("sigmoid", {block})});  // writes bound p through a view
  g.keep(b);
  check_both_ways(g);
}

TEST_CASE("graph executor: an SGD update writes the bound parameter in place", "[graph]") {
  GraphBuilder g;
  const auto ids = bind_random(g, {{32, 16}, {32, 16}, {32, 16}}, DType::Float32, 41);
  const int param = ids[0], x = ids[1], target = ids[2], two = scalar(g, 2.0);
  // grad = 2 (p x - t) x, then p.add_(grad, alpha=-lr)
  const int err = g.op1("sub", {g.op1("mul", {param, x}), target});
  const int grad = g.op1("mul", {g.op1("mul", {err, x}), two});
  g.inplace("add", {param, grad}, {{"alpha", -0.1}});
  check_both_ways(g);
}

TEST_CASE("graph executor: a kept result computed by a composite op lands in the kept storage", "[graph]") {
  GraphBuilder g;
  const auto ids = bind_random(g, {{4, 6}, {4, 6}}, DType::Float32, 51);
  const int cat = g.op1("cat", {g.op1("exp", {ids[0]}), ids[1]}, {{"dim", 0}});
  const int t = g.op1("contiguous", {g.op1("transpose", {cat}, {{"dim0", 0}, {"dim1", 1}})});
  g.keep(t);
  g.keep(cat);
  check_both_ways(g);
}

TEST_CASE("graph executor: a kernel error is a terra::Error naming the op", "[graph]") {
  GraphBuilder g;
  const auto ids = bind_random(g, {{5}, {5}}, DType::Int64, 61);
  g.keep(g.op1("div", {ids[0], ids[1]}, {{"rounding_mode", "floor"}}));
  graph::CompiledPlan plan = graph::compile(g.program, checked_options());
  Tensor zero_divisor = call1("zeros", {}, {{"size", std::vector<int64_t>{5}}, {"dtype", DType::Int64}});
  auto kept = std::vector<Storage>{std::make_shared<StorageImpl>(40, Device{}, StorageImpl::Deferred{})};
  require_error([&] { graph::run(plan, {g.initial[0], zero_divisor}, kept); }, ErrorKind::Runtime, {"div", "ZeroDivisionError"});
  require_error([&] { graph::run(plan, {g.initial[0]}, kept); }, ErrorKind::Runtime, {"expected 2 bound tensors"});
}
