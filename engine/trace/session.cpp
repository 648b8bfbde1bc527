#include "engine/trace/session.hpp"

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>

#include "engine/autograd/grad_mode.hpp"
#include "engine/autograd/record.hpp"
#include "engine/dispatch/dispatcher.hpp"
#include "engine/trace/hook.hpp"
#include "engine/trace/session_state.hpp"

namespace terra::trace {

using detail::IterationMode;
using detail::ReplayOp;
using detail::State;

namespace {

std::unique_ptr<State> g_state;
LocationProvider g_provider = nullptr;

// ----- records -----

int next_position(const State& s) {
  return static_cast<int>(s.mode == IterationMode::Replaying ? s.ops.size() : s.trace.records.size());
}

// `slot`: where this input is used (record position * 64 + input index); the first use of a
// storage among the iteration's externals names its alias class.
InputSource classify(State& s, const Tensor& t, int slot) {
  InputSource src;
  if (!t.defined()) return src;
  const TraceTag& tag = t.impl()->trace;
  if (tag.epoch == s.epoch && tag.record >= 0) {
    src.kind = SourceKind::Internal;
    src.record = tag.record;
    src.output = tag.output;
    return src;
  }
  if (tag.born < s.first_epoch)
    src.kind = SourceKind::Parameter;
  else if (tag.born == s.epoch)
    src.kind = SourceKind::Feed;
  else
    src.kind = SourceKind::Carried;
  // A dead storage's address can come back for a new one: an entry counts only while its storage
  // lives (held weakly, so the session keeps no input alive).
  auto [it, first_use] = s.external_class.try_emplace(t.storage().get(), t.storage(), slot);
  if (!first_use && it->second.first.expired()) it->second = {t.storage(), slot};
  src.alias = it->second.second;
  return src;
}

// The record of a call, without its outputs: what a TraceGraph node is matched on.
Record describe_call(State& s, const OpDef& op, CallForm form, const std::vector<Tensor>& inputs, const Attrs& attrs,
                     uint64_t location) {
  Record r;
  r.op = &op;
  r.form = form;
  r.attrs = attrs;
  r.location = location;
  r.inputs.reserve(inputs.size());
  r.input_metas.reserve(inputs.size());
  const int pos = next_position(s);
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& t = inputs[i];
    r.inputs.push_back(classify(s, t, pos * 64 + static_cast<int>(std::min<size_t>(i, 63))));
    r.input_metas.push_back(t.defined() ? std::optional<ValueMeta>(meta_of(t)) : std::nullopt);
  }
  r.finish_key();
  return r;
}

OutputInfo output_info(const Tensor& out, const std::vector<Tensor>& inputs) {
  OutputInfo info;
  info.meta = meta_of(out);
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined()) continue;
    if (info.alias_input < 0 && out.shares_storage(inputs[i])) info.alias_input = static_cast<int>(i);
    if (info.same_as_input < 0 && out.is_same(inputs[i])) info.same_as_input = static_cast<int>(i);
  }
  return info;
}

void tag(const Tensor& t, State& s, int record, int output) {
  t.impl()->trace.epoch = s.epoch;
  t.impl()->trace.record = record;
  t.impl()->trace.output = output;
}

void append_traced(State& s, Record r, const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs) {
  const int pos = next_position(s);
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (!outputs[i].defined()) {
      r.outputs.push_back({});
      continue;
    }
    r.outputs.push_back(output_info(outputs[i], inputs));
    tag(outputs[i], s, pos, static_cast<int>(i));
  }
  s.trace.records.push_back(std::move(r));
}

// ----- deferred outputs -----

Tensor deferred_output(const OutputInfo& info, const std::vector<Tensor>& inputs) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = info.alias_input >= 0
                      ? inputs.at(info.alias_input).storage()
                      : std::make_shared<StorageImpl>(bytes_spanned(info.meta), info.meta.device, StorageImpl::Deferred{});
  impl->shape = info.meta.shape;
  impl->strides = info.meta.strides;
  impl->offset = info.meta.offset;
  impl->dtype = info.meta.dtype;
  return Tensor(std::move(impl));
}

