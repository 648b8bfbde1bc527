// Actor-trace recording (actors/actor_trace.hpp): events from real threads end up in Chrome Trace
// Event JSON that Python's json module parses; chrome_trace_summary.py reads the file back.
#include <catch2/catch.hpp>

#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "actors/actor_trace.hpp"
#include "actors/op_ring.hpp"

namespace ta = terra::actors;
using ta::TraceKind;

namespace {

struct Lane {
  std::string name;
  int events = 0;
  bool sorted = false;
  std::string first_detail, last_detail;
};

struct Summary {
  long dropped = -1;
  std::map<int, Lane> lanes;
  int flow_starts = 0, flow_finishes = 0, flow_pairs = 0, unfinished = 0;
};

std::string temp_json_path(const char* stem) {
  return std::string(P_tmpdir) + "/" + stem + "_" + std::to_string(::getpid()) + ".json";
}

// Runs Debian's python3 on the file; fails the test when json.load does.
Summary summarize(const std::string& path) {
  const std::string command = "/usr/bin/python3 " TERRA_ACTORS_TEST_DIR "/chrome_trace_summary.py " + path;
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe);
  std::string text;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, pipe)) text.append(buf, n);
  REQUIRE(::pclose(pipe) == 0);
  Summary s;
  std::istringstream lines(text);
  std::string word;
  while (lines >> word) {
    if (word == "dropped") {
      lines >> s.dropped;
    } else if (word == "lane") {
      int tid = 0, sorted = 0;
      Lane lane;
      lines >> tid >> lane.name >> lane.events >> sorted >> lane.first_detail >> lane.last_detail;
      lane.sorted = sorted == 1;
      s.lanes[tid] = lane;
    } else if (word == "flows") {
      lines >> s.flow_starts >> s.flow_finishes >> s.flow_pairs;
    } else if (word == "unfinished") {
      lines >> s.unfinished;
    }
  }
  std::remove(path.c_str());
  return s;
}

}  // namespace

TEST_CASE("actor trace: events from several actor threads all land in valid JSON", "[actor_trace]") {
  constexpr uint32_t kIterations = 200;
  const ta::ActorId interpreter = ta::register_actor("interpreter");
  const ta::ActorId walker = ta::register_actor("walker");
  const ta::ActorId graph = ta::register_actor("graph");
  ta::start_recording(1 << 12);

  // interpreter → walker messages travel on a real ring; the event's seq carries the message id.
  ta::OpRing ring(64);
  std::thread interpreter_thread([&] {
    for (uint32_t it = 0; it < kIterations; ++it) {
      ta::record(interpreter, TraceKind::IterationBegin, it, 0);
      ta::OpEvent e;
      e.seq = ta::new_message_id();
      ta::record(interpreter, TraceKind::MessageSent, it, 0, "op", e.seq);
      ring.push(e);
      ta::record(interpreter, TraceKind::IterationEnd, it, 1);
    }
    ring.close();
  });
  std::thread walker_thread([&] {
    ta::OpEvent e;
    for (uint32_t it = 0; ring.pop(e); ++it) {
      ta::record(walker, TraceKind::MessageReceived, it, 0, "op", e.seq);
      ta::record(walker, TraceKind::StateChange, it, 0, "validated");
    }
  });
  std::thread graph_thread([&] {
    for (uint32_t it = 0; it < kIterations; ++it) {
      ta::record(graph, TraceKind::WaitBegin, it, 0, "frontier");
      ta::record(graph, TraceKind::WaitEnd, it, 0);
      ta::record(graph, TraceKind::Fetch, it, 2, "h7");
    }
    ta::record(graph, TraceKind::WaitBegin, kIterations, 0, "stop");  // still open at the stop
  });
  interpreter_thread.join();
  walker_thread.join();
  graph_thread.join();
  const std::string path = temp_json_path("actor_trace_lanes");
  CHECK(ta::stop_and_write(path) == kIterations * 8 + 1);  // 3 + 2 + 3 per iteration, and the open wait

  const Summary s = summarize(path);
  CHECK(s.dropped == 0);
  REQUIRE(s.lanes.count(interpreter));
  REQUIRE(s.lanes.count(walker));
  REQUIRE(s.lanes.count(graph));
  // interpreter: an iteration span plus a send slice and its flow start per iteration.
  CHECK(s.lanes.at(interpreter).name == "interpreter");
  CHECK(s.lanes.at(interpreter).events == 3 * kIterations);
  // walker: a receive slice, its flow end and a state instant.
  CHECK(s.lanes.at(walker).name == "walker");
  CHECK(s.lanes.at(walker).events == 3 * kIterations);
  CHECK(s.lanes.at(walker).last_detail == "validated");
  // graph: a wait span and a fetch instant, then the unfinished wait.
  CHECK(s.lanes.at(graph).name == "graph");
  CHECK(s.lanes.at(graph).events == 2 * kIterations + 1);
  CHECK(s.lanes.at(graph).first_detail == "frontier");
  CHECK(s.lanes.at(graph).last_detail == "stop");
  for (const auto& [tid, lane] : s.lanes) CHECK(lane.sorted);
  CHECK(s.flow_starts == int(kIterations));
  CHECK(s.flow_finishes == int(kIterations));
  CHECK(s.flow_pairs == int(kIterations));
  CHECK(s.unfinished == 1);
}

