// A span of replayed ops as a graph::Program, compiled once per shape of span, handed to the
// executor as a SpanJob; and the drain that waits for submitted jobs.
//
// The span is ops[span_begin..]: their records are TraceGraph nodes. Inputs that the span does
// not compute (externals, outputs of earlier spans) are bound; outputs whose storage somebody
// still holds (Python, autograd, another view) are Kept and written into that very storage; the
// rest are Internal, so the compiler may fuse them away or place them in its arena. The plan is
// cached by everything that shapes the Program: the span's first and last node, which outputs are
// kept, and how the bound inputs alias. Floating-point attribute values are not part of it: they
// are passed to each run.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <unordered_map>
#include <utility>

#include "engine/graph/executor.hpp"
#include "engine/trace/session_state.hpp"
#include "kernels/cpu/parallel.hpp"

namespace terra::trace::detail {

namespace {

struct SpanProgram {
  graph::Program program;
  std::vector<Tensor> bound;
  std::vector<Storage> kept;
  std::vector<Attrs> runtime_attrs;  // by slot
  std::vector<int64_t> key;
};

// Two uses: the bindings and the cache key of a span (every flush), and, only when the key is new,
// the Program itself. Both walk the span the same way, so bound inputs and kept storages come in
// the same order as the Program's slots.
class SpanBuilder {
  static constexpr int64_t kRuntimeAttrsMark = int64_t{1} << 40;  // keeps these key entries apart

 public:
  SpanBuilder(State& s, bool with_program) : s_(s), full_(with_program) {}

  SpanProgram build() {
    const size_t begin = s_.span_begin, end = s_.ops.size();
    sp_.key.push_back(begin == 0 ? s_.graph.root() : s_.ops[begin - 1].node);
    sp_.key.push_back(s_.ops[end - 1].node);
    for (size_t i = s_.ops[begin].inputs_at; i < s_.bound_inputs.size(); ++i)
      if (s_.bound_inputs[i].defined()) bind(s_.bound_inputs[i]);
    sp_.program.num_bound = static_cast<int>(value_buffer_.size());
    first_output_.reserve(end - begin);
    for (size_t pos = begin; pos < end; ++pos) add_step(static_cast<int>(pos));
    sp_.program.num_kept = static_cast<int>(sp_.kept.size());
    return std::move(sp_);
  }

 private:
  int new_buffer(graph::BufferKind kind, size_t nbytes, Device device, int index) {
    if (full_) sp_.program.buffers.push_back(graph::Buffer{kind, nbytes, device, index});
    return num_buffers_++;
  }

  int buffer_for(const Storage& storage, graph::BufferKind kind) {
    auto [it, fresh] = buffer_of_.emplace(storage.get(), num_buffers_);
    if (!fresh) return it->second;
    const bool bound = kind == graph::BufferKind::Bound;
    const int index = static_cast<int>(bound ? sp_.bound.size() : sp_.kept.size());
    if (!bound) sp_.kept.push_back(storage);
    return new_buffer(kind, storage->nbytes(), storage->device(), index);
  }

  int new_value(int buffer, graph::Value v) {
    value_buffer_.push_back(buffer);
    if (full_) {
      v.buffer = buffer;
      sp_.program.values.push_back(std::move(v));
    }
    return static_cast<int>(value_buffer_.size()) - 1;
  }

  void bind(const Tensor& t) {
    auto [it, fresh] = bound_value_.emplace(t.impl(), static_cast<int>(value_buffer_.size()));
    if (!fresh) return;
    const int buffer = buffer_for(t.storage(), graph::BufferKind::Bound);
    // How bound inputs share storage; not where in it they start: passes treat a bound buffer as
    // a whole, and the executor takes each bound tensor as it is (a batch sliced at a new offset
    // every step reuses the plan).
    sp_.key.push_back(buffer);
    graph::Value v;
    if (full_) {
      v.meta = meta_of(t);
      v.bound = static_cast<int>(sp_.bound.size());
    }
    sp_.bound.push_back(t);
    new_value(buffer, std::move(v));
  }

  // The value id an op's input i reads: a bound tensor's, or an earlier step's output.
  int input_value(const ReplayOp& op, const InputSource& src, size_t i) const {
    if (src.kind == SourceKind::None) return -1;
    if (const Tensor& t = s_.bound_input(op, i); t.defined()) return bound_value_.at(t.impl());
    return first_output_.at(src.record - s_.span_begin) + src.output;
  }

