// The co-execution protocol (DESIGN.md §9-§11), deterministically: spans go to a test-only
// executor that only queues them (it says it is asynchronous, as the graph actor does), and the
// test decides when each job runs (run_next), or a sync point runs them all (wait, what the
// session's drain calls). Every program here is also run eagerly without a session; results agree
// bitwise with fusion off and within 1e-5 with fusion on.
#include <deque>
#include <random>

#include "engine/trace/session_state.hpp"
#include "training_loop.hpp"

namespace terra::test {
namespace {

// Runs nothing until told: submit() queues, run_next() runs the oldest queued job, wait() runs
// every queued job (a fetch, a divergence, an eager op, stop()).
class ManualExecutor final : public trace::SpanExecutor {
 public:
  void submit(std::shared_ptr<trace::SpanJob> job) override {
    ++submitted_;
    queue_.push_back(std::move(job));
  }
  void wait(const std::deque<std::shared_ptr<trace::SpanJob>>&) override {
    ++waits_;
    while (run_next()) {
    }
  }
  bool asynchronous() const override { return true; }

  bool run_next() {
    if (queue_.empty()) return false;
    std::shared_ptr<trace::SpanJob> job = std::move(queue_.front());
    queue_.pop_front();
    // In issue order. A job a fetch ran to its end on Python's thread never reaches the executor
    // (Note [A fetch runs only what it reads]), so numbers may be skipped.
    CHECK(job->seq > last_seq_);
    last_seq_ = job->seq;
    job->run();
    CHECK(job->done.load());
    ++ran_;
    return true;
  }
  size_t queued() const { return queue_.size(); }
  size_t submitted() const { return submitted_; }
  size_t ran() const { return ran_; }
  size_t waits() const { return waits_; }

 private:
  std::deque<std::shared_ptr<trace::SpanJob>> queue_;
  size_t submitted_ = 0, ran_ = 0, waits_ = 0;
  uint64_t last_seq_ = 0;
};

bool replaying() { return trace::detail::state().mode == trace::detail::IterationMode::Replaying; }

// The training loop of training_loop.hpp under a session whose spans go to a ManualExecutor.
trace::Options unbounded(trace::Options o) {
  o.max_spans_ahead = 1 << 20;
  return o;
}

struct CoexecRun {
  std::shared_ptr<ManualExecutor> executor = std::make_shared<ManualExecutor>();
  Mlp model = Mlp::make(7);
  Session session;
  std::vector<Tensor> losses;  // every iteration's, deferred until read

  // The test decides when queued spans run: the session's run-ahead bound stays out of its way
  // (its own case below).
  explicit CoexecRun(trace::Options options) : session(unbounded(options), executor) {}
  explicit CoexecRun(bool fusion) : CoexecRun(session_options(fusion)) {}

