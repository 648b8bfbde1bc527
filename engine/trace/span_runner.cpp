// A span of replayed ops as a graph::Program, compiled once per shape of span and run.
//
// The span is ops[span_begin..]: their records are TraceGraph nodes. Inputs that the span does
// not compute (externals, outputs of earlier spans) are bound; outputs whose storage somebody
// still holds (Python, autograd, another view) are Kept and written into that very storage; the
// rest are Internal, so the compiler may fuse them away or place them in its arena. The plan is
// cached by everything that shapes the Program: the span's first and last node, which outputs are
// kept, and how the bound inputs alias.
#include <chrono>
#include <cstring>
#include <unordered_map>

#include "engine/trace/session_state.hpp"

namespace terra::trace::detail {

namespace {

size_t bytes_spanned(const ValueMeta& m) {
  if (shape_numel(m.shape) == 0) return 0;
  int64_t last = m.offset;
  for (size_t d = 0; d < m.shape.size(); ++d) last += (m.shape[d] - 1) * m.strides[d];
  return static_cast<size_t>(last + 1) * itemsize(m.dtype);
}

struct SpanProgram {
  graph::Program program;
  std::vector<Tensor> bound;
  std::vector<Storage> kept;
  std::vector<int64_t> key;
};

class SpanBuilder {
 public:
  explicit SpanBuilder(State& s) : s_(s) {}

  SpanProgram build() {
    const size_t begin = s_.span_begin, end = s_.ops.size();
    sp_.key.push_back(begin == 0 ? s_.graph.root() : s_.ops[begin - 1].node);
    sp_.key.push_back(s_.ops[end - 1].node);
    for (size_t pos = begin; pos < end; ++pos)
      for (const Tensor& t : s_.ops[pos].bound)
        if (t.defined()) bind(t);
    sp_.program.num_bound = static_cast<int>(sp_.program.values.size());
    for (size_t pos = begin; pos < end; ++pos) add_step(static_cast<int>(pos));
    sp_.program.num_kept = static_cast<int>(sp_.kept.size());
    return std::move(sp_);
  }

 private:
  int buffer_for(const Storage& storage, graph::BufferKind kind) {
    auto [it, fresh] = buffer_of_.emplace(storage.get(), static_cast<int>(sp_.program.buffers.size()));
    if (fresh) {
      graph::Buffer b;
      b.kind = kind;
      b.nbytes = storage->nbytes();
      b.device = storage->device();
      if (kind == graph::BufferKind::Bound) {
        b.index = static_cast<int>(sp_.bound.size());
      } else {
        b.index = static_cast<int>(sp_.kept.size());
        sp_.kept.push_back(storage);
      }
      sp_.program.buffers.push_back(b);
    }
    return it->second;
  }

  void bind(const Tensor& t) {
    auto [it, fresh] = bound_value_.emplace(t.impl(), static_cast<int>(sp_.program.values.size()));
    if (!fresh) return;
    graph::Value v;
    v.meta = meta_of(t);
    v.buffer = buffer_for(t.storage(), graph::BufferKind::Bound);
    v.bound = static_cast<int>(sp_.bound.size());
    sp_.key.push_back(v.buffer);  // how bound inputs share storage
    sp_.key.push_back(v.meta.offset);
    sp_.bound.push_back(t);
    sp_.program.values.push_back(std::move(v));
  }

  void add_step(int pos) {
    const ReplayOp& op = s_.ops[pos];
    const Record& rec = s_.graph.record(op.node);
    graph::Step step;
    step.op = rec.op;
    step.form = rec.form;
    step.attrs = op.attrs;
    for (const AttrValue& v : op.attrs.values())  // plans are specialised to runtime attribute values
      if (is_runtime_attr(v)) {
        const double d = std::holds_alternative<double>(v) ? std::get<double>(v) : std::get<Scalar>(v).as_double();
        int64_t bits;
        std::memcpy(&bits, &d, sizeof bits);
        sp_.key.push_back(bits);
      }
    step.record = pos;
    step.location = rec.location;
    for (size_t i = 0; i < rec.inputs.size(); ++i) {
      const InputSource& src = rec.inputs[i];
      if (src.kind == SourceKind::None)
        step.inputs.push_back(-1);
      else if (op.bound[i].defined())
        step.inputs.push_back(bound_value_.at(op.bound[i].impl()));
      else
        step.inputs.push_back(value_of_.at({src.record, src.output}));
    }
    const int step_index = static_cast<int>(sp_.program.steps.size());
    for (size_t o = 0; o < rec.outputs.size(); ++o) {
      const OutputInfo& info = rec.outputs[o];
      graph::Value v;
      v.meta = info.meta;
      v.producer = step_index;
      if (info.alias_input >= 0) {
        v.buffer = sp_.program.values[step.inputs.at(info.alias_input)].buffer;
      } else if (Storage held = op.output_storages[o].lock()) {
        v.buffer = buffer_for(held, graph::BufferKind::Kept);
        sp_.key.push_back(-1 - v.buffer);  // which outputs are kept
      } else {
        graph::Buffer b;
        b.nbytes = bytes_spanned(info.meta);
        b.device = info.meta.device;
        v.buffer = static_cast<int>(sp_.program.buffers.size());
        sp_.program.buffers.push_back(b);
      }
      value_of_[{pos, static_cast<int>(o)}] = static_cast<int>(sp_.program.values.size());
      step.outputs.push_back(static_cast<int>(sp_.program.values.size()));
      sp_.program.values.push_back(std::move(v));
    }
    sp_.program.steps.push_back(std::move(step));
  }

  struct PairHash {
    size_t operator()(const std::pair<int, int>& p) const { return std::hash<int64_t>()((int64_t(p.first) << 20) ^ p.second); }
  };

  State& s_;
  SpanProgram sp_;
  std::unordered_map<const StorageImpl*, int> buffer_of_;
  std::unordered_map<const TensorImpl*, int> bound_value_;
  std::unordered_map<std::pair<int, int>, int, PairHash> value_of_;
};

void clear_pending_bound(State& s) {
  for (const Storage& st : s.pending_bound) st->set_pending(false);
  s.pending_bound.clear();
}

void evict_least_recently_used(State& s) {
  auto oldest = s.plans.begin();
  for (auto it = s.plans.begin(); it != s.plans.end(); ++it)
    if (it->second.last_use < oldest->second.last_use) oldest = it;
  s.plans.erase(oldest);
}

}  // namespace

void run_span(State& s) {
  if (s.flushing) return;
  if (s.span_begin >= s.ops.size()) {
    clear_pending_bound(s);
    return;
  }
  s.flushing = true;
  struct Done {
    State& s;
    ~Done() {
      s.flushing = false;
      s.span_begin = s.ops.size();
      clear_pending_bound(s);
    }
  } done{s};
  SpanProgram sp = SpanBuilder(s).build();
  auto it = s.plans.find(sp.key);
  if (it == s.plans.end()) {
    if (s.plans.size() >= State::kMaxPlans) evict_least_recently_used(s);
    auto t0 = std::chrono::steady_clock::now();
    graph::CompileOptions co;
    co.fusion = s.options.fusion;
    co.memory_planning = s.options.memory_planning;
    graph::Program before = sp.program;
    it = s.plans.emplace(sp.key, State::CachedPlan{std::move(before), graph::compile(std::move(sp.program), co)}).first;
    s.stats.plans_compiled++;
    s.stats.compile_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  it->second.last_use = ++s.flushes;
  clear_pending_bound(s);
  FreezeVersions counted_when_issued;
  graph::run(it->second.plan, sp.bound, sp.kept);
}

}  // namespace terra::trace::detail
