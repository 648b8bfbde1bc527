// terra._C._trace: the tracing session (engine/trace/session.hpp) as Python sees it. terra.replay,
// terra.step (bindings/terra/_tracing.py) and terra.debug are thin Python over these functions;
// the location provider they rely on is in locations.cpp.
#include "bindings/src/common.hpp"
#include "bindings/src/locations.hpp"
#include "engine/trace/record.hpp"

namespace terra::python {

void bind_coexec(py::module_& t);  // coexec.cpp

namespace {

py::dict stats_dict(const trace::Stats& s) {
  py::dict d;
  d["iterations_eager"] = s.iterations_eager;
  d["iterations_dormant"] = s.iterations_dormant;
  d["iterations_traced"] = s.iterations_traced;
  d["iterations_replayed"] = s.iterations_replayed;
  d["divergences"] = s.divergences;
  d["ops_replayed"] = s.ops_replayed;
  d["backward_replays"] = s.backward_replays;
  d["plans_compiled"] = s.plans_compiled;
  d["compile_seconds"] = s.compile_seconds;
  d["fused_groups"] = s.fused_groups;
  d["nvrtc_kernels"] = s.nvrtc_kernels;
  d["cuda_graph_captures"] = s.cuda_graph_captures;
  d["cuda_graph_replays"] = s.cuda_graph_replays;
  d["side_by_side_runs"] = s.side_by_side_runs;
  d["spans_run"] = s.spans_run;
  d["graph_seconds"] = s.graph_seconds;
  d["wait_seconds"] = s.wait_seconds;
  d["session_seconds"] = s.session_seconds;
  d["coexecuted"] = s.coexecuted;
  py::list syncs;
  for (const trace::SyncPoint& p : s.sync_points) {
    py::dict sd;
    sd["where"] = p.where;
    sd["why"] = p.why;
    sd["count"] = p.count;
    sd["seconds"] = p.seconds;
    syncs.append(sd);
  }
  d["sync_points"] = syncs;
  py::list fallbacks;
  for (const trace::Fallback& f : s.fallbacks) {
    py::dict fd;
    fd["iteration"] = f.iteration;
    fd["reason"] = f.reason;
    fd["location"] = trace::describe_location(f.location);
    fallbacks.append(fd);
  }
  d["fallbacks"] = fallbacks;
  py::list refusals;
  for (const auto& [where, why] : s.backward_refusals) {
    py::dict rd;
    rd["where"] = where;
    rd["why"] = why;
    refusals.append(rd);
  }
  d["backward_refusals"] = refusals;
  return d;
}

}  // namespace

void bind_trace(py::module_& m) {
  install_location_hooks();
  py::module_ t = m.def_submodule("_trace", "the tracing session: replay, explicit iterations, debugging");
  py::class_<trace::Options>(t, "Options")
      .def_readwrite("stable_after", &trace::Options::stable_after)
      .def_readwrite("max_paths", &trace::Options::max_paths)
      .def_readwrite("fusion", &trace::Options::fusion)
      .def_readwrite("memory_planning", &trace::Options::memory_planning)
      .def_readwrite("dump_dir", &trace::Options::dump_dir)
      .def_readwrite("span_ops", &trace::Options::span_ops)
      .def_readwrite("max_spans_ahead", &trace::Options::max_spans_ahead)
      .def_readwrite("force_divergence_seed", &trace::Options::force_divergence_seed)
      .def_readwrite("replay_must_pay", &trace::Options::replay_must_pay)
      .def_readwrite("dormant_stretches", &trace::Options::dormant_stretches)
      .def_readwrite("replay_backward", &trace::Options::replay_backward);
  t.def("options_from_env", &trace::options_from_env,
        "the session options from TERRA_FUSION, TERRA_STABLE_AFTER, TERRA_MAX_PATHS, TERRA_DUMP_GRAPH, "
        "TERRA_SPAN_OPS, TERRA_MAX_SPANS_AHEAD, TERRA_FORCE_DIVERGENCE");
  t.def("start", [](const trace::Options& options) { trace::start(options); }, py::arg("options"));
  bind_coexec(t);
  t.def("stop", &trace::stop);
  t.def("active", &trace::active);
  t.def("dormant", &trace::dormant, "ops on this thread skip the session: a long eager stretch (Note [Dormant stretches])");
  t.def("sync", &trace::sync, "runs deferred work now (before Python reads a generator or saves tensors)");
  t.def("dump", &trace::dump, py::arg("dir"));
  t.def("report", &trace::report);
  t.def("stats", [] { return stats_dict(trace::stats()); });

  t.def("begin_step", [](py::handle frame) {
    if (!PyFrame_Check(frame.ptr())) throw py::type_error("begin_step expects the frame that enters the step");
    begin_step(reinterpret_cast<PyFrameObject*>(frame.ptr()));
  }, py::arg("frame"));
  t.def("end_step", &end_step);
  t.def("step_depth", &step_depth);

  t.def("location", [] {
    const trace::Location loc = current_location();
    return py::make_tuple(loc.key, loc.new_iteration, describe_location_key(loc.key));
  }, "(key, new_iteration, description) exactly as the provider computes them for an op called here");
}

}  // namespace terra::python
