// The fused elementwise interpreter (fused_elementwise.hpp). Loads come first in a block and
// stores last, so an output may share memory with an input of the same layout (the memory
// planner's in-place reuse): every element of a block is read before any is written.
#include "kernels/cpu/fused_elementwise.hpp"

#include <algorithm>
#include <cstring>
#include <sstream>
#include <unordered_map>

#include "kernels/common/binary_math.hpp"
#include "kernels/common/unary_backward_math.hpp"
#include "kernels/cpu/loops.hpp"

namespace terra::cpu {

template <class T>
using BlockFn = void (*)(const void* functor, T* __restrict dst, const T* a, const T* b, int64_t n);

struct FusedMath {
  std::shared_ptr<const void> functor;
  BlockFn<float> f32 = nullptr;
  BlockFn<double> f64 = nullptr;
  template <class T> BlockFn<T> fn() const {
    if constexpr (std::is_same_v<T, float>) return f32; else return f64;
  }
};

namespace {

template <class Op, int Arity, class T>
constexpr bool maps_to_self() {
  if constexpr (!Op::template supports<T>) return false;
  else if constexpr (Arity == 1) return std::is_same_v<decltype(std::declval<const Op&>()(T{})), T>;
  else return std::is_same_v<decltype(std::declval<const Op&>()(T{}, T{})), T>;
}

// One instruction over a block: the same functor call as the eager loop's, so it vectorizes alike.
template <class Op, int Arity, class T>
void apply_block(const void* functor, T* __restrict dst, const T* a, const T* b, int64_t n) {
  const Op op = *static_cast<const Op*>(functor);
  if constexpr (Arity == 1) {
    for (int64_t i = 0; i < n; ++i) dst[i] = op(a[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) dst[i] = op(a[i], b[i]);
  }
}

template <class Op, int Arity, class T>
constexpr BlockFn<T> block_fn() {
  if constexpr (maps_to_self<Op, Arity, T>()) return &apply_block<Op, Arity, T>;
  else return nullptr;
}

struct FusableOp {
  int arity;
  bool f32, f64;
  std::shared_ptr<const FusedMath> (*make)(const Attrs& attrs);
};

template <class Op, int Arity>
std::shared_ptr<const FusedMath> make_math(const Attrs& attrs) {
  auto m = std::make_shared<FusedMath>();
  m->functor = std::make_shared<const Op>(math::make_op<Op>(attrs));
  m->f32 = block_fn<Op, Arity, float>();
  m->f64 = block_fn<Op, Arity, double>();
  return m;
}

template <class Op, int Arity>
FusableOp entry() {
  return {Arity, maps_to_self<Op, Arity, float>(), maps_to_self<Op, Arity, double>(), &make_math<Op, Arity>};
}

const std::unordered_map<std::string_view, FusableOp>& fusable_ops() {
  static const std::unordered_map<std::string_view, FusableOp> table = {
#define TERRA_UNARY_OP(op, F) {#op, entry<math::F, 1>()},
#define TERRA_BINARY_OP(op, F) {#op, entry<math::F, 2>()},
#include "kernels/common/elementwise_ops.def"
#undef TERRA_UNARY_OP
#undef TERRA_BINARY_OP
  };
  return table;
}

const FusableOp* find_op(std::string_view op) {
  auto it = fusable_ops().find(op);
  return it == fusable_ops().end() ? nullptr : &it->second;
}

// How a block of one operand is reached: in place (contiguous), as one repeated value (0-d or
// numel 1), or through the strided loop plan (broadcast or strided views).
enum class Access { Direct, Repeat, Strided };

template <class T>
struct Operand {
  Access access = Access::Direct;
  char* base = nullptr;
  T value{};
  LoopPlan<1> plan;
};

template <class T>
Operand<T> make_operand(const Tensor& t, const Shape& shape, DType dtype) {
  Operand<T> op;
  if (t.numel() == 1) {
    op.access = Access::Repeat;
    dispatch_dtype(t.dtype(), [&](auto tag) { op.value = static_cast<T>(*static_cast<const decltype(tag)*>(t.raw_data())); });
    return op;
  }
  TERRA_ASSERT(t.dtype() == dtype);
  Tensor view = t.as_strided(shape, broadcast_strides(t.shape(), t.strides(), shape), t.offset());
  if (view.is_contiguous()) {
    op.base = static_cast<char*>(view.raw_data());
    return op;
  }
  op.access = Access::Strided;
  op.plan = make_loop_plan<1>({&view});
  return op;
}

// Copies elements [begin, begin + n) of a strided operand into dst, or dst into it.
// `Block` is T* when gathering, const T* when scattering.
template <class T, bool Gather, class Block>
void move_strided(const LoopPlan<1>& plan, int64_t begin, int64_t n, Block block) {
  for_each_run(plan, begin, begin + n, [&](const std::array<char*, 1>& ptr, const std::array<int64_t, 1>& st, int64_t m) {
    char* p = ptr[0];
    for (int64_t i = 0; i < m; ++i, p += st[0]) {
      if constexpr (Gather) block[i] = *reinterpret_cast<const T*>(p);
      else *reinterpret_cast<T*>(p) = block[i];
    }
    block += m;
  });
}

}  // namespace

bool fusable_elementwise(std::string_view op, DType dtype) {
  const FusableOp* f = find_op(op);
  if (!f) return false;
  return dtype == DType::Float32 ? f->f32 : dtype == DType::Float64 ? f->f64 : false;
}

FusedKernel::FusedKernel(DType dtype, int num_inputs, int num_outputs)
    : dtype_(dtype), num_inputs_(num_inputs), num_outputs_(num_outputs) {
  TERRA_ASSERT(dtype == DType::Float32 || dtype == DType::Float64);
}

int FusedKernel::load(int input) {
  TERRA_ASSERT(input >= 0 && input < num_inputs_);
  code_.push_back({Opcode::Load, num_regs_, input, -1, "load", nullptr});
  return num_regs_++;
}

int FusedKernel::apply(std::string_view op, const Attrs& attrs, const std::vector<int>& args) {
  const FusableOp* f = find_op(op);
  TERRA_ASSERT(f && fusable_elementwise(op, dtype_) && static_cast<int>(args.size()) == f->arity);
  code_.push_back({Opcode::Apply, num_regs_, args[0], f->arity == 2 ? args[1] : -1, std::string(op), f->make(attrs)});
  return num_regs_++;
}

void FusedKernel::store(int reg, int output) {
  TERRA_ASSERT(output >= 0 && output < num_outputs_);
  code_.push_back({Opcode::Store, output, reg, -1, "store", nullptr});
}

void FusedKernel::finish() {
  // Loads first and stores last (see the file comment), applies in their dependency order.
  std::stable_partition(code_.begin(), code_.end(), [](const Instr& i) { return i.code == Opcode::Load; });
  std::stable_partition(code_.begin(), code_.end(), [](const Instr& i) { return i.code != Opcode::Store; });
  // Linear-scan register reuse; an apply's destination never shares a register with its operands.
  std::vector<int> last_use(num_regs_, -1);
  for (int i = 0; i < static_cast<int>(code_.size()); ++i) {
    const Instr& in = code_[i];
    if (in.code == Opcode::Apply) last_use[in.a] = i;
    if (in.code == Opcode::Apply && in.b >= 0) last_use[in.b] = i;
    if (in.code == Opcode::Store) last_use[in.a] = i;
  }
  std::vector<int> phys(num_regs_, -1), free_regs;
  int count = 0;
  auto take = [&] {
    if (free_regs.empty()) return count++;
    int r = free_regs.back();
    free_regs.pop_back();
    return r;
  };
  for (int i = 0; i < static_cast<int>(code_.size()); ++i) {
    Instr& in = code_[i];
    if (in.code == Opcode::Store) {
      in.a = phys[in.a];
      continue;
    }
    const int virt = in.dst;
    in.dst = phys[virt] = take();
    if (in.code == Opcode::Apply) {
      const int va = in.a, vb = in.b;
      in.a = phys[va];
      if (vb >= 0) in.b = phys[vb];
      if (last_use[va] == i) free_regs.push_back(phys[va]);
      if (vb >= 0 && vb != va && last_use[vb] == i) free_regs.push_back(phys[vb]);
    }
    if (last_use[virt] < 0) free_regs.push_back(in.dst);  // a value nothing reads
  }
  num_regs_ = count;
}

template <class T>
void FusedKernel::run_typed(const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs) const {
  const Shape& shape = outputs.at(0).shape();
  const int64_t numel = shape_numel(shape);
  if (numel == 0) return;
  std::vector<Operand<T>> ins, outs;
  for (const Tensor& t : inputs) ins.push_back(make_operand<T>(t, shape, dtype_));
  for (const Tensor& t : outputs) {
    TERRA_ASSERT(t.shape() == shape && t.dtype() == dtype_);
    Operand<T> o;
    if (t.is_contiguous()) {
      o.base = static_cast<char*>(t.raw_data());
    } else {
      o.access = Access::Strided;
      o.plan = make_loop_plan<1>({&t});
    }
    outs.push_back(o);
  }
  const int64_t blocks = (numel + kFusedBlock - 1) / kFusedBlock;
  // Split as the eager loops do, so a fused kernel never pays a thread hand-off eager would not.
  const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / kFusedBlock);
  parallel_for(0, blocks, grain, [&](int64_t b0, int64_t b1) {
    std::vector<T> scratch(static_cast<size_t>(num_regs_ + num_inputs_) * kFusedBlock);
    T* regs = scratch.data();
    T* repeats = regs + num_regs_ * kFusedBlock;  // one block per input, filled for Repeat inputs
    for (int k = 0; k < num_inputs_; ++k)
      if (ins[k].access == Access::Repeat) std::fill_n(repeats + k * kFusedBlock, kFusedBlock, ins[k].value);
    std::vector<const T*> src(num_regs_);
    for (int64_t blk = b0; blk < b1; ++blk) {
      const int64_t begin = blk * kFusedBlock, n = std::min(kFusedBlock, numel - begin);
      for (const Instr& in : code_) {
        T* reg = regs + in.dst * kFusedBlock;
        switch (in.code) {
          case Opcode::Load: {
            const Operand<T>& op = ins[in.a];
            if (op.access == Access::Direct) {
              src[in.dst] = reinterpret_cast<const T*>(op.base) + begin;
            } else if (op.access == Access::Repeat) {
              src[in.dst] = repeats + in.a * kFusedBlock;
            } else {
              move_strided<T, true>(op.plan, begin, n, reg);
              src[in.dst] = reg;
            }
            break;
          }
          case Opcode::Apply:
            in.math->fn<T>()(in.math->functor.get(), reg, src[in.a], in.b >= 0 ? src[in.b] : nullptr, n);
            src[in.dst] = reg;
            break;
          case Opcode::Store: {
            const Operand<T>& op = outs[in.dst];
            if (op.access == Access::Direct) std::memmove(reinterpret_cast<T*>(op.base) + begin, src[in.a], n * sizeof(T));
            else move_strided<T, false>(op.plan, begin, n, src[in.a]);
            break;
          }
        }
      }
    }
  });
}

void FusedKernel::run(const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs) const {
  TERRA_ASSERT(static_cast<int>(inputs.size()) == num_inputs_ && static_cast<int>(outputs.size()) == num_outputs_);
  if (dtype_ == DType::Float32) run_typed<float>(inputs, outputs);
  else run_typed<double>(inputs, outputs);
}

std::string FusedKernel::listing() const {
  std::ostringstream os;
  for (size_t i = 0; i < code_.size(); ++i) {
    const Instr& in = code_[i];
    if (i) os << "; ";
    if (in.code == Opcode::Load) os << 'r' << in.dst << " = load in" << in.a;
    if (in.code == Opcode::Apply) {
      os << 'r' << in.dst << " = " << in.name << " r" << in.a;
      if (in.b >= 0) os << ", r" << in.b;
    }
    if (in.code == Opcode::Store) os << "out" << in.dst << " = r" << in.a;
  }
  return os.str();
}

}  // namespace terra::cpu