  // Without the Program (a span whose plan is cached, the common case), only the bindings, the
  // key and the buffers of the values are kept track of: no Step is built.
  void add_step(int pos) {
    const ReplayOp& op = s_.ops[pos];
    const Record& rec = s_.graph.record(op.node);
    graph::Step step;
    // Floating-point attributes whose values differ from the traced ones (Note [Runtime
    // attributes] in record.cpp) are passed to each run, so one plan serves a learning rate that
    // changes every step; values that never change stay constants the passes may use.
    if (op.attrs) {
      step.runtime_attrs = static_cast<int>(sp_.runtime_attrs.size());
      sp_.runtime_attrs.push_back(*op.attrs);
      sp_.key.push_back(kRuntimeAttrsMark - (pos - static_cast<int>(s_.span_begin)));
    }
    if (full_) {
      step.inputs.reserve(rec.inputs.size());
      for (size_t i = 0; i < rec.inputs.size(); ++i) step.inputs.push_back(input_value(op, rec.inputs[i], i));
      step.outputs.reserve(rec.outputs.size());
    }
    first_output_.push_back(static_cast<int>(value_buffer_.size()));
    const int step_index = static_cast<int>(sp_.program.steps.size());
    for (size_t o = 0; o < rec.outputs.size(); ++o) {
      const OutputInfo& info = rec.outputs[o];
      int buffer;
      if (info.alias_input >= 0) {
        buffer = value_buffer_[input_value(op, rec.inputs.at(info.alias_input), info.alias_input)];
      } else if (Storage held = s_.output_storages[op.outputs_at + o].lock()) {
        buffer = buffer_for(held, graph::BufferKind::Kept);
        sp_.key.push_back(-1 - buffer);  // which outputs are kept
      } else {
        buffer = new_buffer(graph::BufferKind::Internal, bytes_spanned(info.meta), info.meta.device, -1);
      }
      graph::Value v;
      if (full_) {
        v.meta = info.meta;
        v.producer = step_index;
      }
      const int value = new_value(buffer, std::move(v));
      if (full_) step.outputs.push_back(value);
    }
    if (!full_) return;
    step.op = rec.op;
    step.form = rec.form;
    step.attrs = rec.attrs;
    step.record = pos;
    step.location = rec.location;
    sp_.program.steps.push_back(std::move(step));
  }

