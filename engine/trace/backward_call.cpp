// The backward() calls of a tracing session (Note [Replaying backward] in backward_replay.cpp):
// a traced call is captured (its ops, where their inputs come from, its graph's signature), and a
// replayed iteration's call at the same place, with a graph of a known signature, hands out the
// ops it captured at once instead of running the autograd engine.
#include <algorithm>
#include <functional>
#include <optional>

#include "engine/autograd/autograd_meta.hpp"
#include "engine/autograd/grad_mode.hpp"
#include "engine/autograd/node.hpp"
#include "engine/trace/hook.hpp"
#include "engine/trace/session_state.hpp"

namespace terra::trace {

using detail::after_replayed;
using detail::BackwardCapture;
using detail::BackwardReplay;
using detail::classify;
using detail::deferred_output;
using detail::GraphWalk;
using detail::InputRef;
using detail::IterationMode;
using detail::LeafGrad;
using detail::locate;
using detail::mark_written;
using detail::next_position;
using detail::record_replayed;
using detail::resolve;
using detail::settle_external_inputs;
using detail::source_of;
using detail::State;
using detail::walk_graph;

namespace {

// Whether `t`, an input of the call's op at `slot` from outside the call, is what matching the op
// would accept: the record's source (the same producer, or the same alias class among the
// iteration's externals; `fresh`: storages first used by the call's earlier ops) and its metas.
bool acceptable_input(const State& s, const Record& rec, size_t i, const Tensor& t, int slot,
                      std::vector<std::pair<const StorageImpl*, int>>& fresh) {
  if (!same_identity_meta(rec.input_metas[i], t)) return false;
  InputSource src = source_of(s, t);
  if (src.external() && src.alias < 0) {
    const StorageImpl* st = t.storage().get();
    auto seen = std::find_if(fresh.begin(), fresh.end(), [&](const auto& f) { return f.first == st; });
    if (seen == fresh.end()) seen = fresh.insert(fresh.end(), {st, slot});
    src.alias = seen->second;
  }
  return src == rec.inputs[i];
}

// Where a backward() call ran through the autograd engine, and why (the first reason per place).
void note_refusal(State& s, uint64_t location, const char* why) {
  if (s.backward_refusals.size() < 16) s.backward_refusals.try_emplace(location, why);
}

constexpr const char* kReplayed = nullptr;
constexpr const char* kNotTracedHere = "";  // no traced call here: tracing said why, if it refused

// Hands out the ops of a traced backward() call found for this place and graph: kReplayed, or
// why not (nothing done then).
const char* replay_backward(State& s, const Edge& root, uint64_t location) {
  auto known = s.backward_replays.find({s.cursor, location});
  if (known == s.backward_replays.end()) return kNotTracedHere;
  const GraphWalk walk = walk_graph(root, known->second.front().graph_nodes);
  if (!walk.eligible) return walk.why_not;
  const BackwardReplay* replay = nullptr;
  for (const BackwardReplay& r : known->second)
    if (r.signature == walk.signature) replay = &r;
  if (!replay) return "the autograd graph differs from every traced call's here";
  const int first = next_position(s);
  if (s.forced_op >= first && s.forced_op < first + static_cast<int>(replay->nodes.size())) return kNotTracedHere;

  // Everything the ops read from outside the call, checked before anything is handed out.
  std::vector<Tensor> outside(replay->inputs.size());
  std::vector<std::pair<const StorageImpl*, int>> fresh;
  detail::Resolved made;
  size_t at = 0;
  for (size_t k = 0; k < replay->nodes.size(); ++k) {
    const Record& rec = s.graph.record(replay->nodes[k]);
    for (size_t i = 0; i < rec.inputs.size(); ++i, ++at) {
      const InputRef& ref = replay->inputs.at(at);
      if (ref.kind == InputRef::Kind::None || ref.kind == InputRef::Kind::Local) continue;
      outside[at] = resolve(ref, *replay, walk, {}, {}, made);
      const int slot = (first + static_cast<int>(k)) * 64 + static_cast<int>(std::min<size_t>(i, 63));
      if (!outside[at].defined() || !acceptable_input(s, rec, i, outside[at], slot, fresh))
        return "an input of one of its ops is not what it was when traced";
    }
  }
  if (at != replay->inputs.size()) return "an input of one of its ops is not what it was when traced";

  // A span that writes one of them runs first, once, so that no op of the call starts a span of
  // its own: the call's outputs that no later op, view or .grad reads are then made not at all.
  settle_external_inputs(s, outside);
  std::vector<Tensor> outputs, inputs;
  std::vector<uint32_t> outputs_at;
  outputs_at.reserve(replay->nodes.size());
  outputs.reserve(replay->needed.size());
  at = 0;
  for (size_t k = 0; k < replay->nodes.size(); ++k) {
    const int node = replay->nodes[k];
    const Record& rec = s.graph.record(node);
    inputs.clear();
    for (size_t i = 0; i < rec.inputs.size(); ++i, ++at) {
      const InputRef& ref = replay->inputs[at];
      inputs.push_back(ref.kind == InputRef::Kind::Local ? outputs.at(outputs_at.at(ref.a) + ref.b) : std::move(outside[at]));
      if (rec.inputs[i].external())  // joins its alias class, as matching it would
        classify(s, inputs.back(), (first + static_cast<int>(k)) * 64 + static_cast<int>(std::min<size_t>(i, 63)));
    }
    const size_t made = outputs.size();
    outputs_at.push_back(static_cast<uint32_t>(made));
    if (rec.form == CallForm::InPlace) {
      const Tensor& target = inputs.at(rec.op->effect == Effect::InPlace ? rec.op->inplace_input : 0);
      mark_written(s, target);
      target.bump_version();
      outputs.push_back(target);
    } else {
      for (size_t o = 0; o < rec.outputs.size(); ++o) {
        const OutputInfo& info = rec.outputs[o];
        if (!replay->needed.at(made + o)) outputs.emplace_back();
        else outputs.push_back(info.same_as_input >= 0 ? inputs.at(info.same_as_input) : deferred_output(info, inputs));
      }
    }
    record_replayed(s, node, std::nullopt, inputs, outputs.data() + made, outputs.size() - made, false);
  }
  // What the autograd engine leaves behind: the leaves' .grad, and no saved tensors.
  size_t leaf = 0;
  for (Node* n : walk.nodes) {
    if (auto* op = dynamic_cast<OpNode*>(n)) {
      op->release_saved();
    } else if (auto* acc = dynamic_cast<AccumulateGrad*>(n)) {
      const LeafGrad& g = replay->leaves.at(leaf++);
      if (g.op >= 0) autograd::ensure_meta(Tensor(acc->leaf())).grad = outputs.at(outputs_at.at(g.op) + g.output);
    }
  }
  s.stats.backward_replays++;
  after_replayed(s, false);
  return kReplayed;
}

// Why a call with these arguments is never replayed whole; null when it may be.
const char* refused_by_arguments(const std::vector<Tensor>& roots, const std::vector<Tensor>& grad_roots,
                                 bool retain_graph, bool create_graph) {
  if (roots.size() != 1 || !roots[0].defined()) return "backward() of several tensors";
  if (roots[0].numel() != 1 || (!grad_roots.empty() && grad_roots[0].defined())) return "a gradient given to backward()";
  if (retain_graph || create_graph) return "retain_graph or create_graph";
  return nullptr;
}

}  // namespace

void backward_call(const std::vector<Tensor>& roots, const std::vector<Tensor>& grad_roots, bool retain_graph,
                   bool create_graph, const std::function<void()>& run) {
  State& s = detail::state();
  // Anomaly mode checks each node's gradients, which only the autograd engine's formulas produce.
  if (!s.options.replay_backward || backward_of != 0 || AnomalyMode::is_enabled()) return run();
  const char* refused = refused_by_arguments(roots, grad_roots, retain_graph, create_graph);
  const Edge root = refused ? Edge{} : autograd::gradient_edge(roots[0]);
  if (!refused && !root.valid()) return run();  // the autograd engine raises
  std::optional<GraphWalk> walk;
  std::optional<BackwardCapture> capture;
  int first = 0;
  uint32_t epoch = 0;
  uint64_t location = 0;
  {
    auto lock = detail::lock(s);
    location = locate(s);
    const bool recording = s.mode == IterationMode::Tracing || s.mode == IterationMode::Replaying;
    if (refused) {
      if (recording) note_refusal(s, location, refused);
    } else if (s.mode == IterationMode::Replaying) {
      const char* why = replay_backward(s, root, location);
      if (why == kReplayed) return;
      if (*why) note_refusal(s, location, why);
    } else if (s.mode == IterationMode::Tracing) {
      walk = walk_graph(root);
      if (walk->eligible) {
        first = next_position(s);
        epoch = s.epoch;
        capture.emplace(*walk, first);
        s.capture = &*capture;
      } else {
        note_refusal(s, location, walk->why_not);
      }
    }
  }
  struct Release {
    State& s;
    ~Release() { s.capture = nullptr; }
  } release{s};
  run();
  if (!capture) return;
  auto lock = detail::lock(s);
  s.capture = nullptr;
  if (s.mode != IterationMode::Tracing || s.epoch != epoch) return;
  State::TracedBackward traced;
  traced.first = first;
  traced.last = next_position(s);
  traced.location = location;
  if (traced.last > first && capture->finish(s, traced.last, traced.replay))
    s.traced_backwards.push_back(std::move(traced));
  else
    note_refusal(s, location, capture->why_not());
}

void note_host_conversion(const Tensor& from, const Tensor& to) {
  State* s = detail::state_if_any();
  if (s && s->capture) s->capture->note_conversion(from, to);
}

}  // namespace terra::trace