  StepResult iteration(int i, const StepPlan& plan = {}) {
    trace::begin_iteration();
    StepResult r = train_step(model, i, plan);
    trace::end_iteration();
    losses.push_back(r.loss);
    return r;
  }
  // Runs the iterations that are traced before replay starts (until K = 2 iterations in a row
  // added nothing to the TraceGraph) and returns how many there were. Iteration 0 takes a path of
  // its own (its backward meets the parameters' gradient accumulators as they are made), so that
  // is 4 here; the tests do not rely on the exact number, only on it being small.
  int trace_first() {
    int n = 0;
    do {
      iteration(n++);
      REQUIRE(trace::stats().iterations_traced == static_cast<uint32_t>(n));
      REQUIRE(executor->submitted() == 0);
    } while (!trace::detail::state().graph.stable(trace::detail::state().options.stable_after));
    REQUIRE(n <= 5);
    return n;
  }
};

double tolerance(bool fusion) { return fusion ? 1e-5 : 0; }

// A parameter's bytes as they are, without waiting for anything that writes them.
std::vector<double> unsynced_values(const Tensor& t) {
  REQUIRE(t.dtype() == DType::Float32);
  REQUIRE(t.is_contiguous());
  const auto* p = static_cast<const float*>(t.storage()->data_unsynced()) + t.offset();
  return std::vector<double>(p, p + t.numel());
}

void require_unsynced_equal(const std::vector<Tensor>& params, const std::vector<Tensor>& expected, double rtol) {
  for (size_t p = 0; p < params.size(); ++p) {
    INFO("parameter " << p);
    REQUIRE(params[p].storage()->allocated());
    check_values(from_values(unsynced_values(params[p]), params[p].shape(), DType::Float32), values(expected[p]), rtol,
                 rtol == 0 ? 0 : 1e-7);
  }
}

void require_losses(const std::vector<Tensor>& losses, const EagerRun& eager, double rtol) {
  for (size_t i = 0; i < losses.size(); ++i) {
    INFO("loss of iteration " << i);
    check_close(get(losses[i], 0), eager.losses[i], rtol);
  }
}

}  // namespace

TEST_CASE("coexec protocol (a): the first iterations are traced and run at once", "[coexec]") {
  const bool fusion = GENERATE(false, true);
  EagerRun eager = run_eagerly(6);
  CoexecRun run(fusion);
  StepPlan plan;
  plan.between = [&](Point, int, const Tensor&) {
    CHECK(trace::detail::state().mode == trace::detail::IterationMode::Tracing);
    CHECK(run.executor->submitted() == 0);
  };
  int i = 0;
  do {
    StepResult r = run.iteration(i, plan);
    CHECK(trace::stats().iterations_traced == static_cast<uint32_t>(i + 1));
    CHECK(run.executor->submitted() == 0);
    CHECK_FALSE(r.loss.storage()->pending());
    // Traced iterations run eagerly: bitwise whatever the fusion setting.
    CHECK(get(r.loss, 0) == eager.losses[i]);
    for (const Tensor& p : run.model.params) CHECK_FALSE(p.storage()->pending());
    require_close(eager.params_after[i], run.model.params, 0);
    ++i;
  } while (!trace::detail::state().graph.stable(2) && i < 6);
  CHECK(i >= 3);  // one iteration that adds the path, K = 2 that add nothing
  CHECK(trace::stats().iterations_replayed == 0);
  CHECK(run.executor->waits() == 0);
}

TEST_CASE("coexec protocol (b): replayed iterations are queued and run only when the jobs run", "[coexec]") {
  const bool fusion = GENERATE(false, true);
  const double rtol = tolerance(fusion);
  EagerRun eager = run_eagerly(9);
  CoexecRun run(fusion);
  const int first = run.trace_first();
  const std::vector<Tensor> before = run.model.snapshot();
  require_close(eager.params_after[first - 1], before, 0);

  // Python runs ahead: four iterations are issued, and nothing runs.
  std::vector<size_t> jobs_of;  // per replayed iteration: how many jobs it handed over
  for (int i = first; i < first + 4; ++i) {
    const size_t submitted = run.executor->submitted();
    StepPlan plan;
    plan.between = [&](Point p, int, const Tensor& made) {
      CHECK(replaying());
      if (p == Point::Layer || p == Point::Loss) CHECK(made.storage()->pending());
      // Without a sync point (or span_ops), the span is handed over at the iteration's end.
      CHECK(run.executor->submitted() == submitted);
    };
    StepResult r = run.iteration(i, plan);
    jobs_of.push_back(run.executor->submitted() - submitted);
    CHECK(jobs_of.back() >= 1);
    CHECK(r.loss.storage()->pending());
    CHECK_FALSE(r.loss.storage()->allocated());
    for (const Tensor& p : run.model.params) CHECK(p.storage()->pending());
    CHECK(run.executor->queued() == run.executor->submitted());
    CHECK(run.executor->ran() == 0);
    // The SGD updates wait for their job: the parameters' bytes are those before replay began.
    require_unsynced_equal(run.model.params, before, 0);
  }
  CHECK(trace::stats().iterations_replayed == 4);

  // The test is the graph: jobs run one by one, in order, and write the parameters only then.
  for (size_t k = 0; k < jobs_of.size(); ++k) {
    INFO("replayed iteration " << first + k);
    for (size_t j = 0; j < jobs_of[k]; ++j) REQUIRE(run.executor->run_next());
    require_unsynced_equal(run.model.params, eager.params_after[first + k], rtol);
    CHECK(run.executor->queued() == (k + 1 < jobs_of.size() ? run.executor->submitted() - run.executor->ran() : 0));
  }
  CHECK(run.executor->waits() == 0);  // nothing synced: every job ran because the test ran it
  // Reading settles what the jobs wrote (a sync point with nothing left to run).
  require_losses(run.losses, eager, rtol);
  require_close(eager.params_after[first + 3], run.model.params, rtol);
  CHECK(run.executor->ran() == run.executor->submitted());
}

TEST_CASE("coexec protocol (c): reading a pending output runs everything queued", "[coexec]") {
  const bool fusion = GENERATE(false, true);
  const double rtol = tolerance(fusion);
  const int reading = 7;  // a replayed iteration (replay starts after 3 or 4 traced ones)
  // That iteration reads an element of layer 1's activation mid-forward, and its loss before
  // backward (loss.item()). `watched`: the executor whose queue is looked at around each read.
  ManualExecutor* watched = nullptr;
  std::vector<double> activation_reads;
  size_t before_activation = 0, after_activation = 1, before_loss = 1, after_loss = 1;
  auto plan_for = [&](int i) {
    StepPlan plan;
    if (i != reading) return plan;
    plan.read_loss = true;
    plan.between = [&](Point p, int index, const Tensor& made) {
      const size_t queued = watched ? watched->queued() : 0;
      if (p == Point::Layer && index == 1) {
        before_activation = queued;
        activation_reads.push_back(get(made, 3));
        after_activation = watched ? watched->queued() : 0;
      } else if (p == Point::Loss) {
        before_loss = queued;
      } else if (p == Point::Backward) {
        after_loss = queued;
      }
    };
    return plan;
  };
  EagerRun eager = run_eagerly(11, plan_for);
  REQUIRE(activation_reads.size() == 1);

  CoexecRun run(fusion);
  const int first = run.trace_first();
  REQUIRE(first + 2 <= reading);
  for (int i = first; i < reading; ++i) run.iteration(i);
  REQUIRE(run.executor->queued() >= 2);
  REQUIRE(run.executor->ran() == 0);

  watched = run.executor.get();
  StepResult r = run.iteration(reading, plan_for(reading));
  CHECK(before_activation >= 2);  // the read of the activation is what runs them
  CHECK(after_activation == 0);
  CHECK(before_loss == 0);  // nothing was handed over since
  CHECK(after_loss == 0);
  CHECK(run.executor->waits() == 2);
  REQUIRE(activation_reads.size() == 2);
  check_close(activation_reads[1], activation_reads[0], rtol);
  check_close(r.read, eager.losses[reading], rtol);
  // The earlier iterations ran with the first read: their outputs are settled and readable.
  for (int i = first; i < reading; ++i) CHECK_FALSE(run.losses[i].storage()->pending());
  // The rest of the iteration (backward, SGD) is queued again.
  CHECK(run.executor->queued() > 0);
  CHECK(run.model.params[0].storage()->pending());

  run.iteration(reading + 1);
  run.iteration(reading + 2);
  const size_t waits = run.executor->waits();
  // A read of an older output drains everything too, newer iterations included.
  Tensor older = run.losses[reading + 1];
  CHECK(older.storage()->pending());
  check_close(get(older, 0), eager.losses[reading + 1], rtol);
  CHECK(run.executor->waits() == waits + 1);
  CHECK(run.executor->queued() == 0);
  CHECK_FALSE(run.losses[reading + 2].storage()->pending());
  require_losses(run.losses, eager, rtol);
  require_close(eager.params_after[reading + 2], run.model.params, rtol);
}

TEST_CASE("coexec protocol (c): a fetch after the update runs the span only as far as what it reads", "[coexec]") {
  // Note [A fetch runs only what it reads]: the loss read after backward and the SGD update (the
  // shape of a loop that calls loss.item() at the end of every step) runs the earlier jobs and
  // the span up to the loss; backward and the update stay queued, and run later, in order.
  const bool fusion = GENERATE(false, true);
  const double rtol = tolerance(fusion);
  const int reading = 7;
  ManualExecutor* watched = nullptr;
  std::vector<double> loss_reads;
  size_t queued_before = 0, queued_after = 0;
  bool params_pending_after = false;
  auto plan_for = [&](int i) {
    StepPlan plan;
    if (i != reading) return plan;
    auto loss = std::make_shared<Tensor>();
    plan.between = [&, loss](Point p, int index, const Tensor& made) {
      if (p == Point::Loss) *loss = made;
      if (p != Point::Update || index != 5) return;  // after the last parameter's update
      queued_before = watched ? watched->queued() : 0;
      loss_reads.push_back(get(*loss, 0));
      queued_after = watched ? watched->queued() : 0;
      params_pending_after = made.storage()->pending();
    };
    return plan;
  };
  EagerRun eager = run_eagerly(11, plan_for);
  REQUIRE(loss_reads.size() == 1);

  trace::Options options = session_options(fusion);
  options.inline_span_seconds = 0;  // however short the span, its rest is handed over
  CoexecRun run(options);
  REQUIRE(run.model.params.size() == 6);
  const int first = run.trace_first();
  REQUIRE(first + 2 <= reading);
  for (int i = first; i < reading; ++i) run.iteration(i);
  REQUIRE(run.executor->queued() >= 2);
  watched = run.executor.get();
  run.iteration(reading, plan_for(reading));
  REQUIRE(loss_reads.size() == 2);
  check_close(loss_reads[1], loss_reads[0], rtol);
  CHECK(queued_before >= 2);
  CHECK(queued_after == 1);          // this iteration's span, run as far as the loss
  CHECK(params_pending_after);        // its update has not run
  for (int i = first; i < reading; ++i) CHECK_FALSE(run.losses[i].storage()->pending());
  CHECK_FALSE(run.losses[reading].storage()->pending());
  run.iteration(reading + 1);
  run.iteration(reading + 2);
  require_losses(run.losses, eager, rtol);
  require_close(eager.params_after[reading + 2], run.model.params, rtol);
  CHECK(run.executor->ran() == run.executor->submitted());
}

namespace {
// The event sink's view of the executor when the session reports a fallback.
ManualExecutor* g_watched = nullptr;
std::vector<size_t> g_queued_at_fallback;
void watch_fallbacks(trace::SessionEvent event, uint32_t, const char*) {
  if (event == trace::SessionEvent::Fallback && g_watched) g_queued_at_fallback.push_back(g_watched->queued());
}
}  // namespace

TEST_CASE("coexec protocol (d): a divergence runs everything queued, falls back, and the new path is learned",
          "[coexec]") {
  const bool fusion = GENERATE(false, true);
  const double rtol = tolerance(fusion);
  // Two iterations take sigmoid instead of tanh in layer 1 (a different op on the same line).
  const int detour = 9, again = 15, iterations = 18;
  auto detours = [&](int i) {
    StepPlan plan;
    if (i == detour || i == again) plan.detour_layer = 1;
    return plan;
  };
  EagerRun eager = run_eagerly(iterations, detours);
  CoexecRun run(fusion);
  g_watched = run.executor.get();
  g_queued_at_fallback.clear();
  trace::set_event_sink(&watch_fallbacks);
  struct Unwatch {
    ~Unwatch() {
      trace::set_event_sink(nullptr);
      g_watched = nullptr;
    }
  } unwatch;

  const int first = run.trace_first();
  for (int i = first; i < detour; ++i) run.iteration(i);
  REQUIRE(run.executor->queued() >= 4);
  REQUIRE(run.executor->ran() == 0);

  size_t queued_before = 0, queued_after = 1, ran_after = 0, submitted_after = 1;
  StepPlan plan = detours(detour);
  plan.between = [&](Point p, int index, const Tensor&) {
    if (p != Point::Layer) return;
    if (index == 0) {
      queued_before = run.executor->queued();
      CHECK(replaying());
    } else if (index == 1) {  // right after the diverging op
      queued_after = run.executor->queued();
      ran_after = run.executor->ran();
      submitted_after = run.executor->submitted();
      CHECK(trace::detail::state().mode == trace::detail::IterationMode::Tracing);
    }
  };
  run.iteration(detour, plan);
  CHECK(queued_before >= 4);
  CHECK(queued_after == 0);
  CHECK(ran_after == submitted_after);  // the validated prefix of this iteration included
  // The session drained before it reported the fallback and ran the new op eagerly.
  REQUIRE(g_queued_at_fallback.size() == 1);
  CHECK(g_queued_at_fallback[0] == 0);
  trace::Stats st = trace::stats();
  REQUIRE(st.fallbacks.size() == 1);
  CHECK(st.divergences == 1);
  INFO(st.fallbacks[0].reason);
  CHECK(st.fallbacks[0].reason.find("sigmoid") != std::string::npos);
  CHECK(st.fallbacks[0].reason.find("expected tanh") != std::string::npos);
  CHECK(st.iterations_traced == static_cast<uint32_t>(first + 1));  // it finished traced

  // The new path is merged: the next detour is replayed, queued like any other iteration.
  for (int i = detour + 1; i < iterations; ++i) {
    const size_t submitted = run.executor->submitted();
    StepPlan p = detours(i);
    bool replayed_detour = false;
    p.between = [&](Point where, int index, const Tensor&) {
      if (where == Point::Layer && index == 1) replayed_detour = replaying();
    };
    run.iteration(i, p);
    if (i == again) {
      CHECK(replayed_detour);
      CHECK(run.executor->submitted() > submitted);
    }
  }
  st = trace::stats();
  CHECK(st.divergences == 1);
  CHECK(st.fallbacks.size() == 1);
  CHECK(g_queued_at_fallback.size() == 1);
  require_losses(run.losses, eager, rtol);
  require_close(eager.model.params, run.model.params, rtol);
}

TEST_CASE("coexec protocol (e): forced divergences, with jobs run at random points, change nothing", "[coexec]") {
  // Some iterations read their loss; the "graph" runs a random number of queued jobs between op
  // calls, as an actor running beside Python would.
  auto reads = [](int i) {
    StepPlan plan;
    plan.read_loss = i % 5 == 4;
    return plan;
  };
  const int iterations = 18;  // the forced iteration is among the first 8 replayed
  EagerRun eager = run_eagerly(iterations, reads);
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    INFO("force_divergence_seed " << seed);
    trace::Options o = session_options(false);
    o.force_divergence_seed = seed;
    // Spans handed over at sync points and the iteration's end only, or every few ops.
    o.span_ops = seed % 3 == 0 ? 0 : static_cast<int>(2 + seed % 7);
    CoexecRun run(o);
    std::mt19937_64 schedule(seed);
    for (int i = 0; i < iterations; ++i) {
      StepPlan plan = reads(i);
      plan.between = [&](Point, int, const Tensor&) {
        for (int n = static_cast<int>(schedule() % 3); n > 0 && run.executor->run_next(); --n) {
        }
      };
      StepResult r = run.iteration(i, plan);
      if (plan.read_loss) CHECK(r.read == eager.losses[i]);
    }
    trace::Stats st = trace::stats();
    CHECK(st.divergences == 1);
    REQUIRE(st.fallbacks.size() == 1);
    CHECK(st.fallbacks[0].reason.find("forced divergence") != std::string::npos);
    CHECK(st.iterations_replayed > 0);
    run.session.stop();
    CHECK(run.executor->queued() == 0);
    require_losses(run.losses, eager, 0);
    require_close(eager.model.params, run.model.params, 0);
  }
}

