// Note [Replaying backward]
// A replayed op costs Python's thread about what an eager op costs without its kernel: the
// binding, the match, a deferred output, autograd's record. A backward() call is half of a training
// step's ops, and replaying it op by op also runs the autograd engine: its queue, every formula,
// and each op the formulas issue through the dispatcher and the match. Yet the ops a backward()
// call issues follow from the autograd graph alone (formulas read no tensor values), and that graph
// was built by forward ops that matched the TraceGraph one by one.
//
// So a traced backward() call is written down whole (BackwardCapture): the TraceGraph nodes of its
// ops, where each of their inputs came from in terms of the graph (a saved tensor of the k-th node
// of a fixed walk, a leaf's .grad, an earlier op of the call, a wrapped number, a view of one of
// these), which op's output each leaf's .grad became, and a signature of the graph (walk_graph).
// A later iteration's backward() call at the same place, after the same node, on a graph with the
// same signature, hands out those ops at once (session.cpp's replay_backward): the inputs are
// fetched through the refs and checked as matching would check them (sources, alias classes,
// metas), deferred outputs are made, the leaves get their .grad and the nodes release what they
// saved, as the autograd engine would have. Anything the signature cannot vouch for leaves the call
// to the autograd engine: hooks, Python functions, create_graph, retain_graph, a gradient given
// to backward(), ops with side effects, random or data-dependent ops, inputs that come from none of
// the refs. Then it replays op by op as before, and a divergence there is handled as always.
#include "engine/trace/backward_replay.hpp"

#include "engine/autograd/autograd_meta.hpp"
#include "engine/dispatch/dispatcher.hpp"
#include "engine/registry/registry.hpp"
#include "engine/trace/session_state.hpp"

