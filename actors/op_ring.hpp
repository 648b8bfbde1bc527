// The op-event ring of co-execution (DESIGN.md §9): the interpreter pushes one fixed-size OpEvent
// per op call and the walker pops them, in order, through a BlockingRing (blocking_ring.hpp).
// Events carry ids, never tensor data.
#pragma once
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "actors/blocking_ring.hpp"

namespace terra {
struct OpDef;
}

namespace terra::actors {

using HandleId = uint32_t;

// One op call as the walker sees it. 64 bytes, one cache line. Attributes, feeds and wiring that
// do not fit (a cat of many tensors) live in a side table the producer fills and `side` indexes.
struct OpEvent {
  static constexpr int kMaxInputs = 5;
  static constexpr int kMaxOutputs = 3;
  static constexpr uint32_t kNoSide = UINT32_MAX;

  uint64_t seq = 0;          // position in the program's op stream, from 0
  const OpDef* op = nullptr;
  uint64_t location = 0;     // location key (DESIGN.md §7)
  uint32_t side = kNoSide;   // index into the side table, or kNoSide
  uint8_t num_inputs = 0;
  uint8_t num_outputs = 0;
  std::array<HandleId, kMaxInputs> inputs{};
  std::array<HandleId, kMaxOutputs> outputs{};
};
static_assert(sizeof(OpEvent) == 64, "an OpEvent is one cache line");

using OpRing = BlockingRing<OpEvent>;

}  // namespace terra::actors