// A deferred write to a tensor that may hold real data: reads of it must wait for the flush.
void mark_written(State& s, const Tensor& t) {
  const Storage& st = t.storage();
  if (st->pending()) return;
  st->set_pending(true);
  s.pending_bound.push_back(st);
}

bool data_dependent(const OpDef& op, const std::vector<Tensor>& inputs, const Attrs& attrs) {
  return op.data_dependent && op.data_dependent(inputs, attrs);
}

// ----- iterations -----

void flush(State& s) {
  if (s.mode == IterationMode::Replaying) detail::run_span(s);
}

void begin(State& s) {
  set_trace_epoch(++s.epoch);
  s.external_class.clear();
  if (s.mode == IterationMode::Eager) return;
  if (s.graph.num_paths() > 0 && s.graph.stable(s.options.stable_after)) {
    s.mode = IterationMode::Replaying;
    s.cursor = s.graph.root();
    s.ops.clear();
    s.span_begin = 0;
  } else {
    s.mode = IterationMode::Tracing;
    s.trace.records.clear();
  }
}

void note_fallback(State& s, std::string reason, uint64_t location) {
  s.stats.divergences++;
  s.stats.fallbacks.push_back({s.epoch, std::move(reason), location});
}

// The replayed prefix becomes the start of this iteration's trace; the rest runs eagerly, traced.
void diverge(State& s, std::string reason, uint64_t location) {
  flush(s);
  note_fallback(s, std::move(reason), location);
  s.trace.records.clear();
  for (const ReplayOp& op : s.ops) s.trace.records.push_back(s.graph.record(op.node));
  s.ops.clear();
  s.mode = IterationMode::Tracing;
}

void merge_trace(State& s) {
  TraceGraph::MergeResult m = s.graph.merge(s.trace);
  s.stats.iterations_traced++;
  if (m.over_bound) {
    s.mode = IterationMode::Eager;
    s.stats.fallbacks.push_back({s.epoch,
                                 "more than " + std::to_string(s.options.max_paths) +
                                     " paths through the loop: it stays eager from here on",
                                 s.trace.records.empty() ? 0 : s.trace.records.back().location});
  }
  s.trace.records.clear();
}

void end(State& s) {
  switch (s.mode) {
    case IterationMode::Outside:
    case IterationMode::Eager:
      s.stats.iterations_eager++;
      break;
    case IterationMode::Tracing:
      merge_trace(s);
      break;
    case IterationMode::Replaying:
      if (s.graph.ends_iteration(s.cursor)) {
        flush(s);
        s.stats.iterations_replayed++;
      } else {
        diverge(s, "the iteration ended where no traced iteration ended",
                s.ops.empty() ? 0 : s.graph.record(s.ops.back().node).location);
        merge_trace(s);
      }
      break;
  }
  if (s.mode != IterationMode::Eager) s.mode = IterationMode::Outside;
}

// Every intercepted call starts here: asks where it comes from and ends/begins iterations.
uint64_t locate(State& s) {
  Location loc = g_provider ? g_provider() : Location{};
  if (loc.new_iteration) {
    if (s.mode != IterationMode::Outside) end(s);
    begin(s);
  }
  uint64_t key = loc.key;
  if (backward_of != 0) {
    key = mix_keys(loc.key, backward_of);
    if (s.mode == IterationMode::Tracing) s.derived.emplace(key, std::make_pair(loc.key, backward_of));
  }
  current_op_location = key;
  return key;
}

