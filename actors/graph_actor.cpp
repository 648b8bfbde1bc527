#include "actors/graph_actor.hpp"

#include <caf/all.hpp>
#include <mutex>
#include <string>
#include <vector>

#include "actors/blocking_ring.hpp"
#include "tensor/parking_spot.hpp"
#include "kernels/cpu/parallel.hpp"

namespace terra::actors {

// Note [Spans on a ring]: spans travel from the interpreter to the graph actor on a lock-free
// ring, like op events, not in CAF messages: a CAF message wakes a sleeping detached actor through
// a condition variable every time, and on these two-core machines the wake-ups of one span per
// iteration cost more than short spans take to run. The ring's consumer spins briefly before it
// sleeps, so spans issued back to back find it awake. CAF owns the actor's thread and lifetime.
//
// Note [The waiter runs it]: when the interpreter must wait for a span the actor has not started
// (a fetch right after the span was handed over, the common case of a loop that reads its loss
// every step), it claims the span and runs it itself: waking the actor and then waiting for it
// would cost two thread hand-offs for nothing. Spans still run one at a time in issue order: the
// interpreter claims them oldest first, and the actor, finding a span claimed, waits for it to be
// done before it takes the next.
//
// Note [Spinning across an iteration]: a thread parked on a condition variable costs the thread
// that wakes it a futex call, and itself a scheduler round trip, each tens of microseconds on
// these virtual machines, which is a whole iteration of a small model. So the actor waits for
// the next span, and the interpreter for a span the actor runs, by spinning for about the length
// of a short iteration (yielding after ParkingSpot's default spin) before they sleep: a loop that
// hands over a span per iteration then never pays for a wake-up, and an idle program sleeps after
// a millisecond.
constexpr std::chrono::microseconds kSpinAcrossIteration{1000};

// Note [A core for the interpreter]
// While Python runs beside the graph actor, the actor's kernels keep one core free for the
// interpreter (cpu::set_reserved_cores, cpu::keep_reserved_cores_free): on two cores a kernel
// split over both waited for a pool worker that Python's thread held (the digits CNN, whose
// Python runs ahead of the graph, ran its spans in 1.3 s against 1.0 s for the whole eager run).
// While the interpreter waits for the graph (every wait goes through the session's timed_wait,
// which releases the reservation) its core is free, and a loop that reads its loss every step
// (the LSTM and transformer language models) gets every core for its products. Kernels on
// Python's own thread (a fetch's prefix, eager ops) are never limited. The chunks a kernel cuts
// its work into stay as they were, so results do not change, only how many threads run them.

// Jobs the actor is done with go back to the interpreter (`retired`), which lets go of them on
// its own thread: a job may hold the last reference to memory borrowed from numpy, whose release
// takes the GIL.
struct GraphActor::Shared {
  explicit Shared(size_t capacity)
      : spans(capacity, kSpinAcrossIteration), finished(kSpinAcrossIteration), stolen_finished(kSpinAcrossIteration) {}
  BlockingRing<std::shared_ptr<trace::SpanJob>> spans;
  ParkingSpot finished;         // the interpreter waits here for a job the actor runs
  ParkingSpot stolen_finished;  // the actor waits here for a job the interpreter runs
  std::mutex retired_mutex;
  std::vector<std::shared_ptr<trace::SpanJob>> retired;
};

struct GraphActor::System {
  caf::actor_system_config config;
  std::unique_ptr<caf::actor_system> system;
};

ActorId interpreter_lane() {
  static const ActorId id = register_actor("interpreter");
  return id;
}

ActorId graph_lane() {
  static const ActorId id = register_actor("graph");
  return id;
}

namespace {

constexpr size_t kRingCapacity = 1024;  // spans in flight before the interpreter waits for room

void run_traced(trace::SpanJob& job, ActorId lane) {
  if (recording()) {
    const bool compiles = !job.plan->plan;
    const std::string what = (compiles ? "compile+run " : "run ") + std::to_string(job.num_ops) + " ops";
    record(lane, TraceKind::WorkBegin, job.iteration, static_cast<uint32_t>(job.seq), what.c_str());
  }
  job.run();
  record(lane, TraceKind::WorkEnd, job.iteration, static_cast<uint32_t>(job.seq), job.error ? "failed" : "");
}

bool is_done(const trace::SpanJob& job) { return job.done.load(std::memory_order_acquire); }

void graph_loop(caf::blocking_actor*, std::shared_ptr<GraphActor::Shared> shared) {
  cpu::keep_reserved_cores_free(true);  // Note [A core for the interpreter]
  std::shared_ptr<trace::SpanJob> job;
  while (shared->spans.pop(job)) {
    record(graph_lane(), TraceKind::MessageReceived, job->iteration, static_cast<uint32_t>(job->seq), "span",
           job->seq);
    if (job->claim()) {
      run_traced(*job, graph_lane());
      shared->finished.notify();
    } else {
      shared->stolen_finished.wait_until([&] { return is_done(*job); });
    }
    std::lock_guard<std::mutex> lock(shared->retired_mutex);
    shared->retired.push_back(std::move(job));
  }
}

}  // namespace

GraphActor::GraphActor() : system_(std::make_unique<System>()), shared_(std::make_shared<Shared>(kRingCapacity)) {
  // The detached graph actor has a thread of its own; no other actor needs the scheduler's.
  system_->config.set("scheduler.max-threads", 1);
  system_->system = std::make_unique<caf::actor_system>(system_->config);
  system_->system->spawn<caf::detached>(graph_loop, shared_);
  cpu::set_reserved_cores(1);  // Note [A core for the interpreter]
  interpreter_lane();
  graph_lane();
}

GraphActor::~GraphActor() {
  shared_->spans.close();  // the actor pops what was pushed before, then its loop ends
  system_->system->await_all_actors_done();
  cpu::set_reserved_cores(0);
  release_retired();
}

void GraphActor::submit(std::shared_ptr<trace::SpanJob> job) {
  release_retired();
  record(interpreter_lane(), TraceKind::MessageSent, job->iteration, static_cast<uint32_t>(job->seq), "span",
         job->seq);
  shared_->spans.push(std::move(job));
}

void GraphActor::wait(const std::deque<std::shared_ptr<trace::SpanJob>>& jobs) {
  bool waited = false;
  for (const std::shared_ptr<trace::SpanJob>& pending : jobs) {
    trace::SpanJob& job = *pending;
    if (is_done(job)) continue;
    if (job.claim()) {  // Note [The waiter runs it]
      run_traced(job, interpreter_lane());
      shared_->stolen_finished.notify();
      continue;
    }
    if (!waited) record(interpreter_lane(), TraceKind::WaitBegin, 0, 0, "for the graph");
    waited = true;
    shared_->finished.wait_until([&] { return is_done(job); });
  }
  if (waited) record(interpreter_lane(), TraceKind::WaitEnd, 0, 0, "");
  release_retired();
}

void GraphActor::release_retired() {
  std::vector<std::shared_ptr<trace::SpanJob>> done;
  {
    std::lock_guard<std::mutex> lock(shared_->retired_mutex);
    done.swap(shared_->retired);
  }
}

}  // namespace terra::actors
