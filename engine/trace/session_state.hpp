// The tracing session's state and the pieces its files share (engine/trace/session.cpp runs the
// dispatcher's interception, iteration.cpp the iteration life cycle; backward_call.cpp traces and replays
// whole backward() calls; span_runner.cpp turns a span of replayed ops into a graph::Program and
// runs its compiled plan). Internal to engine/trace.
#pragma once
#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <unordered_map>
#include <vector>

#include "engine/graph/compile.hpp"
#include "engine/graph/executor.hpp"
#include "engine/graph/plan.hpp"
#include "engine/trace/backward_replay.hpp"
#include "engine/trace/pay_check.hpp"
#include "engine/trace/record.hpp"
#include "engine/trace/session.hpp"
#include "engine/trace/span_job.hpp"
#include "engine/trace/trace_graph.hpp"

namespace terra::trace::detail {

enum class IterationMode {
  Outside,    // between iterations, or before the hot loop is known: plain eager
  Eager,      // past the path bound: plain eager for good
  Resting,    // plain eager for this iteration, untraced (Note [Backing off] in iteration.cpp, or
              // Note [Replay must pay] in pay_check.hpp)
  Tracing,    // eager, and every op appended to the trace
  Replaying,  // ops matched against the TraceGraph and deferred
};

// How the iteration running now counts for Note [Replay must pay] (pay_check.hpp).
enum class IterationTiming { None, Replayed, PaidEager };

// An op of the iteration being replayed.
struct ReplayOp {
  int node = -1;  // the TraceGraph node it matched
  std::optional<Attrs> attrs;  // as called, when they differ from the node's (runtime attributes)
  // Where its inputs and outputs start in State::bound_inputs and State::output_storages (an
  // entry per input and per output of the node's record): pooled there, so that replaying an op
  // allocates nothing of its own.
  uint32_t inputs_at = 0, outputs_at = 0;
  bool ran_eagerly = false;  // a data-dependent op, run at call time
};

struct State {
  // Ops run by other threads are eager, but may read tensors this session deferred: their reads
  // flush under this lock (recursive: a flush inside an intercepted call reads again).
  std::recursive_mutex mutex;
  Options options;
  TraceGraph graph;
  Stats stats;
  IterationMode mode = IterationMode::Outside;
  // Note [Backing off]: traced iterations in a row that added to the TraceGraph, the length of
  // the current stretch of untraced iterations and how many of them are left.
  int growing_merges = 0;
  int rest_length = 0;
  int rest_left = 0;
  PayCheck pay;  // Note [Replay must pay]
  IterationTiming timing = IterationTiming::None;
  std::chrono::steady_clock::time_point iteration_start = std::chrono::steady_clock::now();
  uint64_t last_iteration_location = 0;  // of the last replayed iteration's last op: where verdicts point
  bool loop_seen = false;  // the location provider has reported an iteration boundary
  bool marked = false;     // the current iteration began at an explicit mark (begin_iteration)
  int dormant_left = 0;    // Note [Dormant stretches]: boundaries to sleep through
  uint32_t epoch = 0;
  uint32_t first_epoch = 1;  // tensors born before it were made before the session: parameters
  // Externals of the current iteration, by storage, in order of first use (InputSource::alias).
  std::unordered_map<const StorageImpl*, std::pair<std::weak_ptr<StorageImpl>, int>> external_class;

  Trace trace;  // Tracing: the records so far
  std::vector<InputSource> call_sources;  // Replaying: the current call's inputs, classified