TEST_CASE("coexec protocol (f): a kernel error in a queued span is raised at the next sync point", "[coexec]") {
  const bool fusion = GENERATE(false, true);
  const double rtol = tolerance(fusion);
  const int bad = 6;  // a replayed iteration (replay starts after 3 or 4 traced ones)
  std::vector<Tensor> eager_at_error = eager_until_error(bad);
  auto executor = std::make_shared<ManualExecutor>();
  std::vector<Tensor> params = embedding_params();
  Session session(session_options(fusion), executor);
  auto issue = [&](int from, int to) {
    for (int i = from; i < to; ++i) {
      trace::begin_iteration();
      embedding_step(params, i, i == bad);  // issued: nothing can know yet
      trace::end_iteration();
    }
  };
  issue(0, bad + 1);
  REQUIRE(trace::stats().iterations_replayed >= 2);
  REQUIRE(executor->queued() > 0);

  SECTION("raised by a read") {
    // Python is already in the next iteration (its ops issued) when it reads.
    trace::begin_iteration();
    Tensor loss = embedding_step(params, bad + 1, false);
    require_embedding_error([&] { get(loss, 0); });
    CHECK(executor->queued() == 0);
    CHECK_NOTHROW(session.stop());
  }
  SECTION("raised by stop()") {
    require_embedding_error([&] { session.stop(); });
    CHECK_FALSE(trace::active());
  }
  SECTION("raised by stop(), with later iterations queued behind the failing one") {
    issue(bad + 1, bad + 3);
    require_embedding_error([&] { session.stop(); });
  }
  CHECK(executor->queued() == 0);
  // The failing span stopped at the embedding, and nothing issued after it ran: the parameters
  // are eager's when it raised (no later update landed).
  for (const Tensor& p : params) CHECK_FALSE(p.storage()->pending());
  require_close(eager_at_error, params, rtol);
}

