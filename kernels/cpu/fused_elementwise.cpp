// The fused elementwise interpreter (fused_elementwise.hpp). Loads come first in a block and
// stores last, so an output may share memory with an input of the same layout (the memory
// planner's in-place reuse): every element of a block is read before any is written.
//
// Note [Repeated registers]: a register whose block is one value repeated (a 0-d input, a [B, 1]
// column within one row, or math on such values only) holds that one value, not a filled block:
// binary math then runs with that operand held in a local, and math on repeated values only runs
// once per block. Each element still gets exactly the functor call eager's loop makes (which fills
// a block buffer with the broadcast value instead), so results are the same.
#include "kernels/cpu/fused_elementwise.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <sstream>
#include <unordered_map>

#include "kernels/common/binary_math.hpp"
#include "kernels/common/unary_backward_math.hpp"
#include "kernels/cpu/loops.hpp"

namespace terra::cpu {

template <class T>
using BlockFn = void (*)(const void* functor, T* __restrict dst, const T* a, const T* b, int64_t n);

// Which operand of a binary op is a repeated value (Note [Repeated registers]).
enum Repeated { kNoneRepeated, kFirstRepeated, kSecondRepeated, kRepeatedForms };

struct FusedMath {
  std::shared_ptr<const void> functor;
  FusedFunctor info;
  std::array<BlockFn<float>, kRepeatedForms> f32{};
  std::array<BlockFn<double>, kRepeatedForms> f64{};
  template <class T> BlockFn<T> fn(Repeated form) const {
    if constexpr (std::is_same_v<T, float>) return f32[form]; else return f64[form];
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
template <class Op, int Arity, class T, Repeated Form>
void apply_block(const void* functor, T* __restrict dst, const T* a, const T* b, int64_t n) {
  const Op op = *static_cast<const Op*>(functor);
  if constexpr (Arity == 1) {
    for (int64_t i = 0; i < n; ++i) dst[i] = op(a[i]);
  } else if constexpr (Form == kFirstRepeated) {
    const T x = *a;
    for (int64_t i = 0; i < n; ++i) dst[i] = op(x, b[i]);
  } else if constexpr (Form == kSecondRepeated) {
    const T y = *b;
    for (int64_t i = 0; i < n; ++i) dst[i] = op(a[i], y);
  } else {
    for (int64_t i = 0; i < n; ++i) dst[i] = op(a[i], b[i]);
  }
}

template <class Op, int Arity, class T>
constexpr std::array<BlockFn<T>, kRepeatedForms> block_fns() {
  if constexpr (!maps_to_self<Op, Arity, T>()) return {};
  else if constexpr (Arity == 1) return {&apply_block<Op, 1, T, kNoneRepeated>};
  else return {&apply_block<Op, 2, T, kNoneRepeated>, &apply_block<Op, 2, T, kFirstRepeated>, &apply_block<Op, 2, T, kSecondRepeated>};
}

struct FusableOp {
  int arity;
  bool f32, f64;
  std::string_view type;
  std::shared_ptr<const FusedMath> (*make)(std::string_view type, const Attrs& attrs);
};

template <class Op, int Arity>
std::shared_ptr<const FusedMath> make_math(std::string_view type, const Attrs& attrs) {
  auto m = std::make_shared<FusedMath>();
  m->functor = std::make_shared<const Op>(math::make_op<Op>(attrs));
  m->info = {type, m->functor.get(), sizeof(Op), std::is_empty_v<Op>};
  m->f32 = block_fns<Op, Arity, float>();
  m->f64 = block_fns<Op, Arity, double>();
  return m;
}

template <class Op, int Arity>
FusableOp entry(std::string_view type) {
  return {Arity, maps_to_self<Op, Arity, float>(), maps_to_self<Op, Arity, double>(), type, &make_math<Op, Arity>};
}

const std::unordered_map<std::string_view, FusableOp>& fusable_ops() {
  static const std::unordered_map<std::string_view, FusableOp> table = {
#define TERRA_UNARY_OP(op, F) {#op, entry<math::F, 1>(#F)},
#define TERRA_BINARY_OP(op, F) {#op, entry<math::F, 2>(#F)},
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

// Where a register's block is read from; `repeated`: one value stands for the whole block.
template <class T>
struct RegBlock {
  const T* data = nullptr;
  bool repeated = false;
};

// Elements [begin, begin + n) of a strided operand. When one run covers them they are read in
// place: a contiguous run (a row of a broadcast [N] input, a chunk of a wider matrix) as a block,
// a stride-0 run (a [B, 1] column within one row) as a repeated value. Otherwise they are gathered
// into `block`: unit-stride runs with memcpy, stride-0 runs with a fill, the rest one by one.
template <class T>
RegBlock<T> gather(const LoopPlan<1>& plan, int64_t begin, int64_t n, T* block) {
  RegBlock<T> in_place;
  T* dst = block;
  for_each_run(plan, begin, begin + n, [&](const std::array<char*, 1>& ptr, const std::array<int64_t, 1>& st, int64_t m) {
    const T* p = reinterpret_cast<const T*>(ptr[0]);
    const bool unit = st[0] == static_cast<int64_t>(sizeof(T));
    if (m == n && (unit || st[0] == 0)) in_place = {p, st[0] == 0};
    else if (unit) std::memcpy(dst, p, m * sizeof(T));
    else if (st[0] == 0) std::fill_n(dst, m, *p);
    else for (int64_t i = 0; i < m; ++i) dst[i] = *reinterpret_cast<const T*>(ptr[0] + i * st[0]);
    dst += m;
  });
  return in_place.data ? in_place : RegBlock<T>{block, false};
}

// Writes a block to elements [begin, begin + n) of a strided output.
template <class T>
void scatter(const LoopPlan<1>& plan, int64_t begin, int64_t n, const T* block) {
  for_each_run(plan, begin, begin + n, [&](const std::array<char*, 1>& ptr, const std::array<int64_t, 1>& st, int64_t m) {
    if (st[0] == static_cast<int64_t>(sizeof(T))) std::memmove(ptr[0], block, m * sizeof(T));
    else for (int64_t i = 0; i < m; ++i) *reinterpret_cast<T*>(ptr[0] + i * st[0]) = block[i];
    block += m;
  });
}

// A thread's scratch (register blocks, where each register is read from), kept from run to run so
// that a run neither allocates nor clears it.
template <class T>
T* thread_scratch(size_t elements) {
  thread_local std::vector<T> scratch;
  if (scratch.size() < elements) scratch.resize(elements);
  return scratch.data();
}

}  // namespace

FusedFunctor fused_functor(const FusedMath& math) { return math.info; }

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
  code_.push_back({Opcode::Apply, num_regs_, args[0], f->arity == 2 ? args[1] : -1, std::string(op), f->make(f->type, attrs)});
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
  for (int i = static_cast<int>(code_.size()) - 1; i >= 0 && final_apply_ < 0; --i)
    if (code_[i].code == Opcode::Apply) final_apply_ = i;
  for (const Instr& in : code_)
    if (final_apply_ >= 0 && final_output_ < 0 && in.code == Opcode::Store && in.a == code_[final_apply_].dst)
      final_output_ = in.dst;
  if (final_output_ < 0) final_apply_ = -1;
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
  // The last apply may compute straight into its output unless that output shares memory with an
  // input (in-place reuse), which later loads of the same block could still need.
  T* final_out = nullptr;
  if (final_apply_ >= 0 && outs[final_output_].access == Access::Direct &&
      std::none_of(inputs.begin(), inputs.end(), [&](const Tensor& t) { return t.shares_storage(outputs[final_output_]); }))
    final_out = reinterpret_cast<T*>(outs[final_output_].base);
  const int64_t blocks = (numel + kFusedBlock - 1) / kFusedBlock;
  // Split as the eager loops do, so a fused kernel never pays a thread hand-off eager would not.
  const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / kFusedBlock);
  parallel_for(0, blocks, grain, [&](int64_t b0, int64_t b1) {
    T* regs = thread_scratch<T>(static_cast<size_t>(num_regs_) * kFusedBlock);
    RegBlock<T>* src = thread_scratch<RegBlock<T>>(num_regs_);
    for (int64_t blk = b0; blk < b1; ++blk) {
      const int64_t begin = blk * kFusedBlock, n = std::min(kFusedBlock, numel - begin);
      for (size_t i = 0; i < code_.size(); ++i) {
        const Instr& in = code_[i];
        T* reg = regs + in.dst * kFusedBlock;
        switch (in.code) {
          case Opcode::Load: {
            const Operand<T>& op = ins[in.a];
            if (op.access == Access::Direct) src[in.dst] = {reinterpret_cast<const T*>(op.base) + begin, false};
            else if (op.access == Access::Repeat) src[in.dst] = {&op.value, true};
            else src[in.dst] = gather(op.plan, begin, n, reg);
            break;
          }
          case Opcode::Apply: {
            const bool binary = in.b >= 0;
            const RegBlock<T> a = src[in.a], b = binary ? src[in.b] : RegBlock<T>{};
            const bool once = a.repeated && (!binary || b.repeated);  // Note [Repeated registers]
            const Repeated form = !binary || once ? kNoneRepeated
                                  : a.repeated    ? kFirstRepeated
                                  : b.repeated    ? kSecondRepeated
                                                  : kNoneRepeated;
            T* dst = static_cast<int>(i) == final_apply_ && final_out && !once ? final_out + begin : reg;
            in.math->fn<T>(form)(in.math->functor.get(), dst, a.data, b.data, once ? 1 : n);
            src[in.dst] = {dst, once};
            break;
          }
          case Opcode::Store: {
            const Operand<T>& op = outs[in.dst];
            RegBlock<T> value = src[in.a];
            if (value.repeated) {
              std::fill_n(regs + in.a * kFusedBlock, n, T(*value.data));
              value = {regs + in.a * kFusedBlock, false};
            }
            if (op.access == Access::Strided) {
              scatter(op.plan, begin, n, value.data);
            } else {
              T* out = reinterpret_cast<T*>(op.base) + begin;
              if (value.data != out) std::memmove(out, value.data, n * sizeof(T));
            }
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
