// The CPU's fused elementwise kernel (DESIGN.md §8): a group of elementwise ops compiled by the
// graph compiler into a small instruction list (load input k, apply op j, store output m) that is
// interpreted over blocks of kFusedBlock elements. Each instruction is one tight loop over a block
// held in a small scratch array, so intermediates stay in L1 and are never written to memory;
// blocks are spread over the thread pool. The per-element math is the functors of
// kernels/common/*_math.hpp, the same ones the eager kernels run (elementwise_ops.def lists them),
// so a fused op computes exactly what its eager kernel computes.
//
// Fusable: the unary and binary ops of elementwise_ops.def whose functor maps T to T for float32
// and float64. Not fusable (they stay ordinary kernels): predicates and comparisons (bool
// results), where (a bool operand), casts (to_dtype), clone, and ops outside the .def.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/attrs.hpp"
#include "tensor/tensor.hpp"

namespace terra::cpu {

constexpr int64_t kFusedBlock = 512;

// True when `op` can run inside a fused kernel whose element type is `dtype`.
bool fusable_elementwise(std::string_view op, DType dtype);

// One op with its attributes applied to whole blocks (type-erased functor).
struct FusedMath;

// The functor behind an apply, for code generators: its type in kernels/common/*_math.hpp
// (terra::math::<type>) and its bytes, attributes included; `empty`: it has no data members.
struct FusedFunctor {
  std::string_view type;
  const void* data = nullptr;
  size_t size = 0;
  bool empty = true;
};
FusedFunctor fused_functor(const FusedMath& math);

class FusedKernel {
 public:
  // Inputs are loaded with their strides and broadcast to the outputs' shape; an input of another
  // dtype must be 0-d (a wrapped number) and is converted as the dispatcher's type promotion would.
  FusedKernel(DType dtype, int num_inputs, int num_outputs);

  // Builders; each returns the register holding the result.
  int load(int input);
  int apply(std::string_view op, const Attrs& attrs, const std::vector<int>& args);
  void store(int reg, int output);
  // Assigns physical registers (reused once a value is dead); call once after building.
  void finish();

  // outputs share one shape; inputs broadcast to it.
  void run(const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs) const;

  // The program, for code generators (kernels/fused_codegen.hpp): after finish(), loads first,
  // applies in dependency order, stores last, over num_registers() reused registers.
  enum class Opcode : uint8_t { Load, Apply, Store };
  struct Instr {
    Opcode code;
    int dst = -1;  // Load/Apply: destination register; Store: output index
    int a = -1, b = -1;  // Load: input index; Apply: operand registers; Store: source register
    std::string name;
    std::shared_ptr<const FusedMath> math;
  };
  const std::vector<Instr>& code() const { return code_; }
  DType dtype() const { return dtype_; }
  int num_inputs() const { return num_inputs_; }
  int num_outputs() const { return num_outputs_; }
  int num_registers() const { return num_regs_; }

  int num_instructions() const { return static_cast<int>(code_.size()); }
  // "r0 = load in1; r2 = tanh r0; ...", for plan dumps.
  std::string listing() const;

 private:
  template <class T> void run_typed(const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs) const;

  DType dtype_;
  int num_inputs_, num_outputs_;
  int num_regs_ = 0;
  std::vector<Instr> code_;
  // The last apply and an output it is stored to: it may compute straight into that output.
  int final_apply_ = -1, final_output_ = -1;
};

}  // namespace terra::cpu