  State& s_;
  const bool full_;
  SpanProgram sp_;
  int num_buffers_ = 0;
  std::vector<int> value_buffer_;  // per value id
  std::vector<int> first_output_;  // per op of the span: the value id of its output 0
  std::unordered_map<const StorageImpl*, int> buffer_of_;
  std::unordered_map<const TensorImpl*, int> bound_value_;
};

void evict_least_recently_used(State& s) {
  auto oldest = s.plans.begin();
  for (auto it = s.plans.begin(); it != s.plans.end(); ++it)
    if (it->second.last_use < oldest->second.last_use) oldest = it;
  s.plans.erase(oldest);
}

std::shared_ptr<PlanSlot> plan_for(State& s, SpanProgram& sp) {
  auto it = s.plans.find(sp.key);
  if (it == s.plans.end()) {
    sp = SpanBuilder(s, true).build();
    if (s.plans.size() >= State::kMaxPlans) evict_least_recently_used(s);
    auto slot = std::make_shared<PlanSlot>();
    slot->before = std::move(sp.program);
    slot->options.fusion = s.options.fusion;
    slot->options.memory_planning = s.options.memory_planning;
    slot->options.check_nvrtc = s.options.check_nvrtc;
    it = s.plans.emplace(sp.key, State::CachedPlan{std::move(slot), 0}).first;
    s.stats.plans_compiled++;
  }
  it->second.last_use = ++s.flushes;
  return it->second.slot;
}

// A copy of the bytes `t` reads, as a tensor of the same shape and strides.
Tensor snapshot(const Tensor& t) {
  ValueMeta from_start = meta_of(t);
  from_start.offset = 0;
  const size_t nbytes = bytes_spanned(from_start);
  if (nbytes == 0) return t;
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<StorageImpl>(nbytes, t.device());
  impl->shape = t.shape();
  impl->strides = t.strides();
  impl->dtype = t.dtype();
  std::memcpy(impl->storage->data_unsynced(), static_cast<const char*>(t.storage()->data()) + t.offset() * t.itemsize(),
              nbytes);
  return Tensor(std::move(impl));
}

// Note [Memory numpy can reach]: Python may read or write a numpy array that a tensor borrows (or
// that `.numpy()` handed out) at any moment, unseen. A queued span reads such bytes as they were
// when its ops were issued, as eager would have: it reads a snapshot taken now. An op that writes
// them runs before Python goes on (the session flushes right after queuing it), so Python never
// reads them stale or half-updated.
void snapshot_host_visible(const State& s, std::vector<Tensor>& bound) {
  if (!s.executor->asynchronous()) return;
  // A storage this span writes is pending (mark_written), and is read as it stands.
  for (Tensor& t : bound)
    if (t.storage()->host_visible() && !t.storage()->pending()) t = snapshot(t);
}

void retire(State& s, const SpanJob& job) {
  s.stats.spans_run++;
  s.stats.compile_seconds += job.compile_seconds;
  s.stats.fused_groups += job.fused_groups;
  s.stats.nvrtc_kernels += job.nvrtc_kernels;
  s.stats.cuda_graph_captures += job.cuda_graph_captures;
  s.stats.cuda_graph_replays += job.cuda_graph_replays;
  s.stats.side_by_side_runs += job.side_by_side_runs;
  s.stats.graph_seconds += job.run_seconds;
  double& fastest = job.plan->fastest_run_seconds;
  if (fastest < 0 || job.run_seconds < fastest) fastest = job.run_seconds;
}

// DESIGN.md §11: an error found while a span ran surfaces where Python syncs, naming the op's
// own source line.
[[noreturn]] void raise_from_span(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const graph::StepError& e) {
    throw Error(e.kind(), e.message() + " [the op was called at " + describe_location(e.location) +
                              "; its deferred work ran later, so the error is raised here]",
                e.op());
  }
}

// Finished jobs let go of their inputs here, on Python's thread (memory borrowed from numpy takes
// the GIL to be released).
void retire_finished(State& s) {
  while (!s.submitted.empty() && s.submitted.front()->done.load(std::memory_order_acquire) &&
         !s.submitted.front()->error) {
    retire(s, *s.submitted.front());
    s.submitted.pop_front();
  }
}

// The validated span as a job nobody has seen yet, and the storages to settle once it ran.
struct PreparedSpan {
  std::shared_ptr<SpanJob> job;
  std::vector<Storage> settles;
};

PreparedSpan prepare_span(State& s) {
  SpanProgram sp = SpanBuilder(s, false).build();
  auto job = std::make_shared<SpanJob>();
  job->plan = plan_for(s, sp);
  job->seq = s.next_seq++;
  job->iteration = s.epoch;
  job->num_ops = static_cast<int>(s.ops.size() - s.span_begin);
  snapshot_host_visible(s, sp.bound);
  job->bound = std::move(sp.bound);
  job->kept.reserve(sp.kept.size());
  for (const Storage& st : sp.kept) job->kept.push_back({st, st->nbytes(), st->device()});
  job->runtime_attrs = std::move(sp.runtime_attrs);
  // The span's inputs need not live any longer than Python keeps them: the job holds what it reads.
  for (size_t i = s.ops[s.span_begin].inputs_at; i < s.bound_inputs.size(); ++i) s.bound_inputs[i] = Tensor();
  s.span_begin = s.ops.size();
  std::vector<Storage> settles = std::move(sp.kept);
  settles.insert(settles.end(), s.pending_bound.begin(), s.pending_bound.end());
  s.pending_bound.clear();
  s.span_mark = State::next_span_mark();
  return {std::move(job), std::move(settles)};
}

void enqueue(State& s, PreparedSpan span) {
  s.unsettled.insert(s.unsettled.end(), span.settles.begin(), span.settles.end());
  if (!s.submitted.empty()) span.job->previous = s.submitted.back();
  s.submitted.push_back(span.job);
  // A job a fetch ran to its end needs nobody else (Note [A fetch runs only what it reads]).
  if (!span.job->done.load(std::memory_order_acquire)) s.executor->submit(std::move(span.job));
}

// Every submitted job has run: what they wrote is readable, except what carries the span mark
// `still_written` (a job not yet run writes it again; it stays in `unsettled`) and where an error
// stopped a job before it allocated its outputs (those stay pending, and reading them says why).
void settle(State& s, uint64_t still_written = 0) {
  std::vector<std::weak_ptr<StorageImpl>> kept;
  for (const std::weak_ptr<StorageImpl>& weak : s.unsettled) {
    Storage written = weak.lock();
    if (!written) continue;
    if (still_written != 0 && written->span_mark == still_written) kept.push_back(weak);
    else if (written->allocated()) written->set_pending(false);
  }
  s.unsettled.swap(kept);
}

// Runs `wait` with the GIL let go and books the time against the sync point (--explain).
void timed_wait(State& s, const char* why, void (*wait)(void*), void* arg) {
  tell_sync(s, why);
  const auto t0 = std::chrono::steady_clock::now();
  {
    const cpu::ReservedCoresReleased released;  // Note [A core for the interpreter] (actors/graph_actor.cpp)
    wait_blocking(wait, arg);
  }
  const double waited = seconds_since(t0);
  s.stats.wait_seconds += waited;
  SyncPoint& p = s.sync_points[{source_line(), why}];
  p.count++;
  p.seconds += waited;
}

}  // namespace

