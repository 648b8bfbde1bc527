// The graph actor (DESIGN.md §9): runs the spans the interpreter hands over, one at a time in the
// order they were issued, on its own thread (a detached CAF actor), while Python goes on issuing
// ops. Spans come on a lock-free ring (Note [Spans on a ring] in graph_actor.cpp); a plan seen for
// the first time is compiled where the span runs. Python never asks the actor anything: a fetch
// waits on the span's done flag (spin briefly, then sleep), with the GIL let go by the session's
// blocking call, or runs the span itself when the actor has not started it (Note [The waiter
// runs it]).
#pragma once
#include <atomic>
#include <memory>

#include "actors/actor_trace.hpp"
#include "engine/trace/span_job.hpp"

namespace terra::actors {

class GraphActor final : public trace::SpanExecutor {
 public:
  GraphActor();
  // The actor runs the spans already handed over, then stops with its system.
  ~GraphActor() override;
  GraphActor(const GraphActor&) = delete;
  GraphActor& operator=(const GraphActor&) = delete;

  void submit(std::shared_ptr<trace::SpanJob> job) override;
  void wait(const std::deque<std::shared_ptr<trace::SpanJob>>& jobs) override;
  bool asynchronous() const override { return true; }

  struct Shared;  // what the actor and this handle both see

 private:
  void release_retired();  // lets go of the jobs the actor is done with, on this thread

  struct System;
  std::unique_ptr<System> system_;
  std::shared_ptr<Shared> shared_;
};

// Swimlane ids of the actors in --actor-trace (registered once per process).
ActorId interpreter_lane();
ActorId graph_lane();

}  // namespace terra::actors