// Type promotion's conversions as calls of their own, so tracing and replay see (and autograd
// records) exactly what eager dispatch would do inside the op.
Inferred convert_inputs(const OpDef& op, std::vector<Tensor>& inputs, const Attrs& attrs) {
  Inferred inf = check_call(op, inputs, attrs);
  if (inf.input_dtypes.empty()) return inf;
  for (size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].defined() && inputs[i].dtype() != inf.input_dtypes[i]) inputs[i] = cast_to(inputs[i], inf.input_dtypes[i]);
  return inf;
}

// A runtime attribute can change what the op makes (a scale factor): the node's outputs must be
// what the shape rule says now.
bool same_outputs(const Inferred& inf, const Record& node_record) {
  if (inf.outputs.size() != node_record.outputs.size()) return false;
  for (size_t i = 0; i < inf.outputs.size(); ++i)
    if (inf.outputs[i].shape != node_record.outputs[i].meta.shape || inf.outputs[i].dtype != node_record.outputs[i].meta.dtype)
      return false;
  return true;
}

std::string mismatch_reason(const State& s, const Record& r) {
  std::ostringstream os;
  os << "new path: " << r.str();
  const auto& kids = s.graph.children(s.cursor);
  if (!kids.empty()) os << " (expected " << s.graph.record(kids.front()).str() << ")";
  if (kids.empty() && s.graph.ends_iteration(s.cursor)) os << " (traced iterations ended here)";
  return os.str();
}

// A tensor made from a deferred one without an op (`t.data`, a Python-side alias) is an external
// input whose bytes this span has yet to compute: run the span first so it can be bound.
void settle_external_inputs(State& s, const std::vector<Tensor>& inputs) {
  for (const Tensor& t : inputs) {
    if (!t.defined() || !t.storage()->pending()) continue;
    const TraceTag& tag = t.impl()->trace;
    if (tag.epoch != s.epoch || tag.record < 0) return flush(s);
  }
}

// Matches a call against the TraceGraph; on a mismatch the iteration diverges and -1 comes back.
int match(State& s, const Record& r) {
  int node = s.graph.find_child(s.cursor, r);
  if (node < 0) diverge(s, mismatch_reason(s, r), r.location);
  return node;
}

void push_replayed(State& s, int node, const Record& r, const std::vector<Tensor>& inputs,
                   const std::vector<Tensor>& outputs, bool ran_eagerly) {
  const int pos = static_cast<int>(s.ops.size());
  ReplayOp op;
  op.node = node;
  op.attrs = r.attrs;
  op.ran_eagerly = ran_eagerly;
  op.bound.resize(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const InputSource& src = r.inputs[i];
    if (src.kind == SourceKind::None) continue;
    if (src.kind != SourceKind::Internal || src.record < static_cast<int>(s.span_begin)) op.bound[i] = inputs[i];
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    op.output_storages.push_back(outputs[i].defined() ? outputs[i].storage() : nullptr);
    if (outputs[i].defined()) tag(outputs[i], s, pos, static_cast<int>(i));
  }
  s.ops.push_back(std::move(op));
  s.cursor = node;
  s.stats.ops_replayed++;
  if (ran_eagerly) s.span_begin = s.ops.size();
}

std::vector<Tensor> deferred_outputs(const Record& node_record, const std::vector<Tensor>& inputs) {
  std::vector<Tensor> outs;
  outs.reserve(node_record.outputs.size());
  for (const OutputInfo& info : node_record.outputs)
    outs.push_back(info.same_as_input >= 0 ? inputs.at(info.same_as_input) : deferred_output(info, inputs));
  return outs;
}

// ----- the three interception points -----

std::vector<Tensor> run_eagerly(const OpDef& op, std::vector<Tensor> inputs, Attrs attrs) {
  SuspendTracing eager;
  return dispatch_eager(op, std::move(inputs), std::move(attrs));
}

std::vector<Tensor> trace_call(State& s, const OpDef& op, CallForm form, std::vector<Tensor> inputs, Attrs attrs,
                               uint64_t location) {
  Record r = describe_call(s, op, form, inputs, attrs, location);
  std::vector<Tensor> outs = run_eagerly(op, inputs, std::move(attrs));
  append_traced(s, std::move(r), inputs, outs);
  return outs;
}

}  // namespace