  int cursor = 0;                      // Replaying: the last matched node
  std::vector<ReplayOp> ops;           // Replaying: this iteration's ops so far
  // Per input of each op of `ops`, the tensor itself when the plan must take it as given:
  // externals and outputs of ops that ran in an earlier span (held, so they outlive Python's
  // references); undefined for the others.
  std::vector<Tensor> bound_inputs;
  // Per output of each op of `ops`, the storage handed out; weak, so a flush can tell which ones
  // anybody (Python, autograd, a view) still holds.
  std::vector<std::weak_ptr<StorageImpl>> output_storages;
  void clear_ops() {
    ops.clear();
    bound_inputs.clear();
    output_storages.clear();
  }
  const Tensor& bound_input(const ReplayOp& op, size_t i) const { return bound_inputs[op.inputs_at + i]; }
  size_t span_begin = 0;               // first op whose work has not run
  std::vector<Storage> pending_bound;  // real storages the current span's deferred writes made pending
  // Every storage the current span writes (its outputs' and pending_bound) carries this mark
  // (StorageImpl::span_mark): a tensor over one of them that reaches an op as an external input
  // (made without an op) needs the span run first. A new span takes a new mark, unique in the
  // process, so marks of earlier spans and sessions never match.
  uint64_t span_mark = next_span_mark();
  void mark_span_write(const StorageImpl& st) const { st.span_mark = span_mark; }
  bool span_writes(const StorageImpl& st) const { return st.span_mark == span_mark; }
  static uint64_t next_span_mark() {
    static std::atomic<uint64_t> last{0};
    return last.fetch_add(1, std::memory_order_relaxed) + 1;
  }
  // The op being matched writes memory numpy can reach (Note [Memory numpy can reach]): its span
  // runs as soon as the op is queued.
  bool writes_host_visible = false;

  // Where spans run (InlineExecutor: at once; co-execution: the graph actor's queue), the spans
  // handed to it and not yet retired, and the pending storages they write: those are settled
  // (marked not pending) only once every submitted span has run, since a later span may write
  // the same storage again.
  std::shared_ptr<SpanExecutor> executor = std::make_shared<InlineExecutor>();
  std::deque<std::shared_ptr<SpanJob>> submitted;
  std::vector<std::weak_ptr<StorageImpl>> unsettled;  // weakly, like SpanJob::kept
  uint64_t next_seq = 1;

  // Compiled plans by the span's shape. Bounded (a program whose spans keep changing shape would
  // otherwise grow it without end); the least recently used goes first.
  struct CachedPlan {
    std::shared_ptr<PlanSlot> slot;
    uint64_t last_use = 0;
  };
  static constexpr size_t kMaxPlans = 64;
  std::map<std::vector<int64_t>, CachedPlan> plans;
  uint64_t flushes = 0;
  // Keys of gradient ops: (the Python location of backward(), the forward op's key). Filled as
  // records are made (describe_call), from the current call's Python location:
  std::unordered_map<uint64_t, std::pair<uint64_t, uint64_t>> derived;
  uint64_t call_location = 0;

  // Note [Replaying backward] (backward_replay.cpp): the capture of the backward() call being traced
  // (null outside one), the calls traced this iteration (their nodes known once it is merged), and
  // the replays, by the node before the call and the call's location.
  BackwardCapture* capture = nullptr;
  struct TracedBackward {
    int first = 0, last = 0;  // the call's records
    uint64_t location = 0;
    BackwardReplay replay;
  };
  std::vector<TracedBackward> traced_backwards;
  std::map<std::pair<int, uint64_t>, std::vector<BackwardReplay>> backward_replays;
  // Why backward() calls ran through the autograd engine, by the call's location (the first
  // reason each, a few places at most): --explain.
  std::map<uint64_t, const char*> backward_refusals;

  // --explain: where Python waited for the graph, by source line and reason.
  std::map<std::pair<std::string, std::string>, SyncPoint> sync_points;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  // The test switch (Options::force_divergence_seed): the replayed iteration and op that declare a
  // mismatch, drawn once per session.
  std::mt19937_64 rng;
  int forced_iteration = -1;  // counts replayed iterations
  int forced_op = -1;
  bool forced_done = false;
  int replayed_iterations_begun = 0;
  size_t last_replay_length = 0;