TEST_CASE("coexec protocol (f): spans behind a failed one never read what it did not compute", "[coexec]") {
  // A value carried from iteration to iteration (a running loss): the failed span never computes
  // it, and the spans after it read it.
  const int bad = 6;
  auto executor = std::make_shared<ManualExecutor>();
  std::vector<Tensor> params = embedding_params();
  Session session(session_options(false), executor);
  Tensor running = random_tensor({}, DType::Float32, 5);
  auto iteration = [&](int i) {
    trace::begin_iteration();
    Tensor loss = embedding_step(params, i, i == bad);
    GradModeGuard no_grad(false);
    at(40);
    running = call1("add", {call1("mul", {running, Tensor::wrap_scalar(0.9, DType::Float32)}), loss});
    trace::end_iteration();
  };
  for (int i = 0; i < bad + 3; ++i) iteration(i);
  REQUIRE(executor->queued() >= 3);

  SECTION("raised by stop()") {
    require_embedding_error([&] { session.stop(); });
  }
  SECTION("the program catches the error and goes on") {
    require_embedding_error([&] { get(running, 0); });
    for (int i = bad + 3; i < bad + 6; ++i) iteration(i);  // their spans read `running`
    require_error([&] { session.stop(); }, ErrorKind::Runtime, {"never computed"});
  }
  CHECK(executor->queued() == 0);
  require_error([&] { get(running, 0); }, ErrorKind::Runtime, {"did not run"});
}

