// CPU kernels of the elementwise unary ops: the generic unary loop over each op's functor
// (kernels/common/elementwise_ops.def lists them).
#include "kernels/cpu/elementwise.hpp"

namespace terra::cpu {

#define TERRA_UNARY_OP(op, F) TERRA_KERNEL(op, CPU, (elementwise_kernels::unary<CpuLoops, math::F>));
#include "kernels/common/elementwise_ops.def"
#undef TERRA_UNARY_OP

}  // namespace terra::cpu
