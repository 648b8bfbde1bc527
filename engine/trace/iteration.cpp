// The iteration life cycle of the tracing session (session.hpp): where iterations begin and end,
// what each runs as (traced, replayed, eager: Note [Backing off], Note [Replay must pay] in
// pay_check.hpp, Note [Dormant stretches]), divergence, and handing validated spans over.
// session.cpp intercepts the ops; both share session_state.hpp.
#include <algorithm>
#include <chrono>
#include <string>
#include <utility>

#include "engine/trace/hook.hpp"
#include "engine/trace/session_state.hpp"

namespace terra::trace::detail {

bool asynchronous(const State& s) { return s.executor->asynchronous(); }

void update_work_queued(const State& s) { work_queued.store(!s.submitted.empty(), std::memory_order_relaxed); }

// Runs (or waits for) all deferred work: every tensor is readable afterwards.
void flush(State& s, const char* why) {
  if (s.mode == IterationMode::Replaying) detail::submit_span(s);
  detail::drain(s, why);
  update_work_queued(s);
}

// Hands the validated span to the executor; Python goes on at once in co-execution, up to
// Options::max_spans_ahead spans ahead of the graph, where it waits for the oldest one (not for
// all of them: the graph keeps the rest to work on while Python goes on).
void hand_over(State& s) {
  if (!asynchronous(s)) return flush(s, "");
  detail::submit_span(s);
  const size_t ahead = static_cast<size_t>(s.options.max_spans_ahead);
  if (s.submitted.size() > ahead) detail::wait_for_oldest(s, ahead, "Python ran ahead of the graph");
  update_work_queued(s);
}

// An op about to run eagerly on Python's thread may write what queued spans read.
void settle_before_eager(State& s, const OpDef& op) {
  if (!s.submitted.empty()) flush(s, op.name().c_str());
}

namespace {

// Test switch: picks the replayed iteration (among the first 8) and the op that will be declared
// a mismatch; until it has fired, every later replayed iteration draws an op again (the program's
// own divergence, or a shorter path, may have come first).
void plan_forced_divergence(State& s) {
  if (s.options.force_divergence_seed == 0 || s.forced_done) return;
  const int n = s.replayed_iterations_begun++;
  if (n == 0) s.forced_iteration = static_cast<int>(s.rng() % 8);
  if (n >= s.forced_iteration) s.forced_op = static_cast<int>(s.rng() % std::max<size_t>(1, s.last_replay_length));
}

}  // namespace

// Note [Backing off]
// A loop whose iterations keep taking new paths (LBFGS while its history grows: every step's
// two-loop recursion is longer than the last) pays for tracing every iteration and never replays.
// After Options::backoff_after traced iterations in a row that each added to the TraceGraph, the
// next iterations run plain eager, untraced, for a stretch; then iterations are traced again, and
// when backoff_after more in a row add to the graph, the next stretch is twice as long (up to
// kLongestRest). One traced iteration that adds nothing ends the backing off: a program with a
// few recurring paths (shapes that settle, a branch every k steps) still learns them all.
constexpr int kLongestRest = 64;

bool runs_eagerly(const State& s) {
  return s.mode == IterationMode::Outside || s.mode == IterationMode::Eager || s.mode == IterationMode::Resting;
}

namespace {

// The iteration that just ended, for Note [Replay must pay]: its time since it began, if it ran
// as PayCheck counts (replayed to its end, or eagerly because PayCheck asked).
void time_last_iteration(State& s) {
  const auto now = std::chrono::steady_clock::now();
  const IterationTiming timed = std::exchange(s.timing, IterationTiming::None);
  const double seconds = std::chrono::duration<double>(now - std::exchange(s.iteration_start, now)).count();
  if (timed == IterationTiming::None) return;
  const Options& o = s.options;
  const bool fake = o.fake_replayed_seconds >= 0 && o.fake_eager_seconds >= 0;
  if (timed == IterationTiming::Replayed) s.pay.replayed(fake ? o.fake_replayed_seconds : seconds);
  else s.pay.ran_eagerly(fake ? o.fake_eager_seconds : seconds);
  if (std::string verdict = s.pay.take_verdict(); !verdict.empty()) {
    tell(SessionEvent::Fallback, s.epoch, verdict.c_str());
    s.stats.fallbacks.push_back({s.epoch, std::move(verdict), s.last_iteration_location});
  }
}

// Note [Dormant stretches]
// An eager stretch (Note [Backing off], Note [Replay must pay], a loop past the path bound) runs
// its ops as with no session, yet each op still went through the session: its lock, and the
// location provider's frame walk, there only to find the next iteration boundary. That made the
// default mode ~6% slower than `--mode eager` on the regression benchmark, which runs ~97% of its
// iterations eagerly (tools/bench/RESULTS.md, 2026-11-27). So a stretch of at least
// kShortestDormancy more iterations goes dormant: the session's thread stops intercepting ops
// (intercept_on_this_thread), and the boundaries come from where they are seen without it:
// explicit marks (begin_iteration), or the bindings' check at each backward() call
// (dormant_iteration_began, wake_left_loop), when the provider says it makes one
// (set_location_provider). The iteration in which the session wakes runs eagerly too, so it does
// not matter where in it the wake happens; from the next boundary on, iterations are found by the
// provider again, and traced, replayed or timed as before. PayCheck's stretches keep their last
// kSamples + 1 iterations awake, timed. Dormancy changes which path the dispatcher takes, never
// what an op computes; stats count dormant iterations as eager ones.
constexpr int kShortestDormancy = 4;
constexpr int kForever = 1 << 30;

bool may_go_dormant(const State& s) {
  return s.options.dormant_stretches && (s.marked || provider_sees_boundaries_when_dormant());
}

// Goes dormant for the `boundaries` to come, if that is worth it; false: stays awake.
bool go_dormant(State& s, int boundaries) {
  if (boundaries < kShortestDormancy || !may_go_dormant(s)) return false;
  flush(s, "an eager stretch begins");  // nothing may stay queued that its ops could read
  s.dormant_left = boundaries;
  intercept_on_this_thread = false;
  return true;
}

}  // namespace

void wake(State& s) {
  s.dormant_left = 0;
  intercept_on_this_thread = true;
  s.timing = IterationTiming::None;  // the iteration it wakes in is not timed from its start
  s.iteration_start = std::chrono::steady_clock::now();
}

void cross_while_dormant(State& s) {
  s.stats.iterations_eager++;
  s.stats.iterations_dormant++;
  tell(SessionEvent::IterationEnd, s.epoch, "");
  set_trace_epoch(++s.epoch);
  if (--s.dormant_left == 0) wake(s);
  tell(SessionEvent::IterationBegin, s.epoch, s.dormant_left > 0 ? "eager (dormant)" : "eager (waking)");
}

void start_iteration(State& s) {
  time_last_iteration(s);
  set_trace_epoch(++s.epoch);
  s.external_class.clear();
  s.traced_backwards.clear();
  if (s.mode == IterationMode::Eager) {
    go_dormant(s, kForever);
    return;
  }
  if (s.rest_left > 0) {
    s.rest_left--;
    s.mode = IterationMode::Resting;
    tell(SessionEvent::IterationBegin, s.epoch, "eager (backing off)");
    if (go_dormant(s, s.rest_left)) s.rest_left = 0;  // the last of them is the one it wakes in
    return;
  }
  if (s.graph.num_paths() > 0 && s.graph.stable(s.options.stable_after)) {
    if (s.options.replay_must_pay && s.pay.wants_eager()) {
      s.mode = IterationMode::Resting;
      s.timing = IterationTiming::PaidEager;
      tell(SessionEvent::IterationBegin, s.epoch, "eager (replay does not pay)");
      // This iteration and the `boundaries` after it go untimed.
      if (const int boundaries = s.pay.untimed_allowance() - 1; go_dormant(s, boundaries)) {
        s.pay.skip_eager(boundaries + 1);
        s.timing = IterationTiming::None;
      }
      return;
    }
    if (s.options.replay_must_pay) s.timing = IterationTiming::Replayed;
    s.mode = IterationMode::Replaying;
    s.cursor = s.graph.root();
    s.clear_ops();
    s.span_begin = 0;
    plan_forced_divergence(s);
    tell(SessionEvent::IterationBegin, s.epoch, asynchronous(s) ? "co-executed" : "replayed");
  } else {
    flush(s, "the loop is traced again");
    s.mode = IterationMode::Tracing;
    s.trace.records.clear();
    tell(SessionEvent::IterationBegin, s.epoch, "traced");
  }
}

namespace {

void note_fallback(State& s, std::string reason, uint64_t location) {
  tell(SessionEvent::Fallback, s.epoch, reason.c_str());
  s.stats.divergences++;
  s.stats.fallbacks.push_back({s.epoch, std::move(reason), location});
}

}  // namespace

// The replayed prefix becomes the start of this iteration's trace; the rest runs eagerly, traced.
void diverge(State& s, std::string reason, uint64_t location) {
  s.timing = IterationTiming::None;  // not a replayed iteration's time
  flush(s, "divergence");
  note_fallback(s, std::move(reason), location);
  s.trace.records.clear();
  for (const ReplayOp& op : s.ops) s.trace.records.push_back(s.graph.record(op.node));
  s.clear_ops();
  s.mode = IterationMode::Tracing;
}

namespace {

void note_growth(State& s, bool grew) {
  if (!grew) {
    s.growing_merges = s.rest_length = 0;
    return;
  }
  if (s.options.backoff_after <= 0 || ++s.growing_merges < s.options.backoff_after) return;
  s.growing_merges = 0;
  s.rest_length = s.rest_length == 0 ? s.options.backoff_after : std::min(2 * s.rest_length, kLongestRest);
  s.rest_left = s.rest_length;
  s.stats.fallbacks.push_back({s.epoch,
                               std::to_string(s.options.backoff_after) + " traced iterations in a row took new paths: the next " +
                                   std::to_string(s.rest_length) + " run eagerly, untraced",
                               s.trace.records.empty() ? 0 : s.trace.records.back().location});
}

// Replays kept per place (node and location) of a backward() call: a graph whose shape changes
// every iteration adds no more than these.
constexpr size_t kMaxReplaysPerCall = 8;

// A traced backward() call, now that its ops are TraceGraph nodes (the merged trace's `path`).
void keep_backward_replay(State& s, const std::vector<int>& path, State::TracedBackward t) {
  if (t.last > static_cast<int>(path.size())) return;
  t.replay.nodes.assign(path.begin() + t.first, path.begin() + t.last);
  const int before = t.first == 0 ? s.graph.root() : path[t.first - 1];
  std::vector<BackwardReplay>& known = s.backward_replays[{before, t.location}];
  for (const BackwardReplay& r : known)
    if (r.signature == t.replay.signature && r.nodes == t.replay.nodes) return;
  if (known.size() < kMaxReplaysPerCall) known.push_back(std::move(t.replay));
}

void merge_trace(State& s) {
  TraceGraph::MergeResult m = s.graph.merge(s.trace);
  if (m.end_node >= 0 && !s.traced_backwards.empty()) {
    const std::vector<int> path = s.graph.path_to(m.end_node);
    for (State::TracedBackward& t : s.traced_backwards) keep_backward_replay(s, path, std::move(t));
  }
  s.traced_backwards.clear();
  s.stats.iterations_traced++;
  if (m.end_node >= 0) note_growth(s, m.new_nodes > 0 || m.new_path);
  if (m.over_bound) {
    s.mode = IterationMode::Eager;
    s.stats.fallbacks.push_back({s.epoch,
                                 "more than " + std::to_string(s.options.max_paths) +
                                     " paths through the loop: it stays eager from here on",
                                 s.trace.records.empty() ? 0 : s.trace.records.back().location});
  }
  s.trace.records.clear();
}

}  // namespace

void finish_iteration(State& s) {
  switch (s.mode) {
    case IterationMode::Outside:
    case IterationMode::Eager:
    case IterationMode::Resting:
      s.stats.iterations_eager++;
      break;
    case IterationMode::Tracing:
      merge_trace(s);
      break;
    case IterationMode::Replaying:
      if (s.graph.ends_iteration(s.cursor)) {
        s.last_replay_length = s.ops.size();
        if (!s.ops.empty()) s.last_iteration_location = s.graph.record(s.ops.back().node).location;
        hand_over(s);
        s.stats.iterations_replayed++;
      } else {
        diverge(s, "the iteration ended where no traced iteration ended",
                s.ops.empty() ? 0 : s.graph.record(s.ops.back().node).location);
        merge_trace(s);
      }
      break;
  }
  if (s.mode != IterationMode::Eager) s.mode = IterationMode::Outside;
  tell(SessionEvent::IterationEnd, s.epoch, "");
}

// Every intercepted call starts here: asks where it comes from and ends/begins iterations.
uint64_t locate(State& s) {
  Location loc = location_now();
  // What runs after the loop (an evaluation after each epoch's batch loop) is no iteration's: the
  // one in progress ends before it, where the traced ones ended.
  if (loc.left_loop) {
    if (s.mode != IterationMode::Outside && s.mode != IterationMode::Eager) finish_iteration(s);
    s.loop_seen = false;  // the pass that finds the loop again runs before it is known
  }
  if (loc.new_iteration) {
    s.marked = false;
    if (s.mode != IterationMode::Outside) finish_iteration(s);
    // The first pass through the loop ran before the loop was known (found at its backward()).
    else if (!std::exchange(s.loop_seen, true)) s.stats.iterations_eager++;
    start_iteration(s);
  }
  s.call_location = loc.key;
  current_op_location = backward_of != 0 ? mix_keys(loc.key, backward_of) : loc.key;
  return current_op_location;
}

}  // namespace terra::trace::detail
