// The graph actor (actors/graph_actor.hpp) under a real tracing session: spans run on the actor's
// own thread while the test's thread goes on issuing ops. The training loop of
// tests/engine/training_loop.hpp, co-executed, against the same loop run eagerly (DESIGN.md §10):
// bitwise with fusion off, within 1e-5 with fusion on. The protocol itself (what is queued when,
// what a read, a divergence, an error or stop() runs) is tested deterministically, without a
// thread, in tests/engine/test_coexec_protocol.cpp.
#include <dirent.h>

#include <chrono>
#include <thread>

#include "coexecuted.hpp"
#include "engine/trace/session_state.hpp"

namespace terra::test {
namespace {

size_t threads_in_process() {
  size_t n = 0;
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') ++n;
    closedir(d);
  }
  return n;
}

// CAF 0.17 runs a detached actor on a std::thread it detaches, and counts it gone just before its
// function returns: the system's destructor may return while that thread is still exiting. So the
// count is given a moment to come back down (a thread left behind would never).
size_t threads_settled_to(size_t expected) {
  size_t n = threads_in_process();
  for (int tries = 0; n > expected && tries < 2000; ++tries) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    n = threads_in_process();
  }
  return n;
}

}  // namespace

TEST_CASE("graph actor: a training loop co-executed for 40 iterations equals eager", "[graph_actor]") {
  const bool fusion = GENERATE(false, true);
  const int span_ops = GENERATE(0, 5);  // spans at sync points and iteration ends, or every 5 ops
  INFO("fusion " << fusion << ", span_ops " << span_ops);
  // Every seventh iteration reads its loss before backward.
  auto plan_for = [](int i) {
    StepPlan plan;
    plan.read_loss = i % 7 == 6;
    return plan;
  };
  const int iterations = 40;
  EagerRun eager = run_eagerly(iterations, plan_for);
  Coexecuted run = run_coexecuted(iterations, coexec_options(fusion, span_ops), plan_for);
  INFO(trace::report());
  CHECK(run.actor.expired());  // stop() let the actor go
  CHECK(run.stats.coexecuted);
  CHECK(run.stats.divergences == 0);
  CHECK(run.stats.iterations_replayed >= static_cast<uint32_t>(iterations - 5));
  CHECK(run.stats.spans_run >= run.stats.iterations_replayed);
  const double rtol = fusion ? 1e-5 : 0;
  size_t r = 0;
  for (int i = 0; i < iterations; ++i) {
    if (!plan_for(i).read_loss) continue;
    INFO("loss read in iteration " << i);
    check_close(run.reads.at(r++), eager.losses[i], rtol);
  }
  require_same(eager, run, rtol);
}

TEST_CASE("graph actor: a read of a pending tensor mid-iteration waits for the actor", "[graph_actor]") {
  const int reading = 8;  // a replayed iteration
  // It reads an element of layer 1's activation mid-forward; `pending` says whether it was pending.
  std::vector<double> reads;
  bool pending = false;
  auto plan_for = [&](int i) {
    StepPlan plan;
    if (i == reading)
      plan.between = [&](Point p, int index, const Tensor& made) {
        if (p != Point::Layer || index != 1) return;
        pending = made.storage()->pending();
        reads.push_back(get(made, 3));
        CHECK_FALSE(made.storage()->pending());
      };
    return plan;
  };
  EagerRun eager = run_eagerly(12, plan_for);
  REQUIRE(reads.size() == 1);
  CHECK_FALSE(pending);
  Coexecuted run = run_coexecuted(12, coexec_options(false, 0), plan_for);
  CHECK(pending);
  REQUIRE(reads.size() == 2);
  CHECK(reads[1] == reads[0]);
  CHECK(run.stats.iterations_replayed >= 8);
  require_same(eager, run, 0);
}

TEST_CASE("graph actor: stop() with spans still queued runs them and leaves every tensor readable", "[graph_actor]") {
  // Wide layers, so that the actor is still busy with the first spans when stop() comes.
  const std::vector<int64_t> widths{64, 384, 384, 64};
  const int iterations = 12;
  size_t unfinished_at_stop = 0;
  std::vector<Tensor> losses;
  Mlp model = Mlp::make(7, widths);
  auto actor = std::make_shared<actors::GraphActor>();
  std::weak_ptr<actors::GraphActor> weak = actor;
  {
    Session session(coexec_options(false, 0), std::move(actor));
    for (int i = 0; i < iterations; ++i) {
      trace::begin_iteration();
      losses.push_back(train_step(model, i).loss);
      trace::end_iteration();
    }
    for (const auto& job : trace::detail::state().submitted) unfinished_at_stop += !job->done.load();
    session.stop();
  }
  CHECK(weak.expired());
  CHECK_FALSE(trace::active());
  CHECK(trace::detail::state().submitted.empty());
  // Almost always several; zero only if this thread was descheduled for the whole run.
  CHECK(unfinished_at_stop > 0);
  for (const Tensor& loss : losses) CHECK_FALSE(loss.storage()->pending());
  for (const Tensor& p : model.params) CHECK_FALSE(p.storage()->pending());

  EagerRun eager = run_eagerly(iterations, {}, widths);
  for (int i = 0; i < iterations; ++i) CHECK(get(losses[i], 0) == eager.losses[i]);
  require_close(eager.model.params, model.params, 0);
}

TEST_CASE("graph actor: three sessions in a row each start and stop their actor system", "[graph_actor]") {
  EagerRun eager = run_eagerly(10);
  // The process's threads once the kernels' own pool is up: an actor system's threads come and go
  // with its session. (At most: run after another graph actor case, as --order rand may, the
  // baseline can still count that case's actor thread on its way out.)
  const size_t baseline = threads_in_process();
  for (int session = 0; session < 3; ++session) {
    INFO("session " << session);
    Coexecuted run = run_coexecuted(10, coexec_options(session == 1, session == 2 ? 4 : 0), {});
    CHECK(run.actor.expired());
    CHECK(run.stats.coexecuted);
    CHECK(run.stats.iterations_replayed >= 5);
    CHECK(threads_settled_to(baseline) <= baseline);
    require_same(eager, run, session == 1 ? 1e-5 : 0);
  }
}

}  // namespace terra::test
