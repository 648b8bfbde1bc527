// Replaying a whole backward() call (Note [Replaying backward], engine/trace/backward_replay.cpp):
// the graph signature tells graphs apart exactly where the ops a backward() call issues could
// differ, and a training loop replayed with whole backward() calls ends as eager execution and as
// replay op by op do, bitwise with fusion off.
#include "engine/trace/session_state.hpp"
#include "training_loop.hpp"

namespace terra::test {
namespace {

// sum(tanh(x @ w) * s): x a feed, w a leaf, s a wrapped Python number.
Tensor loss_of(const Tensor& x, const Tensor& w, double s = 0.5) {
  Tensor h = call1("tanh", {call1("matmul", {x, w})});
  return call1("sum", {call1("mul", {h, Tensor::wrap_scalar(s, DType::Float32)})});
}

trace::detail::GraphWalk walk(const Tensor& loss) {
  return trace::detail::walk_graph(autograd::gradient_edge(loss));
}

Tensor leaf(std::vector<int64_t> shape, uint64_t seed) {
  Tensor t = random_tensor(std::move(shape), DType::Float32, seed, -0.5, 0.5);
  autograd::set_requires_grad(t, true);
  return t;
}

}  // namespace

TEST_CASE("backward replay: graphs built alike have one signature, whatever their values") {
  const Tensor w1 = leaf({4, 3}, 1), w2 = leaf({4, 3}, 2);
  const auto a = walk(loss_of(random_tensor({5, 4}, DType::Float32, 3), w1));
  const auto b = walk(loss_of(random_tensor({5, 4}, DType::Float32, 4), w2, 0.5));
  REQUIRE(a.eligible);
  REQUIRE(b.eligible);
  CHECK(a.nodes.size() == 5);  // sum, mul, tanh, matmul, w's AccumulateGrad
  CHECK(a.signature == b.signature);
}

TEST_CASE("backward replay: what the formulas read changes the signature") {
  const Tensor w = leaf({4, 3}, 1);
  const Tensor x = random_tensor({5, 4}, DType::Float32, 3);
  const uint64_t base = walk(loss_of(x, w)).signature;
  SECTION("another shape") { CHECK(walk(loss_of(random_tensor({6, 4}, DType::Float32, 3), w)).signature != base); }
  SECTION("another op") {
    Tensor h = call1("tanh", {call1("matmul", {x, w})});
    CHECK(walk(call1("sum", {call1("mul", {h, h})})).signature != base);
  }
  SECTION("another runtime attribute value") {
    const auto scaled = [&](double alpha) {
      Tensor h = call1("matmul", {x, w});
      return walk(call1("sum", {call1("add", {h, h}, {{"alpha", alpha}})})).signature;
    };
    CHECK(scaled(2.0) == scaled(2.0));
    CHECK(scaled(2.0) != scaled(3.0));
  }
  SECTION("an input that needs a gradient too") {
    Tensor xg = x.alias();
    autograd::set_requires_grad(xg, true);
    CHECK(walk(loss_of(xg, w)).signature != base);
  }
  SECTION("a leaf that has a .grad already") {
    autograd::set_grad(w, random_tensor({4, 3}, DType::Float32, 9));
    CHECK(walk(loss_of(x, w)).signature != base);
    autograd::set_grad(w, Tensor());
  }
}

TEST_CASE("backward replay: hooks and freed graphs keep a call in the autograd engine") {
  const Tensor x = random_tensor({5, 4}, DType::Float32, 3);
  SECTION("a hook on a leaf") {
    const Tensor w = leaf({4, 3}, 1);
    autograd::register_hook(w, [](const Tensor& g) { return g; });
    CHECK_FALSE(walk(loss_of(x, w)).eligible);
  }
  SECTION("retain_grad on an intermediate") {
    const Tensor w = leaf({4, 3}, 1);
    Tensor h = call1("matmul", {x, w});
    autograd::retain_grad(h);
    CHECK_FALSE(walk(call1("sum", {h})).eligible);
  }
  SECTION("a graph backward() already ran through") {
    const Tensor w = leaf({4, 3}, 1);
    Tensor loss = loss_of(x, w);
    autograd::backward({loss}, {}, false, false);
    CHECK_FALSE(walk(loss).eligible);
  }
  SECTION("a saved tensor changed in place since") {
    const Tensor w = leaf({4, 4}, 1);
    Tensor xs = x.alias();
    Tensor loss = call1("sum", {call1("mul", {xs, call1("matmul", {x, w})})});  // mul saves xs
    call_inplace("add", {xs, Tensor::wrap_scalar(1.0, DType::Float32)});
    CHECK_FALSE(walk(loss).eligible);
  }
}

TEST_CASE("backward replay: a replayed loop hands out whole backward() calls and ends as eager does") {
  const auto run = [](bool session, bool whole) {
    Mlp m = Mlp::make(5);
    std::unique_ptr<Session> s;
    trace::Options o = session_options(false);
    o.replay_backward = whole;
    if (session) s = std::make_unique<Session>(o);
    std::vector<double> reads;
    for (int i = 0; i < 10; ++i) {
      if (session) trace::begin_iteration();
      StepResult r = train_step_on(m, batch_inputs(m, i), batch_targets(m, i), i);
      reads.push_back(get(r.loss, 0));
      if (session) trace::end_iteration();
    }
    trace::Stats st;
    if (session) {
      st = trace::stats();
      s->stop();
    }
    return std::make_tuple(reads, m.snapshot(), st);
  };
  const auto [eager_reads, eager_params, unused] = run(false, false);
  const auto [whole_reads, whole_params, whole_stats] = run(true, true);
  const auto [op_reads, op_params, op_stats] = run(true, false);
  CHECK(whole_stats.iterations_replayed >= 6);
  CHECK(whole_stats.backward_replays == whole_stats.iterations_replayed);
  CHECK(op_stats.backward_replays == 0);
  CHECK(whole_stats.ops_replayed == op_stats.ops_replayed);
  CHECK(whole_reads == eager_reads);
  CHECK(op_reads == eager_reads);
  require_close(eager_params, whole_params, 0);
  require_close(eager_params, op_params, 0);
}

}  // namespace terra::test
