// Formats an actor-trace snapshot as Chrome Trace Event JSON (the "JSON Object Format": an object
// with traceEvents, displayTimeUnit and otherData), which Perfetto and chrome://tracing open.
#include "actors/actor_trace_json.hpp"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "engine/trace/json.hpp"

namespace terra::actors {

namespace {

using trace::json_string;

// One output event, kept with its time so that each swimlane is written in time order (a span is
// only known when it ends, after events that started inside it).
struct Output {
  int64_t time_ns;
  std::string json;
};

class SwimlaneWriter {
 public:
  SwimlaneWriter(ActorId actor, int64_t origin_ns) : actor_(actor), origin_ns_(origin_ns) {}

  void add(const TraceEvent& e) {
    switch (e.kind) {
      case TraceKind::MessageSent: return message(e, "s");
      case TraceKind::MessageReceived: return message(e, "f");
      case TraceKind::WaitBegin: return open_waits_.push_back(e);
      case TraceKind::WaitEnd: return close(open_waits_, e, "wait");
      case TraceKind::IterationBegin: return open_iterations_.push_back(e);
      case TraceKind::IterationEnd: return close(open_iterations_, e, "iteration");
      case TraceKind::WorkBegin: return open_work_.push_back(e);
      case TraceKind::WorkEnd: return close(open_work_, e, "work");
      case TraceKind::StateChange:
      case TraceKind::Fallback:
      case TraceKind::Fetch: return instant(e, trace_kind_name(e.kind));
    }
  }

  // Spans still open at the stop are written up to the stop, marked unfinished.
  std::vector<Output> finish(int64_t stop_ns) {
    const std::pair<const std::vector<TraceEvent>*, const char*> open_spans[] = {
        {&open_waits_, "wait"}, {&open_iterations_, "iteration"}, {&open_work_, "work"}};
    for (const auto& [open, label] : open_spans)
      for (const TraceEvent& begin : *open) span(begin, stop_ns, label, ",\"unfinished\":true");
    std::stable_sort(out_.begin(), out_.end(),
                     [](const Output& a, const Output& b) { return a.time_ns < b.time_ns; });
    return std::move(out_);
  }

 private:
  // Chrome traces count microseconds; three decimals keep the nanoseconds.
  static std::string micros(int64_t ns) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(ns) / 1000.0);
    return buf;
  }

  static std::string name(const char* label, const TraceEvent& e) {
    return e.detail[0] ? std::string(label) + " " + e.detail : std::string(label);
  }

  static std::string args(const TraceEvent& e, const std::string& extra = "") {
    return ",\"args\":{\"kind\":\"" + std::string(trace_kind_name(e.kind)) +
           "\",\"iteration\":" + std::to_string(e.iteration) + ",\"step\":" + std::to_string(e.step) +
           ",\"detail\":" + json_string(e.detail) + extra + "}";
  }

  void emit(int64_t time_ns, const char* phase, const std::string& name, const std::string& fields) {
    out_.push_back({time_ns, "{\"ph\":\"" + std::string(phase) + "\",\"pid\":1,\"tid\":" +
                                 std::to_string(actor_) + ",\"ts\":" + micros(time_ns - origin_ns_) +
                                 ",\"name\":" + json_string(name) + fields + "}"});
  }

  // A 1 ns slice for the flow arrow to bind to, then the arrow's end ('s' at the sender, 'f' at
  // the receiver, bound to the enclosing slice).
  void message(const TraceEvent& e, const char* flow_phase) {
    const char* label = e.kind == TraceKind::MessageSent ? "send" : "receive";
    emit(e.time_ns, "X", name(label, e), ",\"dur\":0.001" + args(e, ",\"message\":" + std::to_string(e.message)));
    emit(e.time_ns, flow_phase, "message",
         ",\"cat\":\"message\",\"id\":" + std::to_string(e.message) + ",\"bp\":\"e\"");
  }

  void instant(const TraceEvent& e, const char* label) { emit(e.time_ns, "i", name(label, e), ",\"s\":\"t\"" + args(e)); }

  void span(const TraceEvent& begin, int64_t end_ns, const char* label, const std::string& extra = "") {
    emit(begin.time_ns, "X", name(label, begin), ",\"dur\":" + micros(end_ns - begin.time_ns) + args(begin, extra));
  }

  // An end whose begin was dropped with the oldest events stays visible as an instant.
  void close(std::vector<TraceEvent>& open, const TraceEvent& end, const char* label) {
    if (open.empty()) return instant(end, (std::string(label) + " end (begin dropped)").c_str());
    span(open.back(), end.time_ns, label);
    open.pop_back();
  }

  ActorId actor_;
  int64_t origin_ns_;
  std::vector<TraceEvent> open_waits_, open_iterations_, open_work_;
  std::vector<Output> out_;
};

void write_metadata(std::ostream& os, const TraceSnapshot& snap) {
  os << "{\"ph\":\"M\",\"pid\":1,\"name\":\"process_name\",\"args\":{\"name\":\"terra\"}}";
  for (size_t id = 0; id < snap.actor_names.size(); ++id) {
    os << ",\n{\"ph\":\"M\",\"pid\":1,\"tid\":" << id << ",\"name\":\"thread_name\",\"args\":{\"name\":"
       << json_string(snap.actor_names[id]) << "}}";
    os << ",\n{\"ph\":\"M\",\"pid\":1,\"tid\":" << id
       << ",\"name\":\"thread_sort_index\",\"args\":{\"sort_index\":" << id << "}}";
  }
}

void write_other_data(std::ostream& os, const TraceSnapshot& snap) {
  uint64_t dropped = 0;
  for (const RingSummary& r : snap.rings) dropped += r.dropped;
  os << "\"otherData\":{\"recorder\":\"terra actor trace\",\"dropped_events\":" << dropped << ",\"rings\":[";
  for (size_t i = 0; i < snap.rings.size(); ++i) {
    const RingSummary& r = snap.rings[i];
    os << (i ? "," : "") << "{\"kept\":" << r.kept << ",\"dropped\":" << r.dropped
       << ",\"actors\":" << trace::json_list(r.actors) << "}";
  }
  os << "]}";
}

}  // namespace

void write_chrome_trace(std::ostream& os, const TraceSnapshot& snap) {
  os << "{\"displayTimeUnit\":\"ns\",\n";
  write_other_data(os, snap);
  os << ",\n\"traceEvents\":[\n";
  write_metadata(os, snap);
  for (size_t i = 0; i < snap.events.size();) {
    SwimlaneWriter lane(snap.events[i].actor, snap.start_ns);
    size_t end = i;
    while (end < snap.events.size() && snap.events[end].actor == snap.events[i].actor) lane.add(snap.events[end++]);
    for (const Output& o : lane.finish(snap.stop_ns)) os << ",\n" << o.json;
    i = end;
  }
  os << "\n]}\n";
}

}  // namespace terra::actors
