// The graph IR (DESIGN.md §8): one straight-line span of a traced path as a program over values
// and buffers. The tracer builds a Program from the trace records of the span it has to run; the
// compiler (compile.hpp, passes.hpp) optimizes it into a CompiledPlan; the executor (executor.hpp)
// runs the plan against the tensors bound to its inputs.
//
// Values are SSA: each step defines its outputs once. Buffers are memory: a view or an in-place
// step's output lives in its input's buffer, so a step reads the buffers of its inputs and writes
// the buffers of its outputs, and every pass respects read/write order on buffers, not just on
// values. Buffer kinds:
//   Bound    - the storage of a tensor bound at run time (parameters, feeds, tensors made by
//              earlier spans or iterations); several bound inputs may share one.
//   Kept     - a storage the caller hands in, still pending: tensors Python (or autograd) still
//              holds; the executor allocates it and writes it.
//   Internal - nobody outside sees it: the memory planner places it in the plan's arena, and
//              fusion may never materialize it at all.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/trace/record.hpp"

namespace terra::graph {

enum class BufferKind : uint8_t { Bound, Kept, Internal };
const char* buffer_kind_name(BufferKind k);

struct Buffer {
  BufferKind kind = BufferKind::Internal;
  size_t nbytes = 0;
  Device device;
  int index = -1;  // Bound: the bound input whose storage it is; Kept: the kept slot
};

struct Value {
  trace::ValueMeta meta;
  int buffer = -1;
  int producer = -1;  // the step that defines it; -1 for a bound input
  int bound = -1;     // bound input index, for values that are bound inputs
  int constant = -1;  // index into Program::constants, for values computed at compile time
};

struct Step {
  const OpDef* op = nullptr;
  trace::CallForm form = trace::CallForm::Functional;
  Attrs attrs;
  std::vector<int> inputs;   // value ids in schema order (-1 for an absent optional tensor);
                             // for CallForm::Out, the out= values follow
  std::vector<int> outputs;  // value ids defined by this step (InPlace/Out: new values on the
                             // written buffers)
  int record = -1;           // position of the trace record in its iteration (dumps, messages)
  uint64_t location = 0;
  // >= 0: the step's floating-point attribute values change from run to run (a learning rate, a
  // clipping coefficient): each run passes them in, in slot `runtime_attrs`, and `attrs` only
  // shows the values it was compiled with. Such a step is never folded, merged or fused.
  int runtime_attrs = -1;
};

struct Program {
  std::vector<Value> values;
  std::vector<Buffer> buffers;
  std::vector<Step> steps;
  int num_bound = 0;  // values 0..num_bound-1 are the bound inputs, in binding order
  int num_kept = 0;   // Kept buffers, slots 0..num_kept-1
  // Values computed at compile time (constant folding); a constant value has no producer and its
  // buffer (Internal) holds nothing else but views of it.
  std::vector<Tensor> constants;

  // Checks the structural invariants (SSA, buffer kinds, indices); throws terra::Error.
  void validate() const;
  std::string to_json() const;
  std::string to_dot() const;
};

}  // namespace terra::graph