namespace terra::trace::detail {

namespace {

// A multiply-xorshift step: the signature is compared within one process only, and the walk
// mixes a few dozen words per node.
inline void mix(uint64_t& h, uint64_t v) {
  h = (h ^ v) * 0x9e3779b97f4a7c15ull;
  h ^= h >> 29;
}

void mix_layout(uint64_t& h, const Shape& shape) {
  mix(h, shape.size());
  for (int64_t d : shape) mix(h, static_cast<uint64_t>(d));
}

// as_strided's formula reads its input's offset and contiguity (views.cpp); no other formula does,
// and an input's offset moves with every batch sliced out of a dataset, so only there is it part
// of the signature.
bool reads_input_layout(const OpDef& op) {
  static const OpDef* const as_strided = &Registry::instance().get("as_strided");
  return &op == as_strided;
}

void mix_meta(uint64_t& h, const InputMeta& m, bool layout) {
  mix(h, m.defined);
  mix_layout(h, m.shape);
  mix(h, static_cast<uint64_t>(m.dtype));
  mix(h, static_cast<uint64_t>(m.device.type) << 8 | static_cast<uint64_t>(m.device.index));
  if (layout) {
    mix(h, static_cast<uint64_t>(m.storage_offset));
    mix(h, m.contiguous);
  }
}

// Adds what the formulas read of `n` to the signature; the reason the call cannot be replayed
// whole, or null.
const char* describe(Node* n, uint64_t& h) {
  if (!n->pre_hooks.empty()) return "a hook on a tensor's gradient";
  if (!n->retained.empty()) return "retain_grad()";
  if (auto* op = dynamic_cast<OpNode*>(n)) {
    if (op->released()) return "the graph was freed by an earlier backward()";
    mix(h, 1);
    mix(h, reinterpret_cast<uintptr_t>(&op->op()));
    mix(h, op->trace_location);
    mix(h, hash_attrs(op->attrs()));
    for (bool needs : op->input_needs_grad) mix(h, needs);
    const bool layout = reads_input_layout(op->op());
    for (const InputMeta& m : op->input_metas) mix_meta(h, m, layout);
    for (const InputMeta& m : op->output_metas) mix_meta(h, m, false);
    for (const std::vector<SavedTensor>* saved : {&op->saved_inputs, &op->saved_outputs}) {
      mix(h, saved->size());
      for (const SavedTensor& t : *saved) {
        if (t.data.defined() && t.data.version() != t.version)
          return "a saved tensor was changed in place";  // the autograd engine raises
        mix(h, t.data.defined() ? 1 + t.data.is_wrapped_number() : 0);
      }
    }
    return nullptr;
  }
  if (auto* acc = dynamic_cast<AccumulateGrad*>(n)) {
    std::shared_ptr<TensorImpl> leaf = acc->leaf();
    if (!leaf) return "a leaf tensor is gone";
    const AutogradMeta* m = autograd::meta(Tensor(std::move(leaf)));
    if (m && !m->leaf_hooks.empty()) return "a hook on a tensor's gradient";
    const bool has_grad = m && m->grad.defined();
    mix(h, 2 + has_grad);
    if (has_grad) {
      mix_layout(h, m->grad.shape());
      mix_layout(h, m->grad.strides());
      mix(h, static_cast<uint64_t>(m->grad.dtype()));
    }
    return nullptr;
  }
  return "a Python autograd.Function, or an op without a gradient formula";
}

// Entry `index` of a replay's views or conversions: made on its first use, the same tensor after.
template <class Make>
Tensor made_once(std::vector<Tensor>& made, size_t count, int32_t index, Make make) {
  made.resize(count);
  Tensor& t = made.at(index);
  if (!t.defined()) t = make();
  return t;
}

Tensor leaf_grad(Node* n) {
  auto* acc = dynamic_cast<AccumulateGrad*>(n);
  std::shared_ptr<TensorImpl> leaf = acc ? acc->leaf() : nullptr;
  const AutogradMeta* m = leaf ? autograd::meta(Tensor(std::move(leaf))) : nullptr;
  return m ? m->grad : Tensor();
}

}  // namespace

GraphWalk walk_graph(const Edge& root, size_t expected_nodes) {
  static uint64_t last_mark = 0;  // walks run on the session's thread only
  const uint64_t mark = ++last_mark;
  GraphWalk w;
  w.nodes.reserve(expected_nodes);
  std::vector<Node*> stack;
  stack.reserve(expected_nodes);
  const auto visit = [&](Node* n) {
    if (n->walk_mark != mark) {
      n->walk_mark = mark;
      n->walk_index = static_cast<int32_t>(w.nodes.size());
      w.nodes.push_back(n);
      stack.push_back(n);
    }
    return n->walk_index;
  };
  uint64_t h = root.input_nr;
  visit(root.node.get());
  while (!stack.empty() && w.eligible) {
    Node* n = stack.back();
    stack.pop_back();
    if (const char* why = describe(n, h)) {
      w.eligible = false;
      w.why_not = why;
    }
    mix(h, n->next_edges.size());
    for (const Edge& e : n->next_edges) {
      mix(h, e.valid() ? static_cast<uint64_t>(visit(e.node.get())) : ~uint64_t{0});
      mix(h, e.input_nr);
    }
  }
  w.signature = h;
  return w;
}

BackwardCapture::BackwardCapture(const GraphWalk& walk, int first_record) : walk_(walk), first_(first_record) {
  const auto add = [&](const Tensor& t, InputRef ref) {
    if (refs_.try_emplace(t.impl(), ref).second) held_.push_back(t);
  };
  for (size_t n = 0; n < walk.nodes.size(); ++n) {
    const int32_t node = static_cast<int32_t>(n);
    if (auto* op = dynamic_cast<OpNode*>(walk.nodes[n])) {
      for (size_t k = 0; k < op->saved_inputs.size(); ++k)
        if (op->saved_inputs[k].data.defined())
          add(op->saved_inputs[k].data, {InputRef::Kind::SavedInput, node, static_cast<int32_t>(k)});
      for (size_t k = 0; k < op->saved_outputs.size(); ++k)
        if (op->saved_outputs[k].data.defined())
          add(op->saved_outputs[k].data, {InputRef::Kind::SavedOutput, node, static_cast<int32_t>(k)});
    } else if (dynamic_cast<AccumulateGrad*>(walk.nodes[n])) {
      const Tensor grad = leaf_grad(walk.nodes[n]);
      leaf_had_grad_.push_back(grad.defined());
      if (grad.defined()) add(grad, {InputRef::Kind::LeafGrad, node, -1});
    }
  }
}

InputRef BackwardCapture::ref_of(const Tensor& t) {
  if (auto it = refs_.find(t.impl()); it != refs_.end()) return it->second;
  // A Python number a formula wrapped (scalar() in formula_ops.hpp): made from attributes and
  // metas, which the signature covers, so the same number in every call.
  if (t.is_wrapped_number() && !t.storage()->pending()) {
    InputRef ref{InputRef::Kind::Constant, static_cast<int32_t>(replay_.constants.size()), -1};
    replay_.constants.push_back(t);
    refs_.emplace(t.impl(), ref);
    held_.push_back(t);
    return ref;
  }
  fail("an op reads a tensor made outside the graph's saved values");
  return {};
}

void BackwardCapture::note_record(const Record& r, const std::vector<Tensor>& inputs) {
  if (r.form == CallForm::Out || r.op->effect == Effect::SideEffect || r.op->effect == Effect::Random ||
      r.op->data_dependent)
    fail("an op with side effects, random draws, an out= or a data-dependent result");
  const size_t at = replay_.inputs.size();
  for (size_t i = 0; i < r.inputs.size(); ++i) {
    const InputSource& src = r.inputs[i];
    if (src.kind == SourceKind::None)
      replay_.inputs.push_back({});
    else if (src.kind == SourceKind::Internal && src.record >= first_)
      replay_.inputs.push_back({InputRef::Kind::Local, src.record - first_, src.output});
    else
      replay_.inputs.push_back(ref_of(inputs[i]));
  }
  const auto local = [&](int i) {
    return i >= 0 && replay_.inputs[at + i].kind == InputRef::Kind::Local ? replay_.inputs[at + i] : InputRef{};
  };
  outputs_at_.push_back(static_cast<uint32_t>(output_aliases_.size()));
  for (const OutputInfo& o : r.outputs) output_aliases_.push_back(local(o.same_as_input >= 0 ? o.same_as_input : o.alias_input));
  if (r.form == CallForm::InPlace) local_targets_.push_back(local(r.op->effect == Effect::InPlace ? r.op->inplace_input : 0));
}

void BackwardCapture::note_view(const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs) {
  const Tensor* base = nullptr;
  for (const Tensor& t : inputs) {
    if (!t.defined()) continue;
    if (base) return fail("a view of several tensors made eagerly");
    base = &t;
  }
  if (!base) return fail("a view of no tensor made eagerly");
  const InputRef base_ref = ref_of(*base);
  for (const Tensor& out : outputs) {
    if (!out.defined() || refs_.count(out.impl())) continue;
    if (!out.shares_storage(*base) || out.dtype() != base->dtype()) return fail("an eager view of another dtype");
    const InputRef ref{InputRef::Kind::View, static_cast<int32_t>(replay_.views.size()), -1};
    replay_.views.push_back({base_ref, out.shape(), out.strides(), out.offset() - base->offset()});
    refs_.emplace(out.impl(), ref);
    held_.push_back(out);
  }
}

void BackwardCapture::note_conversion(const Tensor& from, const Tensor& to) {
  const InputRef base = ref_of(from);
  if (failed_) return;
  const InputRef ref{InputRef::Kind::Converted, static_cast<int32_t>(replay_.conversions.size()), -1};
  replay_.conversions.push_back({base, to.dtype(), to.is_wrapped_number()});
  refs_.emplace(to.impl(), ref);
  held_.push_back(to);
}

bool BackwardCapture::finish(const State& s, int last_record, BackwardReplay& out) {
  if (failed_) return false;
  why_not_ = "a node did not run, or a leaf's .grad is not what one of the call's ops made";
  size_t leaf = 0;
  for (size_t n = 0; n < walk_.nodes.size(); ++n) {
    Node* node = walk_.nodes[n];
    // The engine released every node it ran: each of them got a gradient.
    if (auto* op = dynamic_cast<OpNode*>(node)) {
      if (!op->released()) return false;
      continue;
    }
    const Tensor grad = leaf_grad(node);
    if (!grad.defined()) return false;
    const TraceTag& tag = grad.impl()->trace;
    if (tag.epoch != s.epoch || tag.record < first_ || tag.record >= last_record) return false;
    if (leaf_had_grad_.at(leaf++)) {
      // Accumulated in place: the .grad must be the very tensor it was.
      auto it = refs_.find(grad.impl());
      if (it == refs_.end() || it->second.kind != InputRef::Kind::LeafGrad || it->second.a != static_cast<int32_t>(n))
        return false;
      replay_.leaves.push_back({});
    } else {
      replay_.leaves.push_back({tag.record - first_, tag.output});
    }
  }
  // What replay makes: the leaves' grads, in-place targets, and, backwards, what those alias.
  std::vector<bool>& needed = replay_.needed;
  needed.assign(output_aliases_.size(), false);
  const auto need = [&](const InputRef& r) {
    if (r.kind == InputRef::Kind::Local) needed.at(outputs_at_.at(r.a) + r.b) = true;
  };
  for (const LeafGrad& g : replay_.leaves)
    if (g.op >= 0) need({InputRef::Kind::Local, g.op, g.output});
  for (const InputRef& t : local_targets_) need(t);
  for (size_t k = output_aliases_.size(); k-- > 0;)
    if (needed[k]) need(output_aliases_[k]);
  out = std::move(replay_);
  out.signature = walk_.signature;
  out.graph_nodes = walk_.nodes.size();
  return true;
}

Tensor resolve(const InputRef& ref, const BackwardReplay& replay, const GraphWalk& walk,
               const std::vector<Tensor>& outputs, const std::vector<uint32_t>& outputs_at, Resolved& made) {
  using Kind = InputRef::Kind;
  switch (ref.kind) {
    case Kind::None:
      return {};
    case Kind::Local:
      return static_cast<size_t>(ref.a) < outputs_at.size() ? outputs.at(outputs_at[ref.a] + ref.b) : Tensor();
    case Kind::SavedInput:
    case Kind::SavedOutput: {
      auto* op = static_cast<size_t>(ref.a) < walk.nodes.size() ? dynamic_cast<OpNode*>(walk.nodes[ref.a]) : nullptr;
      if (!op) return {};
      const std::vector<SavedTensor>& saved = ref.kind == Kind::SavedInput ? op->saved_inputs : op->saved_outputs;
      return static_cast<size_t>(ref.b) < saved.size() ? saved[ref.b].data : Tensor();
    }
    case Kind::LeafGrad:
      return static_cast<size_t>(ref.a) < walk.nodes.size() ? leaf_grad(walk.nodes[ref.a]) : Tensor();
    case Kind::Constant:
      return replay.constants.at(ref.a);
    case Kind::View:
      return made_once(made.views, replay.views.size(), ref.a, [&]() -> Tensor {
        const SideView& v = replay.views[ref.a];
        const Tensor base = resolve(v.base, replay, walk, outputs, outputs_at, made);
        if (!base.defined()) return {};
        auto impl = std::make_shared<TensorImpl>();
        impl->storage = base.storage();
        impl->shape = v.shape;
        impl->strides = v.strides;
        impl->offset = base.offset() + v.offset_delta;
        impl->dtype = base.dtype();
        return Tensor(std::move(impl));
      });
    case Kind::Converted:
      return made_once(made.conversions, replay.conversions.size(), ref.a, [&]() -> Tensor {
        const Conversion& c = replay.conversions[ref.a];
        const Tensor base = resolve(c.base, replay, walk, outputs, outputs_at, made);
        if (!base.defined() || !base.is_wrapped_number() || base.storage()->pending()) return {};
        return c.wrapped ? cast_to(base, c.dtype) : number_as_tensor(base, c.dtype);
      });
  }
  return {};
}

}  // namespace terra::trace::detail
