// Co-execution as Python sees it (DESIGN.md §9): a session whose spans run on the graph actor
// (actors/graph_actor.hpp), the GIL let go whenever the session waits, and the actor trace's
// interpreter lane fed from the session's events. terra.coexec and `terra run` (the default mode)
// are thin Python over these (bindings/terra/_tracing.py).
#include "actors/actor_trace.hpp"
#include "actors/graph_actor.hpp"
#include "bindings/src/common.hpp"
#include "engine/trace/session.hpp"

namespace terra::python {
namespace {

// Waits with the GIL let go: the graph actor needs no Python, but other Python threads may run
// meanwhile (and a thread waiting for the session's lock must not keep the GIL from its holder).
void wait_without_gil(void (*wait)(void*), void* arg) {
  if (Py_IsInitialized() && PyGILState_Check()) {
    py::gil_scoped_release released;
    wait(arg);
  } else {
    wait(arg);
  }
}

void to_actor_trace(trace::SessionEvent event, uint32_t iteration, const char* detail) {
  using actors::TraceKind;
  if (!actors::recording()) return;
  static const TraceKind kinds[] = {TraceKind::IterationBegin, TraceKind::IterationEnd, TraceKind::Fallback,
                                    TraceKind::Fetch,          TraceKind::WorkBegin,    TraceKind::WorkEnd};
  actors::record(actors::interpreter_lane(), kinds[static_cast<int>(event)], iteration, 0, detail);
}

}  // namespace

void bind_coexec(py::module_& t) {
  trace::set_blocking_call(&wait_without_gil);
  trace::set_event_sink(&to_actor_trace);
  t.def(
      "start_coexec", [](const trace::Options& options) { trace::start(options, std::make_shared<actors::GraphActor>()); },
      py::arg("options"), "a session whose spans run on the graph actor while Python goes on");
  t.def(
      "start_actor_trace", [](size_t events_per_thread) { actors::start_recording(events_per_thread); },
      py::arg("events_per_thread") = size_t{1} << 16, "records every actor's messages and state changes from now");
  t.def(
      "write_actor_trace", [](const std::string& path) { return actors::stop_and_write(path); }, py::arg("path"),
      "stops recording and writes Chrome Trace Event JSON (Perfetto opens it); returns the events written");
}

}  // namespace terra::python