  explicit State(const Options& o) : options(o), graph(o.max_paths), rng(o.force_divergence_seed) {}
};

State& state();
State* state_if_any();  // null with no session
// The session's lock, taken as every entry point takes it (lock_session in session.cpp).
std::unique_lock<std::recursive_mutex> lock(State& s);
// Runs (or waits for) all deferred work: every tensor is readable afterwards.
void flush_all(State& s, const char* why);

// Hands the work of ops[span_begin..] (the validated span) to the executor: builds the span's
// bindings and cache key (and its Program the first time that key is seen).
void submit_span(State& s);
// A fetch of `st`, written by the current span: runs the span only as far as `st` needs, on
// Python's thread, and hands the rest to the executor (Note [A fetch runs only what it reads] in
// span_runner.cpp). False when that does not apply (nothing changed then but the span's hand-over:
// the caller drains).
bool fetch_from_span(State& s, const StorageImpl& st);
// Waits for every submitted span (the GIL let go), settles the storages they wrote and raises the
// first error one of them met. `why` names the sync point for --explain.
void drain(State& s, const char* why);
// Waits (the GIL let go) until at most `in_flight` submitted spans are left unfinished, oldest
// first, so that the graph keeps work queued while Python goes on; raises a span's error as drain.
void wait_for_oldest(State& s, size_t in_flight, const char* why);

// ----- the iteration life cycle (iteration.cpp) -----

// Whether spans run on the graph actor (co-execution) rather than at once (replay).
bool asynchronous(const State& s);
// Tells the dispatcher's other threads whether work is queued (hook.hpp's work_queued).
void update_work_queued(const State& s);
// Runs (or waits for) all deferred work: every tensor is readable afterwards.
void flush(State& s, const char* why);
// Hands the validated span to the executor (replay: runs it); co-execution waits for the oldest
// span where Python ran more than Options::max_spans_ahead spans ahead.
void hand_over(State& s);
// Before an op runs eagerly on Python's thread: queued spans may read what it writes.
void settle_before_eager(State& s, const OpDef& op);
// Whether this iteration's ops run eagerly (outside the loop, past the path bound, resting).
bool runs_eagerly(const State& s);
// The replayed prefix becomes the start of this iteration's trace; the rest runs eagerly, traced.
void diverge(State& s, std::string reason, uint64_t location);
// An iteration begins: decides how it runs. Ends: merges its trace or hands its span over.
void start_iteration(State& s);
void finish_iteration(State& s);
// Note [Dormant stretches] (iteration.cpp): a boundary crossed while dormant, and waking up.
void cross_while_dormant(State& s);
void wake(State& s);

// ----- what session.cpp keeps for the life cycle -----

// Tells the event sink (the actor trace's interpreter lane), if any.
void tell(SessionEvent event, uint32_t iteration, const char* detail);
// The location provider's answer now (key 0, no boundaries without one).
Location location_now();
// Whether the provider reports boundaries while the session is dormant (set_location_provider).
bool provider_sees_boundaries_when_dormant();

// ----- the record keeping of session.cpp that backward_call.cpp shares -----

// Every intercepted call starts here: asks the provider where it comes from, ends and begins
// iterations, and gives the call's location key.
uint64_t locate(State& s);
// The position the next op takes: among the replayed ops, or among the traced records.
int next_position(const State& s);
// Where `t` came from, as classify() says, but joining no alias class (an external input seen for
// the first time has alias -1).
InputSource source_of(const State& s, const Tensor& t);
// `slot`: where this input is used (record position * 64 + input index); the first use of a
// storage among the iteration's externals names its alias class.
InputSource classify(State& s, const Tensor& t, int slot);
// Runs the current span first where one of `inputs` is a tensor it has yet to compute that was
// made without an op (`t.data`), so that it can be bound.
void settle_external_inputs(State& s, const std::vector<Tensor>& inputs);
// A replayed op's output, its storage deferred (or the aliased input's).
Tensor deferred_output(const OutputInfo& info, const std::vector<Tensor>& inputs);
// A deferred write to `t`, which may hold real data: reads of it wait for the span.
void mark_written(State& s, const Tensor& t);
// Writes down a replayed op: its node, the inputs the plan must take as given, its outputs.
void record_replayed(State& s, int node, std::optional<Attrs> attrs, const std::vector<Tensor>& inputs,
                     const Tensor* outputs, size_t num_outputs, bool ran_eagerly);
// After replayed ops were written down: runs their span at once where numpy can see what it
// writes, or hands it over once it is long enough.
void after_replayed(State& s, bool ran_eagerly);

// Runs wait(arg) through the embedding's BlockingCall (the GIL let go).
void wait_blocking(void (*wait)(void*), void* arg);
// Tells the event sink (if any) that Python syncs with the graph here, and why.
void tell_sync(const State& s, const char* why);
// Tells the event sink that Python's thread starts (`what`) or ends running a span's work itself.
void tell_work(const State& s, bool begin, const char* what);
// The user's source line now, for --explain ("?" without a provider).
std::string source_line();

}  // namespace terra::trace::detail
