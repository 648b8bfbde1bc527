// Memory planning (passes.hpp). A buffer is live from the first kernel that touches it to the last
// (views extend their base's life, since they share its buffer). Kernels are visited in order:
// buffers dead before the current kernel give their space back, then the kernel's new buffers are
// placed best-fit in the gaps between live ones, or take a dying input's space in place. Each
// device has an arena of its own: a buffer is placed in its device's, and space is reused only
// between buffers of one device.
#include <algorithm>

#include "engine/graph/analysis.hpp"
#include "engine/graph/passes.hpp"

namespace terra::graph {

namespace {

constexpr size_t kAlign = 64;
size_t aligned(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

struct KernelValues {
  std::vector<int> reads, defines;
  bool elementwise = false;  // may write an output over an input of the same layout
};

KernelValues kernel_values(const Program& p, const std::vector<FusedGroup>& groups, const Kernel& k) {
  if (k.group >= 0) return {groups[k.group].inputs, groups[k.group].outputs, true};
  const Step& s = p.steps[k.step];
  KernelValues kv;
  for (int in : s.inputs)
    if (in >= 0) kv.reads.push_back(in);
  kv.defines = s.outputs;
  kv.elementwise = s.form == trace::CallForm::Functional && s.op->effect == Effect::Pure &&
                   s.op->fusion == FusionKind::Elementwise && !s.op->kernel_makes_outputs;
  return kv;
}

bool same_layout(const trace::ValueMeta& a, const trace::ValueMeta& b) {
  return a.shape == b.shape && a.strides == b.strides && a.offset == b.offset && a.dtype == b.dtype;
}

struct Block {
  size_t offset, size;
  int buffer;
};

class Arena {
 public:
  explicit Arena(bool share) : share_(share) {}
  void release_dead(int position, const std::vector<BufferPlacement>& placement) {
    live_.erase(std::remove_if(live_.begin(), live_.end(), [&](const Block& b) { return placement[b.buffer].last < position; }),
                live_.end());
  }
  // Best fit among the blocks that `occupies` says hold their bytes now (with an order to keep,
  // dead blocks stay in the list and say so themselves: release_dead is not called).
  template <class Occupies>
  size_t place(int buffer, size_t nbytes, const Occupies& occupies) {
    const size_t size = aligned(std::max<size_t>(nbytes, 1));
    size_t offset = end_;
    if (share_) {  // live_ is kept sorted by offset
      size_t best_gap = SIZE_MAX, prev_end = 0, top = 0;
      for (const Block& b : live_) {
        if (!occupies(b.buffer)) continue;
        const size_t gap = b.offset - prev_end;
        if (b.offset >= prev_end && gap >= size && gap < best_gap) {
          best_gap = gap;
          offset = prev_end;
        }
        prev_end = std::max(prev_end, b.offset + b.size);
        top = prev_end;
      }
      if (best_gap == SIZE_MAX) offset = top;
    }
    const Block placed{offset, size, buffer};
    live_.insert(std::upper_bound(live_.begin(), live_.end(), placed,
                                  [](const Block& a, const Block& b) { return a.offset < b.offset; }),
                 placed);
    end_ = std::max(end_, offset + size);
    return offset;
  }
  // `to` takes over the space of `from` (which dies where `to` is born).
  void hand_over(int from, int to) {
    for (Block& b : live_)
      if (b.buffer == from) b.buffer = to;
  }
  size_t size() const { return end_; }

 private:
  bool share_;
  std::vector<Block> live_;
  size_t end_ = 0;
};

// The buffer whose space `out` may take: an Arena input dying here, same size and layout, and
// read here only through values of that layout.
template <class Free>
int donor(const Program& p, const KernelValues& kv, int out, int position, const std::vector<BufferPlacement>& placement,
          const std::vector<bool>& donated, const Free& free_for) {
  const Value& o = p.values[out];
  for (int in : kv.reads) {
    const int b = p.values[in].buffer;
    if (placement[b].where != Placement::Arena || placement[b].last != position || donated[b] ||
        p.buffers[b].device != p.buffers[o.buffer].device || p.buffers[b].nbytes != p.buffers[o.buffer].nbytes || !same_layout(p.values[in].meta, o.meta) ||
        !free_for(b))
      continue;
    bool one_layout = true;
    for (int other : kv.reads)
      one_layout = one_layout && (p.values[other].buffer != b || same_layout(p.values[other].meta, o.meta));
    if (one_layout) return b;
  }
  return -1;
}

void classify(const Program& p, const std::vector<KernelValues>& kernels, const std::vector<Kernel>& schedule,
              std::vector<BufferPlacement>& placement) {
  placement.assign(p.buffers.size(), {});
  for (int k = 0; k < static_cast<int>(kernels.size()); ++k) {
    for (const std::vector<int>* list : {&kernels[k].reads, &kernels[k].defines})
      for (int v : *list) {
        BufferPlacement& bp = placement[p.values[v].buffer];
        if (bp.first < 0) bp.first = k;
        bp.last = k;
        bp.where = Placement::Arena;
      }
    const Kernel& kernel = schedule[k];
    if (kernel.step < 0) continue;
    const Step& s = p.steps[kernel.step];
    if (s.form != trace::CallForm::Functional || !s.op->kernel_makes_outputs) continue;
    for (size_t o = 0; o < s.outputs.size(); ++o)
      if (fresh_output(p, s, static_cast<int>(o))) placement[p.values[s.outputs[o]].buffer].where = Placement::OpAllocated;
  }
  for (const Value& v : p.values)
    if (v.constant >= 0) placement[v.buffer].where = Placement::Constant;
  for (size_t b = 0; b < p.buffers.size(); ++b) {
    if (p.buffers[b].kind == BufferKind::Bound) placement[b].where = Placement::Bound;
    if (p.buffers[b].kind == BufferKind::Kept) placement[b].where = Placement::Kept;
  }
}

}  // namespace

std::vector<ArenaSize> plan_memory(const Program& p, const std::vector<FusedGroup>& groups,
                                   const std::vector<Kernel>& schedule, const CompileOptions& options,
                                   std::vector<BufferPlacement>& placement, const Ancestry* order) {
  std::vector<KernelValues> kernels;
  for (const Kernel& k : schedule) kernels.push_back(kernel_values(p, groups, k));
  classify(p, kernels, schedule, placement);
  // With an order to keep (side_by_side.hpp), the space of a dead buffer is free for kernel k only
  // once every kernel that touched the buffer runs before k anyway.
  const bool ordered = order && !order->empty();
  std::vector<std::vector<int>> touched_by(ordered ? p.buffers.size() : 0);
  if (ordered)
    for (int k = 0; k < static_cast<int>(kernels.size()); ++k)
      for (const std::vector<int>* list : {&kernels[k].reads, &kernels[k].defines})
        for (int v : *list) {
          std::vector<int>& by = touched_by[p.values[v].buffer];
          if (by.empty() || by.back() != k) by.push_back(k);
        }
  int at = 0;  // the kernel being placed
  // Every kernel but `at` itself that touched `buffer` runs before `at`.
  auto free_for = [&](int buffer) {
    if (!ordered) return true;
    const std::vector<uint64_t>& before = (*order)[at];
    for (int k : touched_by[buffer])
      if (k != at && !((before[k / 64] >> (k % 64)) & 1)) return false;
    return true;
  };
  auto occupies = [&](int buffer) { return !ordered || placement[buffer].last >= at || !free_for(buffer); };
  std::vector<Device> devices;  // of the arenas, in order of first placement
  std::vector<Arena> arenas;
  auto arena_of = [&](Device d) {
    const size_t a = static_cast<size_t>(std::find(devices.begin(), devices.end(), d) - devices.begin());
    if (a == devices.size()) {
      devices.push_back(d);
      arenas.emplace_back(options.memory_planning);
    }
    return static_cast<int>(a);
  };
  std::vector<bool> donated(p.buffers.size(), false), placed(p.buffers.size(), false);
  for (int k = 0; k < static_cast<int>(kernels.size()); ++k) {
    at = k;
    if (!ordered)
      for (Arena& arena : arenas) arena.release_dead(k, placement);
    for (int in : kernels[k].reads) {  // only a malformed program reads a buffer before defining it
      const int b = p.values[in].buffer;
      TERRA_ASSERT(placement[b].where != Placement::Arena || placed[b]);
    }
    for (int out : kernels[k].defines) {
      const int b = p.values[out].buffer;
      if (placement[b].where != Placement::Arena || placed[b]) continue;
      placed[b] = true;
      const int a = placement[b].arena = arena_of(p.buffers[b].device);
      const int from = options.inplace_reuse && kernels[k].elementwise ? donor(p, kernels[k], out, k, placement, donated, free_for) : -1;
      if (from >= 0) {
        donated[from] = true;
        placement[b].offset = placement[from].offset;
        placement[b].reused_from = from;
        arenas[a].hand_over(from, b);
      } else {
        placement[b].offset = arenas[a].place(b, p.buffers[b].nbytes, occupies);
      }
    }
  }
  std::vector<ArenaSize> sizes;
  for (size_t a = 0; a < arenas.size(); ++a) sizes.push_back({devices[a], arenas[a].size()});
  return sizes;
}

}  // namespace terra::graph
