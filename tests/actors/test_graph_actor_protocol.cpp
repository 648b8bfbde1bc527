// The situations of the co-execution protocol (tests/engine/test_coexec_protocol.cpp tests them
// deterministically, without a thread) on a real GraphActor, whose thread runs spans while the
// test's thread goes on: divergences (the program's and forced ones), a kernel error raised at the
// next sync point, exceptions thrown by the program mid-iteration, a second thread reading pending
// tensors, a borrowed batch refilled in place, the actor trace recording throughout. Each ends as
// the same program run eagerly; the point is as much that tools/tsan runs them under
// ThreadSanitizer, where the interpreter's and the actor's threads share spans, storages, version
// counters and deferred handles.
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <unistd.h>

#include "coexecuted.hpp"

namespace terra::test {

TEST_CASE("graph actor: divergences, the program's and forced ones, fall back and change nothing", "[graph_actor]") {
  // Layer 1 takes sigmoid in two iterations (a new path, then the learned one); every fifth
  // iteration reads its loss before backward.
  auto plan_for = [](int i) {
    StepPlan plan;
    plan.read_loss = i % 5 == 4;
    if (i == 9 || i == 15) plan.detour_layer = 1;
    return plan;
  };
  const int iterations = 18;
  EagerRun eager = run_eagerly(iterations, plan_for);
  // Seed 0 forces nothing; the others force a mismatch somewhere in the first replayed iterations.
  for (uint64_t seed = 0; seed <= 4; ++seed) {
    INFO("force_divergence_seed " << seed);
    trace::Options o = coexec_options(false, seed % 2 == 0 ? 0 : static_cast<int>(2 + seed));
    o.force_divergence_seed = seed;
    // The actor trace records from both threads while one run goes on.
    const bool recording = seed == 1;
    if (recording) actors::start_recording(1 << 12);
    Coexecuted run = run_coexecuted(iterations, o, plan_for);
    if (recording) {
      const std::string path = std::string(P_tmpdir) + "/graph_actor_protocol_" + std::to_string(::getpid()) + ".json";
      CHECK(actors::stop_and_write(path) > 0);
      std::remove(path.c_str());
    }
    INFO(trace::report());
    CHECK(run.stats.divergences >= 1);
    CHECK(run.stats.iterations_replayed > 0);
    for (size_t r = 0, i = 0; i < iterations; ++i)
      if (plan_for(static_cast<int>(i)).read_loss) CHECK(run.reads.at(r++) == eager.losses[i]);
    require_same(eager, run, 0);
  }
}

TEST_CASE("graph actor: a kernel error in a queued span is raised at the next sync point", "[graph_actor]") {
  const int bad = 6;  // a replayed iteration
  std::vector<Tensor> eager_at_error = eager_until_error(bad);
  std::vector<Tensor> params = embedding_params();
  Session session(session_options(false), std::make_shared<actors::GraphActor>());
  Tensor last_loss;
  for (int i = 0; i <= bad + 2; ++i) {
    trace::begin_iteration();
    last_loss = embedding_step(params, i, i == bad);
    trace::end_iteration();
  }
  REQUIRE(trace::stats().iterations_replayed >= 2);
  SECTION("raised by a read of a later iteration's loss") {
    require_embedding_error([&] { get(last_loss, 0); });
    CHECK_NOTHROW(session.stop());
  }
  SECTION("raised by stop()") {
    require_embedding_error([&] { session.stop(); });
  }
  CHECK_FALSE(trace::active());
  // Nothing issued after the failing op ran: the parameters are eager's when it raised.
  for (const Tensor& p : params) CHECK_FALSE(p.storage()->pending());
  require_close(eager_at_error, params, 0);
}

TEST_CASE("graph actor: exceptions thrown by the program mid-iteration lose and repeat no update", "[graph_actor]") {
  // Iterations 6 and 11 (replayed: spans queued on the actor) throw between two parameters'
  // updates; the program stops at the first, or catches both and goes on.
  const bool goes_on = GENERATE(false, true);
  INFO("the program goes on: " << goes_on);
  Mlp eager = Mlp::make(7);
  run_interrupted(eager, false, goes_on);
  Mlp model = Mlp::make(7);
  Session session(session_options(false), std::make_shared<actors::GraphActor>());
  run_interrupted(model, true, goes_on);
  session.stop();  // ends the open iteration and runs what it validated
  CHECK(trace::stats().iterations_replayed > 0);
  require_close(eager.params, model.params, 0);
}

TEST_CASE("graph actor: another thread reads pending losses while this one goes on issuing ops", "[graph_actor]") {
  const int iterations = 24;
  EagerRun eager = run_eagerly(iterations);
  // Each iteration's loss goes to a reader thread, which reads it (a fetch from a thread the
  // session is not on) while this thread issues the next iterations.
  std::mutex mutex;
  std::condition_variable handed_over;
  std::deque<std::pair<int, Tensor>> to_read;
  bool finished = false;
  std::vector<double> read(iterations, std::nan(""));
  std::thread reader([&] {
    for (;;) {
      std::unique_lock<std::mutex> lock(mutex);
      handed_over.wait(lock, [&] { return !to_read.empty() || finished; });
      if (to_read.empty()) return;
      auto [i, loss] = std::move(to_read.front());
      to_read.pop_front();
      lock.unlock();
      read[i] = get(loss, 0);
    }
  });
  Mlp model = Mlp::make(7);
  {
    Session session(session_options(false), std::make_shared<actors::GraphActor>());
    for (int i = 0; i < iterations; ++i) {
      trace::begin_iteration();
      Tensor loss = train_step(model, i).loss;
      trace::end_iteration();
      {
        std::lock_guard<std::mutex> lock(mutex);
        to_read.emplace_back(i, std::move(loss));
      }
      handed_over.notify_one();
    }
    {
      std::lock_guard<std::mutex> lock(mutex);
      finished = true;
    }
    handed_over.notify_one();
    reader.join();
    session.stop();
  }
  CHECK(trace::stats().iterations_replayed > 0);
  for (int i = 0; i < iterations; ++i) {
    INFO("loss of iteration " << i);
    CHECK(read[i] == eager.losses[i]);
  }
  require_close(eager.params_after.back(), model.params, 0);
}

TEST_CASE("graph actor: a batch the program refills in place is read as it was when its ops were issued",
          "[graph_actor]") {
  // Memory numpy can reach (span_runner.cpp): the inputs borrow a buffer, as a tensor made from a
  // numpy array does, and the program overwrites it with the next batch while the actor may still
  // be running the spans that read the last one.
  const int iterations = 16;
  EagerRun eager = run_eagerly(iterations);
  Mlp model = Mlp::make(7);
  std::vector<float> buffer(static_cast<size_t>(16 * model.in_features()));
  Tensor x = Tensor::from_blob(buffer.data(), {16, model.in_features()}, {model.in_features(), 1}, DType::Float32,
                               Device{}, nullptr);
  {
    Session session(session_options(false), std::make_shared<actors::GraphActor>());
    for (int i = 0; i < iterations; ++i) {
      const Tensor batch = batch_inputs(model, i);
      std::memcpy(buffer.data(), batch.storage()->data(), buffer.size() * sizeof(float));
      trace::begin_iteration();
      train_step_on(model, x, batch_targets(model, i), i);
      trace::end_iteration();
    }
    session.stop();
  }
  CHECK(trace::stats().iterations_replayed > 0);
  require_close(eager.params_after.back(), model.params, 0);
}

}  // namespace terra::test
