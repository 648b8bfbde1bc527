// The session's options from the environment, and what it reports: stats() for --explain and
// terra.debug, report(), and dump() of the TraceGraph and the plans (session.hpp).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "engine/trace/session.hpp"
#include "engine/trace/hook.hpp"
#include "engine/trace/session_state.hpp"

namespace terra::trace {

using detail::State;

Options options_from_env() {
  Options o;
  if (const char* v = std::getenv("TERRA_FUSION")) o.fusion = std::string(v) != "0";
  if (const char* v = std::getenv("TERRA_STABLE_AFTER")) o.stable_after = std::max(1, std::atoi(v));
  if (const char* v = std::getenv("TERRA_MAX_PATHS")) o.max_paths = std::max(1, std::atoi(v));
  if (const char* v = std::getenv("TERRA_DUMP_GRAPH")) o.dump_dir = v;
  if (const char* v = std::getenv("TERRA_SPAN_OPS")) o.span_ops = std::max(0, std::atoi(v));
  if (const char* v = std::getenv("TERRA_MAX_SPANS_AHEAD")) o.max_spans_ahead = std::max(1, std::atoi(v));
  if (const char* v = std::getenv("TERRA_INLINE_SPAN_US")) o.inline_span_seconds = std::max(0.0, std::atof(v)) * 1e-6;
  if (const char* v = std::getenv("TERRA_FORCE_DIVERGENCE")) o.force_divergence_seed = std::strtoull(v, nullptr, 10);
  if (const char* v = std::getenv("TERRA_CHECK_NVRTC")) o.check_nvrtc = std::string(v) != "0";
  if (const char* v = std::getenv("TERRA_DORMANT")) o.dormant_stretches = std::string(v) != "0";
  if (const char* v = std::getenv("TERRA_REPLAY_BACKWARD")) o.replay_backward = std::string(v) != "0";
  const char* pay = std::getenv("TERRA_REPLAY_MUST_PAY");
  o.replay_must_pay = !pay || std::string(pay) != "0";
  if (const char* v = std::getenv("TERRA_PAY_CHECK_FAKE_US")) {
    double replayed = -1, eager = -1;
    if (std::sscanf(v, "%lf,%lf", &replayed, &eager) == 2 && replayed >= 0 && eager >= 0) {
      o.fake_replayed_seconds = replayed * 1e-6;
      o.fake_eager_seconds = eager * 1e-6;
    }
  }
  return o;
}

Stats stats() {
  State* state = detail::state_if_any();
  if (!state) return Stats{};
  auto lock = detail::lock(*state);
  const State& s = *state;
  Stats st = s.stats;
  if (session_on_this_thread)
    st.session_seconds = seconds_since(s.started);
  for (const auto& [key, point] : s.sync_points) {
    st.sync_points.push_back(point);
    st.sync_points.back().where = key.first;
    st.sync_points.back().why = key.second;
  }
  for (const auto& [key, why] : s.backward_refusals) st.backward_refusals.emplace_back(describe_location(key), why);
  std::stable_sort(st.sync_points.begin(), st.sync_points.end(),
                   [](const SyncPoint& a, const SyncPoint& b) { return a.seconds > b.seconds; });
  return st;
}

std::string report() {
  Stats st = stats();
  std::ostringstream os;
  os << (st.coexecuted ? "terra coexec: " : "terra replay: ") << st.iterations_traced << " iterations traced, " << st.iterations_replayed
     << (st.coexecuted ? " co-executed, " : " replayed, ") << st.iterations_eager << " eager; " << st.divergences << " fallbacks; "
     << st.plans_compiled << " plans compiled in " << st.compile_seconds * 1e3 << " ms; " << st.ops_replayed
     << " ops replayed (" << st.backward_replays << " backward() calls whole)\n";
  for (const Fallback& f : st.fallbacks)
    os << "  iteration " << f.iteration << ": " << f.reason << " at " << describe_location(f.location) << "\n";
  return os.str();
}

void dump(const std::string& dir) {
  State* state = detail::state_if_any();
  TERRA_CHECK(state, Runtime, "no tracing session to dump");
  std::ofstream(dir + "/trace_graph.json") << state->graph.to_json();
  std::ofstream(dir + "/trace_graph.dot") << state->graph.to_dot();
  int i = 0;
  auto lock = detail::lock(*state);
  detail::flush_all(*state, "dump");  // plans are compiled by the spans that use them
  for (auto& [key, cached] : state->plans) {
    const PlanSlot& slot = *cached.slot;
    std::ofstream(dir + "/plan_" + std::to_string(i) + "_before.json") << slot.before.to_json();
    std::ofstream(dir + "/plan_" + std::to_string(i) + "_before.dot") << slot.before.to_dot();
    if (slot.plan) {
      std::ofstream(dir + "/plan_" + std::to_string(i) + "_after.json") << slot.plan->to_json();
      std::ofstream(dir + "/plan_" + std::to_string(i) + "_after.dot") << slot.plan->to_dot();
    }
    ++i;
  }
}

}  // namespace terra::trace