// A view of tensors the iteration did not compute (`data[i:i + n]`, `h0[0]`, `w.t()`) is metadata
// over bytes that already exist: it runs at once and its result is an input like any other, so
// slicing a batch out of a dataset at a new offset each step does not make every step a new path.
bool view_of_externals(const State& s, const OpDef& op, const std::vector<Tensor>& inputs) {
  if (op.effect != Effect::View) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.impl()->trace.epoch == s.epoch && t.impl()->trace.record >= 0) return false;
  return true;
}

std::vector<Tensor> intercept(const OpDef& op, std::vector<Tensor> inputs, Attrs attrs) {
  State& s = *g_state;
  std::lock_guard<std::recursive_mutex> lock(s.mutex);
  const uint64_t location = locate(s);
  if (s.mode == IterationMode::Outside || s.mode == IterationMode::Eager || view_of_externals(s, op, inputs))
    return run_eagerly(op, std::move(inputs), std::move(attrs));
  const CallForm form = op.effect == Effect::InPlace ? CallForm::InPlace : CallForm::Functional;
  const Inferred inf = convert_inputs(op, inputs, attrs);
  if (s.mode == IterationMode::Replaying) {
    const bool grad = GradMode::is_enabled();
    const bool inplace_with_grad = grad && form == CallForm::InPlace && autograd::any_requires_grad(inputs);
    if (inplace_with_grad) {
      try {
        autograd::check_inplace(inputs[op.inplace_input]);
      } catch (const Error& e) {
        throw e.with_context(op.name(), describe_inputs(inputs));
      }
    }
    settle_external_inputs(s, inputs);
    Record r = describe_call(s, op, form, inputs, attrs, location);
    int node = match(s, r);
    if (node >= 0 && form == CallForm::Functional && !op.kernel_makes_outputs &&
        !same_outputs(inf, s.graph.record(node))) {
      diverge(s, "outputs changed with an attribute: " + r.str(), location);
      node = -1;
    }
    if (node >= 0) {
      if (data_dependent(op, inputs, attrs)) {
        flush(s);
        std::vector<Tensor> outs = run_eagerly(op, inputs, std::move(attrs));
        push_replayed(s, node, r, inputs, outs, true);
        return outs;
      }
      std::vector<Tensor> outs;
      if (form == CallForm::InPlace) {
        const Tensor& target = inputs[op.inplace_input];
        mark_written(s, target);
        target.bump_version();
        outs = {target};
      } else {
        outs = deferred_outputs(s.graph.record(node), inputs);
        if (op.effect == Effect::SideEffect)
          for (const Tensor& t : inputs)
            if (t.defined()) mark_written(s, t);
      }
      if (inplace_with_grad)
        autograd::record_inplace(op, inputs, attrs);
      else if (grad && form == CallForm::Functional)
        autograd::record(op, inputs, attrs, outs);
      push_replayed(s, node, r, inputs, outs, false);
      return outs;
    }
  }
  return trace_call(s, op, form, std::move(inputs), std::move(attrs), location);
}