TEST_CASE("coexec protocol (f): an exception thrown by the program mid-iteration loses and repeats no update",
          "[coexec]") {
  const bool fusion = GENERATE(false, true);
  const double rtol = tolerance(fusion);
  // Where the "program" throws: in a traced or a replayed iteration; in the forward pass, after
  // backward, or between two parameters' updates.
  const int interrupted = GENERATE(1, 6);
  const Point where = GENERATE(Point::Layer, Point::Backward, Point::Update);
  auto plan_for = [&](int i) {
    StepPlan plan;
    if (i == interrupted)
      plan.between = [where](Point p, int index, const Tensor&) {
        if (p == where && (p == Point::Backward || index == 1)) throw Interrupt{};
      };
    return plan;
  };
  auto run_until_interrupt = [&](Mlp& model, bool session) {
    for (int i = 0;; ++i) {
      if (session) trace::begin_iteration();
      try {
        train_step(model, i, plan_for(i));
      } catch (const Interrupt&) {
        return i;
      }
      if (session) trace::end_iteration();
    }
  };
  INFO("interrupted in iteration " << interrupted << " at point " << static_cast<int>(where));
  Mlp eager = Mlp::make(7);
  CHECK(run_until_interrupt(eager, false) == interrupted);

  CoexecRun run(fusion);
  CHECK(run_until_interrupt(run.model, true) == interrupted);
  if (interrupted > 5) CHECK(run.executor->queued() > 0);
  run.session.stop();  // ends the open iteration, runs what it validated: returns, no hang
  CHECK(run.executor->queued() == 0);
  CHECK_FALSE(trace::active());
  require_close(eager.params, run.model.params, rtol);
}

