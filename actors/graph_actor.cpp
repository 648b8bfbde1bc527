#include "actors/graph_actor.hpp"

#include <caf/all.hpp>
#include <string>

#include "actors/blocking_ring.hpp"
#include "actors/parking_spot.hpp"

namespace terra::actors {

// Note [Spans on a ring]: spans travel from the interpreter to the graph actor on a lock-free
// ring, like op events, not in CAF messages: a CAF message wakes a sleeping detached actor through
// a condition variable every time, and on these two-core machines the wake-ups of one span per
// iteration cost more than short spans take to run. The ring's consumer spins briefly before it
// sleeps, so spans issued back to back find it awake. CAF owns the actor's thread and lifetime.
struct GraphActor::Shared {
  explicit Shared(size_t capacity) : spans(capacity) {}
  // Raw pointers: the session keeps every job it submitted until the job has run.
  BlockingRing<trace::SpanJob*> spans;
  std::atomic<uint64_t> completed{0};
  ParkingSpot finished;  // the interpreter waits here for `completed`
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

void run_traced(trace::SpanJob& job) {
  const ActorId lane = graph_lane();
  record(lane, TraceKind::MessageReceived, job.iteration, static_cast<uint32_t>(job.seq), "span", job.seq);
  if (recording()) {
    const bool compiles = !job.plan->plan;
    const std::string what = (compiles ? "compile+run " : "run ") + std::to_string(job.num_ops) + " ops";
    record(lane, TraceKind::WorkBegin, job.iteration, static_cast<uint32_t>(job.seq), what.c_str());
  }
  job.run();
  record(lane, TraceKind::WorkEnd, job.iteration, static_cast<uint32_t>(job.seq), job.error ? "failed" : "");
}

void graph_loop(caf::blocking_actor*, std::shared_ptr<GraphActor::Shared> shared) {
  trace::SpanJob* job = nullptr;
  while (shared->spans.pop(job)) {
    run_traced(*job);
    shared->completed.fetch_add(1, std::memory_order_acq_rel);
    shared->finished.notify();
  }
}

}  // namespace

GraphActor::GraphActor() : system_(std::make_unique<System>()), shared_(std::make_shared<Shared>(kRingCapacity)) {
  // The detached graph actor has a thread of its own; no other actor needs the scheduler's.
  system_->config.set("scheduler.max-threads", 1);
  system_->system = std::make_unique<caf::actor_system>(system_->config);
  system_->system->spawn<caf::detached>(graph_loop, shared_);
  interpreter_lane();
  graph_lane();
}

GraphActor::~GraphActor() {
  wait_all();
  shared_->spans.close();  // the actor's loop ends, and with it the actor
  system_->system->await_all_actors_done();
}

void GraphActor::submit(std::shared_ptr<trace::SpanJob> job) {
  ++submitted_;
  record(interpreter_lane(), TraceKind::MessageSent, job->iteration, static_cast<uint32_t>(job->seq), "span",
         job->seq);
  shared_->spans.push(job.get());
}

void GraphActor::wait_all() {
  const uint64_t target = submitted_;
  if (shared_->completed.load(std::memory_order_acquire) >= target) return;
  record(interpreter_lane(), TraceKind::WaitBegin, 0, 0, "for the graph");
  shared_->finished.wait_until([&] { return shared_->completed.load(std::memory_order_acquire) >= target; });
  record(interpreter_lane(), TraceKind::WaitEnd, 0, 0, "");
}

}  // namespace terra::actors
