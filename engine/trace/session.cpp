#include "engine/trace/session.hpp"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <optional>
#include <sstream>
#include <utility>

#include <pthread.h>

#include "engine/autograd/autograd_meta.hpp"
#include "engine/autograd/grad_mode.hpp"
#include "engine/autograd/node.hpp"
#include "engine/autograd/record.hpp"
#include "engine/dispatch/dispatcher.hpp"
#include "engine/trace/hook.hpp"
#include "engine/trace/session_state.hpp"

namespace terra::trace {

using detail::after_replayed;
using detail::asynchronous;
using detail::cross_while_dormant;
using detail::diverge;
using detail::finish_iteration;
using detail::flush;
using detail::hand_over;
using detail::runs_eagerly;
using detail::settle_before_eager;
using detail::start_iteration;
using detail::update_work_queued;
using detail::wake;
using detail::BackwardReplay;
using detail::classify;
using detail::deferred_output;
using detail::IterationMode;
using detail::IterationTiming;
using detail::locate;
using detail::mark_written;
using detail::next_position;
using detail::record_replayed;
using detail::ReplayOp;
using detail::settle_external_inputs;
using detail::source_of;
using detail::State;
using detail::tell;

namespace {

std::unique_ptr<State> g_state;
LocationProvider g_provider = nullptr;
bool g_provider_sees_boundaries_when_dormant = false;

// Note [A forked child]: fork() copies only the forking thread, so a child of a co-executing
// process has a session whose graph actor does not exist there. The child runs eagerly, with no
// session; a tensor the parent's graph had yet to compute raises when read (it would wait for
// ever), and the session is dropped, not stopped, since stopping runs what is queued.
bool g_forked_child = false;

void after_fork_in_child() {
  if (!g_state) return;
  g_forked_child = true;
  session_on_this_thread = intercept_on_this_thread = false;  // the forking thread's, now the only one
  work_queued.store(false, std::memory_order_relaxed);
}

[[noreturn]] void fail_forked_read() {
  fail(ErrorKind::Runtime,
       "this tensor was still being computed by the parent process's graph when the process forked: read it "
       "(or call terra.sync()) before forking, or start the child with the 'spawn' method");
}
SourceLineProvider g_source_line = nullptr;
BlockingCall g_blocking = nullptr;
EventSink g_sink = nullptr;


// The session's lock, taken without holding the embedding's locks while it is contended: the
// holder may be waiting for the graph with the GIL let go, and needs the GIL back to go on.
std::unique_lock<std::recursive_mutex> lock_session(State& s) {
  std::unique_lock<std::recursive_mutex> lock(s.mutex, std::try_to_lock);
  if (!lock.owns_lock())
    detail::wait_blocking([](void* l) { static_cast<std::unique_lock<std::recursive_mutex>*>(l)->lock(); }, &lock);
  return lock;
}

}  // namespace

// ----- records -----

int detail::next_position(const State& s) {
  return static_cast<int>(s.mode == IterationMode::Replaying ? s.ops.size() : s.trace.records.size());
}

namespace {

// The slot of the first live use of this storage among the iteration's externals, -1 when none.
// A dead storage's address can come back for a new one: an entry counts only while its storage
// lives (held weakly, so the session keeps no input alive).
int alias_class(const State& s, const StorageImpl* st) {
  auto it = s.external_class.find(st);
  return it != s.external_class.end() && !it->second.first.expired() ? it->second.second : -1;
}

}  // namespace

InputSource detail::source_of(const State& s, const Tensor& t) {
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
  src.alias = alias_class(s, t.storage().get());
  return src;
}

InputSource detail::classify(State& s, const Tensor& t, int slot) {
  InputSource src = source_of(s, t);
  if (src.external() && src.alias < 0) {
    s.external_class.insert_or_assign(t.storage().get(), std::make_pair(std::weak_ptr<StorageImpl>(t.storage()), slot));
    src.alias = slot;
  }
  return src;
}

namespace {

// The record of a call, without its outputs: what a TraceGraph node is matched on.
Record describe_call(State& s, const OpDef& op, CallForm form, const std::vector<Tensor>& inputs, const Attrs& attrs,
                     uint64_t location) {
  // A gradient op's mixed key, remembered for every record that may be printed (a traced one, or
  // the call a divergence names), not for each replayed call.
  if (backward_of != 0) s.derived.try_emplace(location, s.call_location, backward_of);
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
  // Autograd saved an alias of this output (tanh's backward reads tanh's result) before the tag
  // was set: the alias must be wired to this record too, or backward would take it for an input
  // from outside and every replay would split its span there.
  const AutogradMeta* m = autograd::meta(t);
  if (auto* node = m ? dynamic_cast<OpNode*>(m->grad_fn.get()) : nullptr) {
    std::vector<SavedTensor>& saved = node->saved_outputs;
    if (m->output_nr < saved.size() && saved[m->output_nr].data.defined() && saved[m->output_nr].data.shares_storage(t))
      saved[m->output_nr].data.impl()->trace = t.impl()->trace;
  }
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
  if (s.capture) s.capture->note_record(r, inputs);
  s.trace.records.push_back(std::move(r));
}

}  // namespace

// ----- deferred outputs -----

Tensor detail::deferred_output(const OutputInfo& info, const std::vector<Tensor>& inputs) {
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
void detail::mark_written(State& s, const Tensor& t) {
  const Storage& st = t.storage();
  s.writes_host_visible |= st->host_visible();
  // Already pending: written by an earlier op of this span, or by a submitted span (which settles
  // it, but only once everything submitted has run, this span included).
  if (st->pending()) return;
  st->set_pending(true);
  s.pending_bound.push_back(st);
  s.mark_span_write(*st);
}

namespace {

bool data_dependent(const OpDef& op, const std::vector<Tensor>& inputs, const Attrs& attrs) {
  return op.data_dependent && op.data_dependent(inputs, attrs);
}

}  // namespace


namespace {

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
  if (!kids.empty()) {
    // The traced call of the same op, where there is one, is the counterpart: say what differs,
    // since the two can print alike (strides, a location reached through other calls).
    int expected = kids.front();
    for (int kid : kids)
      if (s.graph.record(kid).op == r.op) {
        expected = kid;
        break;
      }
    const Record& e = s.graph.record(expected);
    os << " (expected " << e.str();
    if (e.op == r.op) os << "; " << e.difference(r);
    os << ")";
  }
  if (kids.empty() && s.graph.ends_iteration(s.cursor)) os << " (traced iterations ended here)";
  return os.str();
}

}  // namespace

// A tensor made from a deferred one without an op (`t.data`, a Python-side alias) is an external
// input whose bytes this span has yet to compute: run the span first so it can be bound.
void detail::settle_external_inputs(State& s, const std::vector<Tensor>& inputs) {
  for (const Tensor& t : inputs) {
    if (!t.defined() || !t.storage()->pending()) continue;
    const TraceTag& tag = t.impl()->trace;
    if (tag.epoch == s.epoch && tag.record >= 0) continue;  // wired to its producer
    // Queued spans run in order, so handing the current one over is enough.
    if (s.span_writes(*t.storage())) return hand_over(s);
  }
}

namespace {

// The child of the cursor this call is, -1 if none; classifies its inputs into s.call_sources
// and writes nothing down (the hot path of replay).
int find_child(State& s, const OpDef& op, CallForm form, const std::vector<Tensor>& inputs, const Attrs& attrs,
               uint64_t location) {
  s.call_sources.clear();
  const int pos = next_position(s);
  for (size_t i = 0; i < inputs.size(); ++i)
    s.call_sources.push_back(classify(s, inputs[i], pos * 64 + static_cast<int>(std::min<size_t>(i, 63))));
  for (int child : s.graph.children(s.cursor))
    if (s.graph.record(child).same_node_as_call(op, form, attrs, location, s.call_sources, inputs)) return child;
  return -1;
}

// The test switch TERRA_FORCE_DIVERGENCE: the drawn op of the drawn iteration diverges although
// it matched.
bool forced_divergence(State& s, int node, uint64_t location) {
  if (next_position(s) != s.forced_op) return false;
  s.forced_op = -1;
  s.forced_done = true;
  diverge(s, "forced divergence (TERRA_FORCE_DIVERGENCE) at " + s.graph.record(node).str(), location);
  return true;
}

// Matches a call against the children of the cursor; on a mismatch the Record is built for the
// message, the iteration diverges and -1 comes back.
int match(State& s, const OpDef& op, CallForm form, const std::vector<Tensor>& inputs, const Attrs& attrs,
          uint64_t location) {
  const int node = find_child(s, op, form, inputs, attrs, location);
  if (node >= 0) return forced_divergence(s, node, location) ? -1 : node;
  diverge(s, mismatch_reason(s, describe_call(s, op, form, inputs, attrs, location)), location);
  return -1;
}

// Note [Replay skips the shape rule]: a call whose input metas and attributes (runtime values
// included) equal a node's is the call tracing checked: the shape rule would give the node's
// outputs, no input needs converting (the node's inputs already are), and it cannot fail where
// the traced call did not. Replay looks for the node first and runs the rule (check_call, an
// allocation-heavy std::function per op) only when `rule_needed`: no child has the call's metas
// (type promotion casts an input, or the path is new: the caller matches again once the inputs
// are converted), or the child's runtime attributes differ (an output shape may follow them).
int find_traced(State& s, const OpDef& op, CallForm form, std::vector<Tensor>& inputs, const Attrs& attrs,
                uint64_t location, bool& rule_needed) {
  complete_inputs(op, inputs);
  const int node = find_child(s, op, form, inputs, attrs, location);
  rule_needed = node < 0 || !attrs_equal(attrs, s.graph.record(node).attrs);
  return node;
}

// The call's traced node: `node` as find_traced found it, or, when it found none (-1), a match made
// now that the inputs are converted; either may be declared a divergence by the test switch.
int confirm_match(State& s, int node, const OpDef& op, CallForm form, const std::vector<Tensor>& inputs,
                  const Attrs& attrs, uint64_t location) {
  if (node < 0) return match(s, op, form, inputs, attrs, location);  // match applies the switch itself
  return forced_divergence(s, node, location) ? -1 : node;
}

}  // namespace

void detail::record_replayed(State& s, int node, std::optional<Attrs> attrs, const std::vector<Tensor>& inputs,
                     const Tensor* outputs, size_t num_outputs, bool ran_eagerly) {
  const int pos = static_cast<int>(s.ops.size());
  const Record& rec = s.graph.record(node);
  ReplayOp op;
  op.node = node;
  op.attrs = std::move(attrs);
  op.ran_eagerly = ran_eagerly;
  op.inputs_at = static_cast<uint32_t>(s.bound_inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const InputSource& src = rec.inputs[i];
    const bool bound = src.kind != SourceKind::None &&
                       (src.kind != SourceKind::Internal || src.record < static_cast<int>(s.span_begin));
    s.bound_inputs.push_back(bound ? inputs[i] : Tensor());
  }
  op.outputs_at = static_cast<uint32_t>(s.output_storages.size());
  for (size_t i = 0; i < num_outputs; ++i) {
    s.output_storages.push_back(outputs[i].defined() ? outputs[i].storage() : nullptr);
    if (!outputs[i].defined()) continue;
    tag(outputs[i], s, pos, static_cast<int>(i));
    if (!ran_eagerly && outputs[i].storage()->pending()) s.mark_span_write(*outputs[i].storage());
  }
  s.ops.push_back(std::move(op));
  s.cursor = node;
  s.stats.ops_replayed++;
}

void detail::after_replayed(State& s, bool ran_eagerly) {
  if (std::exchange(s.writes_host_visible, false)) return flush(s, "a write to memory numpy can see");
  if (ran_eagerly) s.span_begin = s.ops.size();
  else if (s.options.span_ops > 0 && s.ops.size() - s.span_begin >= static_cast<size_t>(s.options.span_ops) &&
           asynchronous(s))
    hand_over(s);
}

namespace {

void push_replayed(State& s, int node, const Attrs& attrs, const std::vector<Tensor>& inputs,
                   const std::vector<Tensor>& outputs, bool ran_eagerly) {
  const Attrs& traced = s.graph.record(node).attrs;
  record_replayed(s, node, attrs_equal(attrs, traced) ? std::nullopt : std::optional<Attrs>(attrs), inputs,
                  outputs.data(), outputs.size(), ran_eagerly);
  after_replayed(s, ran_eagerly);
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
  settle_before_eager(s, op);
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
  auto lock = lock_session(s);
  const uint64_t location = locate(s);
  if (view_of_externals(s, op, inputs)) {
    if (!s.capture) return run_eagerly(op, std::move(inputs), std::move(attrs));
    std::vector<Tensor> outs = run_eagerly(op, inputs, std::move(attrs));
    s.capture->note_view(inputs, outs);
    return outs;
  }
  if (runs_eagerly(s)) {
    settle_before_eager(s, op);
    return run_eagerly(op, std::move(inputs), std::move(attrs));
  }
  const CallForm form = op.effect == Effect::InPlace ? CallForm::InPlace : CallForm::Functional;
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
    bool rule_needed = false;
    int node = find_traced(s, op, form, inputs, attrs, location, rule_needed);
    std::optional<Inferred> inf;
    if (rule_needed) inf = convert_inputs(op, inputs, attrs);
    node = confirm_match(s, node, op, form, inputs, attrs, location);
    if (inf && node >= 0 && form == CallForm::Functional && !op.kernel_makes_outputs &&
        !same_outputs(*inf, s.graph.record(node))) {
      diverge(s, "outputs changed with an attribute: " + describe_call(s, op, form, inputs, attrs, location).str(),
              location);
      node = -1;
    }
    if (node >= 0) {
      if (op.check_data) {
        // Note [Checks at the call]: a deferred kernel that finds a bad index raises at the next
        // sync point, steps after the call (DESIGN.md §11), where a `try` around the call no longer
        // catches it. When the values are on the host already (targets, token ids from the data),
        // the kernel's own check runs now, so the error comes where eager mode raises it.
        try {
          op.check_data(inputs, attrs);
        } catch (const Error& e) {
          throw e.with_context(op.name(), describe_inputs(inputs));
        }
      }
      if (data_dependent(op, inputs, attrs)) {
        flush(s, "data-dependent op");
        std::vector<Tensor> outs = run_eagerly(op, inputs, std::move(attrs));
        push_replayed(s, node, attrs, inputs, outs, true);
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
      push_replayed(s, node, attrs, inputs, outs, false);
      return outs;
    }
  } else {
    convert_inputs(op, inputs, attrs);
  }
  return trace_call(s, op, form, std::move(inputs), std::move(attrs), location);
}

Tensor intercept_inplace(const OpDef& op, std::vector<Tensor> inputs, Attrs attrs) {
  State& s = *g_state;
  auto lock = lock_session(s);
  const uint64_t location = locate(s);
  if (runs_eagerly(s)) {
    settle_before_eager(s, op);
    SuspendTracing eager;
    return dispatch_inplace_eager(op, std::move(inputs), std::move(attrs));
  }
  if (s.mode == IterationMode::Replaying) {
    settle_external_inputs(s, inputs);
    const Tensor& self = inputs[0];
    bool rule_needed = false;
    int node = find_traced(s, op, CallForm::InPlace, inputs, attrs, location, rule_needed);
    if (rule_needed) {
      // The checks dispatch_out would make, so errors come at the call as in eager mode.
      Inferred inf = check_call(op, inputs, attrs);
      TERRA_CHECK(inf.outputs.size() == 1 && inf.outputs[0].shape == self.shape(), Runtime, op.name(),
                  "_: output with shape ", shape_str(self.shape()), " doesn't match the broadcast shape ",
                  shape_str(inf.outputs[0].shape));
      TERRA_CHECK(can_cast(inf.outputs[0].dtype, self.dtype()), Runtime, op.name(), "_: result type ",
                  dtype_name(inf.outputs[0].dtype), " can't be cast to the desired output type ",
                  dtype_name(self.dtype()));
    }
    node = confirm_match(s, node, op, CallForm::InPlace, inputs, attrs, location);
    if (node >= 0) {
      mark_written(s, self);
      self.bump_version();
      push_replayed(s, node, attrs, inputs, {self}, false);
      return self;
    }
  }
  settle_before_eager(s, op);
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
  auto lock = lock_session(s);
  const uint64_t location = locate(s);
  if (runs_eagerly(s) ||
      (GradMode::is_enabled() && (autograd::any_requires_grad(inputs) || autograd::any_requires_grad(outs)))) {
    settle_before_eager(s, op);
    SuspendTracing eager;  // eager mode, or the error dispatch_out raises for out= with autograd
    return dispatch_out_eager(op, std::move(inputs), std::move(attrs), outs);
  }
  std::vector<Tensor> all = inputs;
  all.insert(all.end(), outs.begin(), outs.end());
  if (s.mode == IterationMode::Replaying) {
    settle_external_inputs(s, all);
    const int node = match(s, op, CallForm::Out, all, attrs, location);
    if (node >= 0) {
      for (const Tensor& o : outs) {
        mark_written(s, o);
        o.bump_version();
      }
      push_replayed(s, node, attrs, all, outs, false);
      return;
    }
  }
  settle_before_eager(s, op);
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
void tell(SessionEvent event, uint32_t iteration, const char* detail) {
  if (g_sink) [[unlikely]]
    g_sink(event, iteration, detail);
}
Location location_now() { return g_provider ? g_provider() : Location{}; }
bool provider_sees_boundaries_when_dormant() { return g_provider_sees_boundaries_when_dormant; }
State* state_if_any() { return g_state.get(); }
std::unique_lock<std::recursive_mutex> lock(State& s) { return lock_session(s); }
void flush_all(State& s, const char* why) { flush(s, why); }

void wait_blocking(void (*wait)(void*), void* arg) {
  if (g_blocking) g_blocking(wait, arg);
  else wait(arg);
}

std::string source_line() { return g_source_line ? g_source_line() : std::string("?"); }

void tell_sync(const State& s, const char* why) { tell(SessionEvent::Sync, s.epoch, why); }
void tell_work(const State& s, bool begin, const char* what) {
  tell(begin ? SessionEvent::WorkBegin : SessionEvent::WorkEnd, s.epoch, what);
}
}  // namespace detail

namespace {
// set_derived_locations' hook: the keys locate() mixed, and from what.
bool derived_location(uint64_t key, uint64_t* called_at, uint64_t* forward) {
  if (!g_state) return false;
  auto it = g_state->derived.find(key);
  if (it == g_state->derived.end()) return false;
  *called_at = it->second.first;
  *forward = it->second.second;
  return true;
}
}  // namespace

void set_location_provider(LocationProvider provider, bool sees_boundaries_when_dormant) {
  g_provider = provider;
  g_provider_sees_boundaries_when_dormant = provider && sees_boundaries_when_dormant;
}

bool dormant() { return session_on_this_thread && !intercept_on_this_thread; }

void dormant_iteration_began() {
  if (!dormant()) return;
  auto lock = lock_session(*g_state);
  cross_while_dormant(*g_state);
}

void wake_left_loop() {
  if (!dormant()) return;
  State& s = *g_state;
  auto lock = lock_session(s);
  wake(s);
  // As locate() does when the provider says the loop was left.
  if (s.mode != IterationMode::Outside && s.mode != IterationMode::Eager) finish_iteration(s);
  s.loop_seen = false;
}
void set_source_line_provider(SourceLineProvider provider) { g_source_line = provider; }
void set_blocking_call(BlockingCall call) { g_blocking = call; }
void set_event_sink(EventSink sink) { g_sink = sink; }

namespace {
// A read of a pending storage (a fetch), from any thread: every deferred write is run or waited for.
void resolve_pending(const StorageImpl& st) {
  if (!g_state) return;
  if (g_forked_child) fail_forked_read();
  State& s = *g_state;
  auto lock = lock_session(s);
  if (s.mode == IterationMode::Replaying && detail::fetch_from_span(s, st)) return update_work_queued(s);
  flush(s, "fetch");
}
}  // namespace

void start(const Options& options, std::shared_ptr<SpanExecutor> executor) {
  TERRA_CHECK(!active(), Runtime, "a tracing session is already active");
  g_state = std::make_unique<State>(options);
  set_derived_locations(&derived_location);
  if (executor) g_state->executor = std::move(executor);
  g_state->stats.coexecuted = g_state->executor->asynchronous();
  // Note [Replay must pay]: measured co-executed iterations start once Python can run no further ahead.
  if (g_state->stats.coexecuted) g_state->pay = PayCheck(PayCheck::kWarmup + std::max(0, options.max_spans_ahead), true);
  // Epochs go on across sessions, so tags left on tensors by an earlier one never look current.
  g_state->epoch = trace_epoch();
  g_state->first_epoch = g_state->epoch + 1;
  set_pending_resolver(&resolve_pending);
  session_on_this_thread = intercept_on_this_thread = true;
  static const bool fork_handled = pthread_atfork(nullptr, nullptr, &after_fork_in_child) == 0;  // once
  (void)fork_handled;
}

void stop() {
  if (!g_state) return;
  if (g_forked_child) {  // Note [A forked child]: nothing queued can run here
    g_state.release();   // NOLINT: leaked on purpose, with the parent's actor handles in it
    return;
  }
  State& s = *g_state;
  auto lock = lock_session(s);
  if (dormant()) wake(s);
  if (s.mode != IterationMode::Outside && s.mode != IterationMode::Eager) finish_iteration(s);
  session_on_this_thread = intercept_on_this_thread = false;
  struct Release {
    State& s;
    // Tensors the session still holds are let go now, while Python runs: memory borrowed from
    // numpy takes the GIL to be released, which a static destructor at exit could never get.
    ~Release() {
      s.clear_ops();
      s.external_class.clear();
      s.pending_bound.clear();
      s.trace.records.clear();
      s.stats.session_seconds = seconds_since(s.started);
      // The graph actor stops here, while Python runs, not in a static destructor after it.
      s.executor = std::make_shared<InlineExecutor>();
    }
  } release{s};
  flush(s, "end of the program");
  if (!s.options.dump_dir.empty()) dump(s.options.dump_dir);
}

bool active() { return g_state != nullptr && session_on_this_thread; }

bool recording_on_this_thread() { return active() && !runs_eagerly(*g_state); }

void begin_iteration() {
  if (!active()) return;
  State& s = *g_state;
  auto lock = lock_session(s);
  if (dormant()) return cross_while_dormant(s);
  if (s.mode != IterationMode::Outside && s.mode != IterationMode::Eager) finish_iteration(s);
  s.marked = true;
  start_iteration(s);
}

void end_iteration() {
  if (!active() || dormant()) return;  // dormant: counted at the next begin_iteration, or at stop()
  auto lock = lock_session(*g_state);
  finish_iteration(*g_state);
}

void sync() {
  if (!g_state) return;
  if (g_forked_child) {
    if (!g_state->submitted.empty()) fail_forked_read();
    return;
  }
  auto lock = lock_session(*g_state);
  flush(*g_state, "sync (random state, save, .data =, another thread)");
}

void note_read(const Tensor& t) {
  if (!g_state || !t.defined()) return;
  State& s = *g_state;
  auto lock = lock_session(s);
  const TraceTag& tag = t.impl()->trace;
  if (s.mode == IterationMode::Tracing && tag.epoch == s.epoch && tag.record >= 0 &&
      tag.record < static_cast<int>(s.trace.records.size()) && tag.output < 64)
    s.trace.records[tag.record].fetched |= uint64_t{1} << tag.output;
}

}  // namespace terra::trace
