#include "engine/graph/side_by_side.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "engine/graph/analysis.hpp"
#include "engine/graph/plan.hpp"

namespace terra::graph {

// Note [Steps side by side]
// The schedule is one order of the plan's kernels; many others give the same bits. In a recurrent
// network the second layer's step t and the first layer's step t + 1 do not read each other, nor do
// the weight gradients of a backward pass and the chain of input gradients it walks back. Kernels
// that small run one chunk each (they are under parallel_for's grain, and OpenBLAS does not thread
// a GEMM under kBlasSerialWork), so in order they keep one core busy while the other waits. The
// executor runs them side by side on the pool's threads instead, each kernel once it has what it
// waits for:
//   - a kernel waits for the producers of the values it reads, for the last write of every buffer
//     it reads, and, when it writes a buffer, for every read and write of it since; arena buffers
//     that share bytes (the memory plan reuses space) count as one buffer for this;
//   - some kernels run alone, after all earlier ones and before all later ones: those that draw
//     random numbers (the generator's order is the schedule's) or have other side effects, those
//     that write a bound tensor (what a program sees if a kernel fails must not depend on the
//     order: a parameter is updated only once everything before it ran), and those large enough
//     to be split over the pool themselves (kWideBytes), which run with every thread as before.
// Each kernel computes what it computed in order, on the same chunks (parallel_for cuts a nested
// call as it cuts a top-level one), so results are bitwise those of the schedule's order.
// Memory planning reuses the bytes of dead buffers, and two buffers sharing bytes order every
// kernel of one before every kernel of the other; planned in schedule order alone, that ordered
// most of an LSTM's independent kernels (a 3-layer LSTM over 4 steps: width 3.1 without sharing,
// 1.75 with it). So the planner gets the order the program itself imposes (ancestry()) and gives
// a buffer the bytes of a dead one only when every kernel that touched the dead one runs before
// the new one's first kernel anyway (the same LSTM: width 3.1, arena 5.6 kB instead of 2.4 kB
// packed tight or 37.6 kB unshared).
// Handing a kernel from thread to thread costs about a microsecond, so a plan goes side by side
// only when it is wide enough (kMinWidth) and its fastest run in order took kMinSideBySideSeconds
// or more; and it goes back to running in order if its fastest run side by side was slower.
// Measured (lstm_timeseries, 2 cores): the LBFGS closure's plan, 1177 kernels of float64 [16, 128]
// products and LSTM cells, ran in ~7.5 ms side by side against ~8-12 ms in order (this host's
// noise), its width 3.5; co-executed, the program's best of 7 runs went from 1.84 s to 1.26 s.

namespace {

// A kernel that reads and writes at least this many bytes may be worth splitting over the pool
// (parallel_for's grain is 32768 elements; OpenBLAS threads GEMMs from a few hundred kB).
constexpr size_t kWideBytes = size_t{128} << 10;

// What one schedule position reads and writes.
struct Access {
  std::vector<int> reads;   // values
  std::vector<int> writes;  // buffers
  size_t bytes = 0;
  bool alone = false;
};

Access access_of(const Program& p, const std::vector<FusedGroup>& groups, const Kernel& k) {
  Access a;
  auto read = [&](int v) {
    if (v < 0) return;
    a.reads.push_back(v);
    a.bytes += value_nbytes(p.values[v]);
  };
  auto write = [&](int b, size_t nbytes) {
    a.writes.push_back(b);
    a.bytes += nbytes;
    if (p.buffers[b].kind == BufferKind::Bound) a.alone = true;
  };
  if (k.group >= 0) {
    const FusedGroup& g = groups[k.group];
    for (int v : g.inputs) read(v);
    for (int v : g.outputs) write(p.values[v].buffer, value_nbytes(p.values[v]));
    return a;
  }
  const Step& s = p.steps[k.step];
  for (int v : s.inputs) read(v);
  for (int b : overwritten_buffers(p, s)) write(b, 0);
  if (s.form == trace::CallForm::Functional && s.op->effect != Effect::InPlace)
    for (size_t o = 0; o < s.outputs.size(); ++o)
      if (fresh_output(p, s, static_cast<int>(o))) write(p.values[s.outputs[o]].buffer, value_nbytes(p.values[s.outputs[o]]));
  if (s.op->effect == Effect::Random || s.op->effect == Effect::SideEffect) a.alone = true;
  return a;
}

// For each arena buffer, the other arena buffers whose bytes overlap it.
std::vector<std::vector<int>> overlapping_buffers(const CompiledPlan& plan) {
  const Program& p = plan.program;
  std::vector<std::vector<int>> overlaps(p.buffers.size());
  std::vector<int> arena;
  for (int b = 0; b < static_cast<int>(p.buffers.size()); ++b)
    if (plan.placement[b].where == Placement::Arena) arena.push_back(b);
  auto start = [&](int b) { return plan.placement[b].offset; };
  auto stop = [&](int b) { return plan.placement[b].offset + p.buffers[b].nbytes; };
  std::sort(arena.begin(), arena.end(), [&](int x, int y) { return start(x) < start(y); });
  for (size_t i = 0; i < arena.size(); ++i)
    for (size_t j = i + 1; j < arena.size() && start(arena[j]) < stop(arena[i]); ++j) {
      const int x = arena[i], y = arena[j];
      if (plan.placement[x].arena != plan.placement[y].arena || p.buffers[x].nbytes == 0 || p.buffers[y].nbytes == 0)
        continue;
      overlaps[x].push_back(y);
      overlaps[y].push_back(x);
    }
  return overlaps;
}

// Walks the schedule in order. For each position i: begin(i, access), then wait(j) for every
// earlier position j it must follow: the producers of the values it reads, the last write of each
// buffer it reads, and every read and write since of each buffer it writes, where a buffer stands
// for itself and the buffers in `sharing[b]` (bytes shared in an arena; none when `sharing` is
// empty). Positions may repeat among the waits.
template <class Begin, class Wait>
void walk_order(const Program& p, const std::vector<FusedGroup>& groups, const std::vector<Kernel>& schedule,
                const std::vector<std::vector<int>>& sharing, Begin&& begin, Wait&& wait) {
  const int n = static_cast<int>(schedule.size());
  std::vector<int> position_of_step(p.steps.size(), -1);
  for (int i = 0; i < n; ++i) {
    if (schedule[i].group >= 0)
      for (int s : groups[schedule[i].group].steps) position_of_step[s] = i;
    else
      position_of_step[schedule[i].step] = i;
  }
  struct BufferUse {
    int last_write = -1;
    std::vector<int> reads_since;
  };
  std::vector<BufferUse> use(p.buffers.size());
  auto each_sharing = [&](int b, auto&& f) {
    f(use[b]);
    if (!sharing.empty())
      for (int o : sharing[b]) f(use[o]);
  };
  for (int i = 0; i < n; ++i) {
    const Access a = access_of(p, groups, schedule[i]);
    begin(i, a);
    for (int v : a.reads) {
      const Value& val = p.values[v];
      if (val.producer >= 0) wait(position_of_step[val.producer]);
      if (val.constant < 0) each_sharing(val.buffer, [&](const BufferUse& u) { wait(u.last_write); });
    }
    for (int b : a.writes)
      each_sharing(b, [&](const BufferUse& u) {
        wait(u.last_write);
        for (int r : u.reads_since) wait(r);
      });
    for (int v : a.reads)
      if (p.values[v].constant < 0) use[p.values[v].buffer].reads_since.push_back(i);
    for (int b : a.writes) {
      use[b].last_write = i;
      use[b].reads_since.clear();
    }
  }
}

}  // namespace

Ancestry ancestry(const Program& p, const std::vector<FusedGroup>& groups, const std::vector<Kernel>& schedule) {
  const int n = static_cast<int>(schedule.size());
  Ancestry out;
  if (n > kMaxAncestry) return out;
  const size_t words = (static_cast<size_t>(n) + 63) / 64;
  out.assign(n, std::vector<uint64_t>(words, 0));
  int at = 0;
  walk_order(p, groups, schedule, {}, [&](int i, const Access&) { at = i; }, [&](int j) {
    if (j < 0) return;
    std::vector<uint64_t>& mine = out[at];
    mine[j / 64] |= uint64_t{1} << (j % 64);
    for (size_t w = 0; w < words; ++w) mine[w] |= out[j][w];
  });
  return out;
}

SideBySide side_by_side(const CompiledPlan& plan) {
  SideBySide out;
  for (const Buffer& b : plan.program.buffers)
    if (b.device.type != DeviceType::CPU) return out;
  const int n = static_cast<int>(plan.schedule.size());
  out.alone.assign(n, 0);
  out.waits_for.assign(n, {});
  out.unblocks.assign(n, {});
  std::vector<int> depth(n, 0);  // longest chain of waits ending here, within the stretch
  int stretch_begin = 0, stretch_kernels = 0, stretch_depth = 0;
  int64_t kernels = 0, chain = 0;
  auto close_stretch = [&] {
    kernels += stretch_kernels;
    chain += stretch_depth;
    stretch_kernels = stretch_depth = 0;
  };
  int at = -1;
  std::vector<int> waits;
  auto finish = [&] {  // settles the position visited last
    if (at < 0 || out.alone[at]) return;
    std::sort(waits.begin(), waits.end());
    waits.erase(std::unique(waits.begin(), waits.end()), waits.end());
    for (int j : waits) {
      out.unblocks[j].push_back(at);
      depth[at] = std::max(depth[at], depth[j]);
    }
    depth[at] += 1;
    out.waits_for[at] = waits;
    stretch_kernels += 1;
    stretch_depth = std::max(stretch_depth, depth[at]);
  };
  walk_order(plan.program, plan.groups, plan.schedule, overlapping_buffers(plan),
             [&](int i, const Access& a) {
               finish();
               at = i;
               waits.clear();
               if (a.alone || a.bytes >= kWideBytes) {
                 out.alone[i] = 1;
                 close_stretch();
                 stretch_begin = i + 1;
               }
             },
             [&](int j) {
               if (j >= stretch_begin && j < at) waits.push_back(j);
             });
  finish();
  close_stretch();
  out.width = chain > 0 ? static_cast<double>(kernels) / static_cast<double>(chain) : 1.0;
  return out;
}

int side_by_side_from_env() {
  static const int setting = [] {
    const char* v = std::getenv("TERRA_SIDE_BY_SIDE");
    if (!v || !*v) return -1;
    return std::strcmp(v, "0") == 0 ? 0 : 1;
  }();
  return setting;
}

}  // namespace terra::graph
