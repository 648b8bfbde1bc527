// The graph actor (DESIGN.md §9): runs the spans the interpreter hands over, one at a time in the
// order they were issued, on its own thread (a detached CAF actor), while Python goes on issuing
// ops. Spans come on a lock-free ring (Note [Spans on a ring] in graph_actor.cpp); a plan seen for
// the first time is compiled here, off Python's thread. Python never asks the actor anything: a
// fetch waits on the completion counter (spin briefly, then sleep), with the GIL let go by the
// session's blocking call.
#pragma once
#include <atomic>
#include <memory>

#include "actors/actor_trace.hpp"
#include "engine/trace/span_job.hpp"

namespace terra::actors {

class GraphActor final : public trace::SpanExecutor {
 public:
  GraphActor();
  // Waits for the spans already handed over, then stops the actor and its system.
  ~GraphActor() override;
  GraphActor(const GraphActor&) = delete;
  GraphActor& operator=(const GraphActor&) = delete;

  // The caller keeps `job` alive until it has run (the session does, until it drains).
  void submit(std::shared_ptr<trace::SpanJob> job) override;
  void wait_all() override;
  bool asynchronous() const override { return true; }

  struct Shared;  // what the actor and this handle both see

 private:
  struct System;
  std::unique_ptr<System> system_;
  std::shared_ptr<Shared> shared_;
  uint64_t submitted_ = 0;  // only the interpreter's thread submits
};

// Swimlane ids of the actors in --actor-trace (registered once per process).
ActorId interpreter_lane();
ActorId graph_lane();

}  // namespace terra::actors