TEST_CASE("coexec protocol (f): a program that catches its interrupts and goes on ends as eager", "[coexec]") {
  const bool fusion = GENERATE(false, true);
  const double rtol = tolerance(fusion);
  Mlp eager = Mlp::make(7);
  run_interrupted(eager, false, true);
  CoexecRun run(fusion);
  run_interrupted(run.model, true, true);
  run.session.stop();
  INFO(trace::report());
  CHECK(trace::stats().iterations_replayed > 0);
  require_close(eager.params, run.model.params, rtol);
}

TEST_CASE("coexec protocol (g): stop() runs every queued job and leaves every tensor readable", "[coexec]") {
  const bool fusion = GENERATE(false, true);
  const double rtol = tolerance(fusion);
  EagerRun eager = run_eagerly(10);
  CoexecRun run(fusion);
  const int first = run.trace_first();
  for (int i = first; i < first + 5; ++i) run.iteration(i);
  // The test runs the first job only: stop() must run the rest.
  REQUIRE(run.executor->run_next());
  REQUIRE(run.executor->queued() > 0);
  for (int i = first; i < first + 5; ++i) CHECK(run.losses[i].storage()->pending());

  run.session.stop();
  CHECK_FALSE(trace::active());
  CHECK(run.executor->queued() == 0);
  CHECK(run.executor->ran() == run.executor->submitted());
  CHECK(run.executor->waits() == 1);
  CHECK(run.executor.use_count() == 1);  // the session let go of its executor
  for (const Tensor& loss : run.losses) {
    CHECK_FALSE(loss.storage()->pending());
    CHECK(loss.storage()->allocated());
  }
  for (const Tensor& p : run.model.params) CHECK_FALSE(p.storage()->pending());
  const trace::Stats st = trace::stats();
  CHECK(st.spans_run == run.executor->submitted());
  CHECK(st.coexecuted);
  CHECK(st.iterations_replayed == 5);
  require_losses(run.losses, eager, rtol);
  require_close(eager.params_after[first + 4], run.model.params, rtol);
}

TEST_CASE("coexec protocol: Python runs at most max_spans_ahead spans ahead of the graph", "[coexec]") {
  CoexecRun run(false);
  trace::Options& options = trace::detail::state().options;
  options.max_spans_ahead = 2;
  const int first = run.trace_first();
  size_t most_queued = 0;
  for (int i = first; i < first + 8; ++i) {
    run.iteration(i);
    most_queued = std::max(most_queued, run.executor->queued());
  }
  CHECK(most_queued == 2);  // the third span in flight made Python wait for all of them
  CHECK(run.executor->ran() > 0);
  const auto& syncs = trace::stats().sync_points;
  CHECK(std::any_of(syncs.begin(), syncs.end(),
                    [](const trace::SyncPoint& p) { return p.why == "Python ran ahead of the graph"; }));
}

}  // namespace terra::test
