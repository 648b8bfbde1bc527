// Which kernels of a CPU plan may run side by side on the pool's threads (Note [Steps side by
// side] in side_by_side.cpp): the order the schedule must keep, from the buffers each kernel reads
// and writes, and the kernels that run alone.
#pragma once
#include <cstdint>
#include <vector>

namespace terra::graph {

struct CompiledPlan;
struct FusedGroup;
struct Kernel;
struct Program;

// Per schedule position, a bitset of the earlier positions it must run after because of what it
// reads and writes (values, and buffers; not bytes that buffers share in an arena, which are not
// placed yet). The memory planner gives a buffer the space of a dead one only when everything that
// touched the dead one is among these, so that sharing bytes adds no order the program lacks.
// Empty for a schedule longer than kMaxAncestry (the bitsets grow with its square).
using Ancestry = std::vector<std::vector<uint64_t>>;
constexpr int kMaxAncestry = 4096;
Ancestry ancestry(const Program& p, const std::vector<FusedGroup>& groups, const std::vector<Kernel>& schedule);

struct SideBySide {
  // Per schedule position: runs alone, after every earlier kernel and before every later one.
  std::vector<uint8_t> alone;
  // Per schedule position: the earlier positions of its stretch (the kernels between two lone
  // ones) it must wait for, and the later ones that wait for it.
  std::vector<std::vector<int>> waits_for;
  std::vector<std::vector<int>> unblocks;
  // Kernels outside lone positions over the longest chain of waits through them, summed over the
  // stretches: how many kernels could run at once on average (1 when nothing can).
  double width = 1;
};

// How a plan's runs went, in order and side by side (the executor's choice between the two).
struct SideBySideTimes {
  int in_order = 0, side_by_side = 0;
  double fastest_in_order = 0, fastest_side_by_side = 0;
};

// Empty `alone` when the plan has a kernel off the CPU (the executor then runs it in order).
SideBySide side_by_side(const CompiledPlan& plan);

// TERRA_SIDE_BY_SIDE: "0" never (0), "1" whenever the pool has threads to spare (1), unset (-1):
// when the plan's width is at least kMinWidth, its fastest run in order took kMinSideBySideSeconds
// or more (handing kernels between threads costs about a microsecond each), and its fastest run
// side by side, once there is one, was not slower. Read once.
int side_by_side_from_env();
constexpr double kMinWidth = 1.3;
constexpr double kMinSideBySideSeconds = 100e-6;

}  // namespace terra::graph