Tensor intercept_inplace(const OpDef& op, std::vector<Tensor> inputs, Attrs attrs) {
  State& s = *g_state;
  std::lock_guard<std::recursive_mutex> lock(s.mutex);
  const uint64_t location = locate(s);
  if (s.mode == IterationMode::Outside || s.mode == IterationMode::Eager) {
    SuspendTracing eager;
    return dispatch_inplace_eager(op, std::move(inputs), std::move(attrs));
  }
  if (s.mode == IterationMode::Replaying) {
    settle_external_inputs(s, inputs);
    Record r = describe_call(s, op, CallForm::InPlace, inputs, attrs, location);
    // The checks dispatch_out would make, so errors come at the call as in eager mode.
    Inferred inf = check_call(op, inputs, attrs);
    const Tensor& self = inputs[0];
    TERRA_CHECK(inf.outputs.size() == 1 && inf.outputs[0].shape == self.shape(), Runtime, op.name(),
                "_: output with shape ", shape_str(self.shape()), " doesn't match the broadcast shape ",
                shape_str(inf.outputs[0].shape));
    TERRA_CHECK(can_cast(inf.outputs[0].dtype, self.dtype()), Runtime, op.name(), "_: result type ",
                dtype_name(inf.outputs[0].dtype), " can't be cast to the desired output type ", dtype_name(self.dtype()));
    const int node = match(s, r);
    if (node >= 0) {
      mark_written(s, self);
      self.bump_version();
      push_replayed(s, node, r, inputs, {self}, false);
      return self;
    }
  }
  Record r = describe_call(s, op, CallForm::InPlace, inputs, attrs, location);
  Tensor self = inputs[0];
  {
    SuspendTracing eager;
    dispatch_inplace_eager(op, inputs, std::move(attrs));
  }
  append_traced(s, std::move(r), inputs, {self});
  return self;
}

void intercept_out(const OpDef& op, std::vector<Tensor> inputs, Attrs attrs, const std::vector<Tensor>& outs) {
  State& s = *g_state;
  std::lock_guard<std::recursive_mutex> lock(s.mutex);
  const uint64_t location = locate(s);
  if (s.mode == IterationMode::Outside || s.mode == IterationMode::Eager ||
      (GradMode::is_enabled() && (autograd::any_requires_grad(inputs) || autograd::any_requires_grad(outs)))) {
    SuspendTracing eager;  // eager mode, or the error dispatch_out raises for out= with autograd
    return dispatch_out_eager(op, std::move(inputs), std::move(attrs), outs);
  }
  std::vector<Tensor> all = inputs;
  all.insert(all.end(), outs.begin(), outs.end());
  if (s.mode == IterationMode::Replaying) {
    settle_external_inputs(s, all);
    Record r = describe_call(s, op, CallForm::Out, all, attrs, location);
    const int node = match(s, r);
    if (node >= 0) {
      for (const Tensor& o : outs) {
        mark_written(s, o);
        o.bump_version();
      }
      push_replayed(s, node, r, all, outs, false);
      return;
    }
  }
  Record r = describe_call(s, op, CallForm::Out, all, attrs, location);
  {
    SuspendTracing eager;
    dispatch_out_eager(op, std::move(inputs), std::move(attrs), outs);
  }
  append_traced(s, std::move(r), all, outs);
}

// ----- the public API -----

namespace detail {
State& state() { return *g_state; }
}  // namespace detail

std::string describe(uint64_t key) {
  if (g_state) {
    auto it = g_state->derived.find(key);
    if (it != g_state->derived.end())
      return "backward of " + describe(it->second.second) + " (from " + describe_location(it->second.first) + ")";
  }
  return describe_location(key);
}

void set_location_provider(LocationProvider provider) { g_provider = provider; }

Options options_from_env() {
  Options o;
  if (const char* v = std::getenv("TERRA_FUSION")) o.fusion = std::string(v) != "0";
  if (const char* v = std::getenv("TERRA_STABLE_AFTER")) o.stable_after = std::max(1, std::atoi(v));
  if (const char* v = std::getenv("TERRA_MAX_PATHS")) o.max_paths = std::max(1, std::atoi(v));
  if (const char* v = std::getenv("TERRA_DUMP_GRAPH")) o.dump_dir = v;
  return o;
}

namespace {
void resolve_pending(const StorageImpl& storage) {
  if (!g_state) return;
  // Another thread's read waits here for the session thread's flush to finish, then finds the
  // storage settled (or runs the flush itself).
  std::lock_guard<std::recursive_mutex> lock(g_state->mutex);
  if (g_state->flushing) {
    const_cast<StorageImpl&>(storage).set_pending(false);  // only the flush itself reads mid-run
    return;
  }
  flush(*g_state);
}
}  // namespace