void submit_span(State& s) {
  retire_finished(s);
  if (s.span_begin < s.ops.size()) enqueue(s, prepare_span(s));
}

// Note [A fetch runs only what it reads]: a loop that reads its loss every step (`loss.item()`
// after backward() and the optimizer's step) issues the whole iteration before its one fetch, and
// the loss is written by the span's first few kernels. Waiting for the whole span would leave the
// graph nothing to overlap with Python: the waiter would run forward, backward and update while
// Python stands still. So Python runs the span's schedule only up to the last kernel that writes
// the fetched storage, on its own thread (every earlier job has run by then: the graph actor is
// idle, and waking it to run a short prefix would cost more than the prefix), settles that one
// storage, and hands the job, part-run, to the graph actor, which runs the rest while Python goes
// on. Only the current span's Kept storages take this path, and only once the span's plan is
// compiled and every earlier job succeeded; everything else drains as before.
//
// Handing the rest over is worth it only when it takes longer than what running two threads
// costs: on the two-core machines we measure on, a graph actor working (or spinning) beside
// Python slows Python's own op issue by ~40 µs per iteration (the regression benchmark: Python
// issues an iteration in ~50 µs alone, ~100 µs while the actor runs the 35 µs rest of the last
// one). Not the cores: a busy process on the other core leaves eager runs as fast as alone. What
// the two threads share is: glibc's arena locks, taken when one frees what the other allocated
// (this Execution is made here and ends on the actor; ~3 futex calls per iteration, most under
// ~Execution), the CPU arena's free lists (a spin lock now), and cache lines of shared tensors.
// So a span whose fastest run of the same shape took less than
// Options::inline_span_seconds (100 µs) runs to its end at the fetch, as replay would run it
// (the fastest: a run the scheduler interrupted says nothing about the span).
bool fetch_from_span(State& s, const StorageImpl& st) {
  if (!s.executor->asynchronous() || s.span_begin >= s.ops.size() || !s.span_writes(st)) return false;
  retire_finished(s);
  const uint64_t current_writes = s.span_mark;  // prepare_span gives the next span a new one
  PreparedSpan span = prepare_span(s);
  struct Fetch {
    State& s;
    SpanJob& job;
    const StorageImpl& st;
    bool read = false;  // the first piece ran and wrote `st`
  } fetch{s, *span.job, st};
  timed_wait(s, "fetch", [](void* arg) {
    Fetch& f = *static_cast<Fetch*>(arg);
    f.s.executor->wait(f.s.submitted);
    for (const auto& job : f.s.submitted)
      if (job->error) return;  // the caller drains and raises it
    const int last = f.job.written_by(f.st);
    if (last < 0) return;
    const double took = f.job.plan->fastest_run_seconds;
    const bool short_span = took >= 0 && took < f.s.options.inline_span_seconds;
    const size_t end = short_span ? SIZE_MAX : static_cast<size_t>(last) + 1;
    const bool whole = end >= f.job.plan->plan->schedule.size();
    const std::string what = (whole ? "run " : "run part of ") + std::to_string(f.job.num_ops) + " ops";
    tell_work(f.s, true, what.c_str());
    f.job.run_until(end);
    tell_work(f.s, false, f.job.error ? "failed" : "");
    f.read = !f.job.error;
  }, &fetch);
  if (fetch.read) {
    settle(s, current_writes);  // every earlier job has run; this one writes those again
    const_cast<StorageImpl&>(st).set_pending(false);
  }
  enqueue(s, std::move(span));
  return fetch.read;
}

void drain(State& s, const char* why) {
  if (s.submitted.empty() && s.unsettled.empty()) return;
  if (!s.submitted.empty() && s.executor->asynchronous())
    timed_wait(s, why, [](void* state) {
      State& st = *static_cast<State*>(state);
      st.executor->wait(st.submitted);
    }, &s);
  settle(s);
  std::exception_ptr error;
  for (const auto& job : s.submitted) {
    retire(s, *job);
    if (job->error && !error) error = job->error;
  }
  s.submitted.clear();
  if (error) raise_from_span(error);
}

void wait_for_oldest(State& s, size_t in_flight, const char* why) {
  retire_finished(s);
  while (s.submitted.size() > in_flight) {
    struct Oldest {
      State& s;
      std::deque<std::shared_ptr<SpanJob>> jobs;
    } oldest{s, {s.submitted.front()}};
    timed_wait(s, why, [](void* arg) {
      Oldest& o = *static_cast<Oldest*>(arg);
      o.s.executor->wait(o.jobs);
    }, &oldest);
    if (s.submitted.front()->error) return drain(s, why);
    retire_finished(s);
  }
}

}  // namespace terra::trace::detail
