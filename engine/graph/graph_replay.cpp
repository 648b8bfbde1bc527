// Which plan runs may be CUDA graphs and when to capture (graph_replay.hpp, Note [CUDA graph replay]).
#include "engine/graph/graph_replay.hpp"

#include <cstdlib>
#include <algorithm>
#include <cstring>

namespace terra::graph {

bool cuda_graphs_from_env() {
  const char* v = std::getenv("TERRA_CUDA_GRAPHS");
  return !v || std::strcmp(v, "0") != 0;
}

namespace {

// Why step `s` needs the host between kernels, or its results cannot be replayed ("" when
// neither). Memory a step allocates is fine: the graph keeps it (Note [Memory of a captured graph]
// in tensor/cuda/graph_capture.hpp); host reads and host fallbacks no rule here can see make
// the capture fail, and the plan then runs plainly.
std::string step_blocker(const Step& s) {
  const OpDef& op = *s.op;
  if (s.runtime_attrs >= 0) return "takes attributes that change from run to run";
  if (op.effect == Effect::Random) return "draws random numbers";
  if (op.effect == Effect::SideEffect) return "has side effects";
  if (op.data_dependent) return "may have data-dependent output shapes";
  return "";
}

}  // namespace

std::string cuda_graph_blocker(const CompiledPlan& plan) {
  const Program& p = plan.program;
  if (plan.schedule.empty()) return "no kernels";
  const auto on_cuda = std::find_if(p.values.begin(), p.values.end(), [](const Value& v) { return v.meta.device.is_cuda(); });
  if (on_cuda == p.values.end()) return "runs on cpu";
  const Device device = on_cuda->meta.device;
  for (size_t v = 0; v < p.values.size(); ++v) {
    const Value& val = p.values[v];
    // A Python number (a 0-d CPU tensor a kernel reads at launch) is fine from outside: its value
    // is part of the replay key.
    const bool number = val.meta.device.is_cpu() && val.meta.shape.empty() && (val.bound >= 0 || val.constant >= 0);
    if (val.meta.device != device && !number)
      return "value " + std::to_string(v) + " is on " + val.meta.device.str() + ", not " + device.str();
  }
  for (const Kernel& k : plan.schedule) {
    if (k.group >= 0) continue;  // fused groups are elementwise and on the device, as checked above
    const Step& s = p.steps[k.step];
    const std::string why = step_blocker(s);
    if (!why.empty()) return "step " + std::to_string(k.step) + " (" + s.op->name() + ") " + why;
  }
  return "";
}

std::vector<bool> stageable_inputs(const Program& p) {
  std::vector<bool> written(p.buffers.size(), false);
  for (const Step& s : p.steps)
    if (s.op->effect != Effect::View)
      for (int out : s.outputs) written[p.values[out].buffer] = true;
  std::vector<bool> stageable(p.num_bound);
  for (int v = 0; v < p.num_bound; ++v) stageable[v] = !written[p.values[v].buffer];
  return stageable;
}

namespace {

bool is_number(const Tensor& t) { return t.device().is_cpu() && t.dim() == 0; }

// A copy of `t` over the bytes from its first element to its last (no negative strides).
bool copyable(const Tensor& t) {
  return !is_number(t) && std::all_of(t.strides().begin(), t.strides().end(), [](int64_t s) { return s >= 0; });
}

}  // namespace

bool stage_moved_inputs(const std::vector<Tensor>& bound, const std::vector<bool>& stageable,
                        std::vector<const void*>& last, std::vector<bool>& staged) {
  bool added = false;
  const bool first = last.empty();
  last.resize(bound.size());
  staged.resize(bound.size(), false);
  for (size_t v = 0; v < bound.size(); ++v) {
    const void* at = bound[v].raw_data();
    if (!first && at != last[v] && stageable[v] && !staged[v] && copyable(bound[v])) staged[v] = added = true;
    last[v] = at;
  }
  return added;
}

ReplayKey replay_key(const std::vector<Storage>& arenas, const std::vector<Tensor>& bound,
                     const std::vector<bool>& staged) {
  ReplayKey key;
  for (const Storage& a : arenas) key.push_back(reinterpret_cast<intptr_t>(a->data_unsynced()));
  for (size_t v = 0; v < bound.size(); ++v) {
    const Tensor& t = bound[v];
    if (is_number(t)) {  // its value, wherever it lives
      intptr_t bits = 0;
      std::memcpy(&bits, t.raw_data(), std::min(sizeof bits, t.itemsize()));
      key.push_back(bits);
      continue;
    }
    if (!(v < staged.size() && staged[v])) key.push_back(reinterpret_cast<intptr_t>(t.raw_data()));
    key.push_back(t.offset());  // a staged copy has the same layout, offset included
    key.insert(key.end(), t.strides().begin(), t.strides().end());
  }
  return key;
}

ReplayPolicy::Decision ReplayPolicy::next(const ReplayKey& key) {
  if (gave_up_) return {};
  if (!warmed_up_) {
    warmed_up_ = true;
    return {};
  }
  ++clock_;
  int slot = 0;
  for (int i = 0; i < kSlots; ++i) {
    if (!keys_[i].empty() && keys_[i] == key) {
      used_[i] = clock_;
      return {Action::Replay, i};
    }
    if (used_[i] < used_[slot]) slot = i;  // the least recently used (or an empty) slot
  }
  if (captures_ == kMaxCaptures) {
    gave_up_ = true;
    keys_ = {};
    return {Action::GiveUp, -1};
  }
  ++captures_;
  keys_[slot] = key;
  used_[slot] = clock_;
  return {Action::Capture, slot};
}

}  // namespace terra::graph