void start(const Options& options) {
  TERRA_CHECK(!active(), Runtime, "a tracing session is already active");
  g_state = std::make_unique<State>(options);
  // Epochs go on across sessions, so tags left on tensors by an earlier one never look current.
  g_state->epoch = trace_epoch();
  g_state->first_epoch = g_state->epoch + 1;
  set_pending_resolver(&resolve_pending);
  session_on_this_thread = true;
}

void stop() {
  if (!g_state) return;
  State& s = *g_state;
  std::lock_guard<std::recursive_mutex> lock(s.mutex);
  if (s.mode != IterationMode::Outside && s.mode != IterationMode::Eager) end(s);
  session_on_this_thread = false;
  if (!s.options.dump_dir.empty()) dump(s.options.dump_dir);
  // Tensors the session still holds are let go now, while Python runs: memory borrowed from numpy
  // takes the GIL to be released, which a static destructor at exit could never get.
  s.ops.clear();
  s.external_class.clear();
  s.pending_bound.clear();
  s.trace.records.clear();
}

bool active() { return g_state != nullptr && session_on_this_thread; }

void begin_iteration() {
  if (!active()) return;
  State& s = *g_state;
  std::lock_guard<std::recursive_mutex> lock(s.mutex);
  if (s.mode != IterationMode::Outside && s.mode != IterationMode::Eager) end(s);
  begin(s);
}

void end_iteration() {
  if (!active()) return;
  std::lock_guard<std::recursive_mutex> lock(g_state->mutex);
  end(*g_state);
}

void sync() {
  if (!g_state) return;
  std::lock_guard<std::recursive_mutex> lock(g_state->mutex);
  flush(*g_state);
}

void note_read(const Tensor& t) {
  if (!g_state || !t.defined()) return;
  State& s = *g_state;
  std::lock_guard<std::recursive_mutex> lock(s.mutex);
  const TraceTag& tag = t.impl()->trace;
  if (s.mode == IterationMode::Tracing && tag.epoch == s.epoch && tag.record >= 0 &&
      tag.record < static_cast<int>(s.trace.records.size()) && tag.output < 64)
    s.trace.records[tag.record].fetched |= uint64_t{1} << tag.output;
}

Stats stats() { return g_state ? g_state->stats : Stats{}; }

std::string report() {
  Stats st = stats();
  std::ostringstream os;
  os << "terra replay: " << st.iterations_traced << " iterations traced, " << st.iterations_replayed
     << " replayed, " << st.iterations_eager << " eager; " << st.divergences << " fallbacks; "
     << st.plans_compiled << " plans compiled in " << st.compile_seconds * 1e3 << " ms; " << st.ops_replayed
     << " ops replayed\n";
  for (const Fallback& f : st.fallbacks)
    os << "  iteration " << f.iteration << ": " << f.reason << " at " << describe(f.location) << "\n";
  return os.str();
}

void dump(const std::string& dir) {
  TERRA_CHECK(g_state, Runtime, "no tracing session to dump");
  std::ofstream(dir + "/trace_graph.json") << g_state->graph.to_json();
  std::ofstream(dir + "/trace_graph.dot") << g_state->graph.to_dot();
  int i = 0;
  for (auto& [key, cached] : g_state->plans) {
    std::ofstream(dir + "/plan_" + std::to_string(i) + "_before.json") << cached.before.to_json();
    std::ofstream(dir + "/plan_" + std::to_string(i) + "_before.dot") << cached.before.to_dot();
    std::ofstream(dir + "/plan_" + std::to_string(i) + "_after.json") << cached.plan.to_json();
    std::ofstream(dir + "/plan_" + std::to_string(i) + "_after.dot") << cached.plan.to_dot();
    ++i;
  }
}

}  // namespace terra::trace