TEST_CASE("actor trace: a full ring drops its oldest events and the JSON says so", "[actor_trace]") {
  const ta::ActorId actor = ta::register_actor("busy");
  ta::start_recording(16);
  std::thread worker([&] {
    for (int i = 0; i < 100; ++i) ta::record(actor, TraceKind::StateChange, 0, i, std::to_string(i).c_str());
  });
  worker.join();
  const std::string path = temp_json_path("actor_trace_overflow");
  CHECK(ta::stop_and_write(path) == 16);
  const Summary s = summarize(path);
  CHECK(s.dropped == 84);
  REQUIRE(s.lanes.count(actor));
  CHECK(s.lanes.at(actor).events == 16);
  CHECK(s.lanes.at(actor).first_detail == "84");
  CHECK(s.lanes.at(actor).last_detail == "99");
}

TEST_CASE("actor trace: nothing is recorded while recording is off", "[actor_trace]") {
  const ta::ActorId actor = ta::register_actor("idle");
  ta::start_recording(16);
  ta::record(actor, TraceKind::Fallback, 1, 2, "before stop");
  CHECK(ta::stop_and_write(temp_json_path("actor_trace_first")) == 1);
  CHECK_FALSE(ta::recording());
  ta::record(actor, TraceKind::Fallback, 1, 3, "while off");
  ta::start_recording(16);
  const std::string path = temp_json_path("actor_trace_off");
  CHECK(ta::stop_and_write(path) == 0);
  const Summary s = summarize(path);
  CHECK(s.dropped == 0);
  CHECK(s.lanes.empty());
}

TEST_CASE("actor trace: details are cut to fit and names and details escaped", "[actor_trace]") {
  const ta::ActorId actor = ta::register_actor("quoting\"actor\"");
  const std::string detail = "a\"quoted\\detail/that-is-longer-than-an-event-holds";
  ta::start_recording(16);
  ta::record(actor, TraceKind::StateChange, 0, 0, detail.c_str());
  const std::string path = temp_json_path("actor_trace_escape");
  REQUIRE(ta::stop_and_write(path) == 1);
  const Summary s = summarize(path);
  REQUIRE(s.lanes.count(actor));
  CHECK(s.lanes.at(actor).name == "quoting\"actor\"");
  CHECK(s.lanes.at(actor).first_detail == detail.substr(0, ta::TraceEvent::kDetailSize - 1));
}

TEST_CASE("actor trace: a detail is never cut inside a UTF-8 character", "[actor_trace]") {
  const ta::ActorId actor = ta::register_actor("utf8");
  // 33 ASCII bytes, then 'é' (2 bytes) would end one byte past the 34 that fit.
  const std::string ascii(33, 'x');
  ta::start_recording(16);
  ta::record(actor, TraceKind::StateChange, 0, 0, (ascii + "\xc3\xa9tail").c_str());
  const std::string path = temp_json_path("actor_trace_utf8");
  REQUIRE(ta::stop_and_write(path) == 1);
  const Summary s = summarize(path);  // json.load would fail on a torn character
  REQUIRE(s.lanes.count(actor));
  CHECK(s.lanes.at(actor).first_detail == ascii);
}
