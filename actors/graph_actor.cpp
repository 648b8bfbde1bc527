#include "actors/graph_actor.hpp"

#include <caf/all.hpp>
#include <string>

#include "actors/parking_spot.hpp"

// Spans travel between threads of one process only: never serialized.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<terra::trace::SpanJob>)

namespace terra::actors {

struct GraphActor::Shared {
  std::atomic<uint64_t> completed{0};
  ParkingSpot finished;  // the interpreter waits here for `completed`
};

struct GraphActor::System {
  caf::actor_system_config config;
  std::unique_ptr<caf::actor_system> system;
  caf::actor actor;
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

caf::behavior graph_behavior(caf::event_based_actor*, std::shared_ptr<GraphActor::Shared> shared) {
  return {
      [shared](const std::shared_ptr<trace::SpanJob>& job) {
        run_traced(*job);
        shared->completed.fetch_add(1, std::memory_order_acq_rel);
        shared->finished.notify();
      },
  };
}

}  // namespace

GraphActor::GraphActor() : system_(std::make_unique<System>()), shared_(std::make_shared<Shared>()) {
  // Event-based actors other than this one do not exist; the detached graph actor has a thread of
  // its own, so the scheduler needs only one.
  system_->config.set("scheduler.max-threads", 1);
  system_->system = std::make_unique<caf::actor_system>(system_->config);
  system_->actor = system_->system->spawn<caf::detached>(graph_behavior, shared_);
  interpreter_lane();
  graph_lane();
}

GraphActor::~GraphActor() {
  wait_all();
  caf::anon_send_exit(system_->actor, caf::exit_reason::user_shutdown);
  system_->actor = nullptr;
  system_->system->await_all_actors_done();
}

void GraphActor::submit(std::shared_ptr<trace::SpanJob> job) {
  ++submitted_;
  record(interpreter_lane(), TraceKind::MessageSent, job->iteration, static_cast<uint32_t>(job->seq), "span",
         job->seq);
  caf::anon_send(system_->actor, std::move(job));
}

void GraphActor::wait_all() {
  const uint64_t target = submitted_;
  if (shared_->completed.load(std::memory_order_acquire) >= target) return;
  record(interpreter_lane(), TraceKind::WaitBegin, 0, 0, "for the graph");
  shared_->finished.wait_until([&] { return shared_->completed.load(std::memory_order_acquire) >= target; });
  record(interpreter_lane(), TraceKind::WaitEnd, 0, 0, "");
}

}  // namespace terra::actors
