// CPU kernels of the elementwise unary ops: each is the generic unary loop over a functor from
// kernels/common/unary_math.hpp.
#include "kernels/cpu/elementwise.hpp"

namespace terra::cpu {
namespace m = math;

TERRA_KERNEL(neg, CPU, unary_kernel<m::Neg>);
TERRA_KERNEL(abs, CPU, unary_kernel<m::Abs>);
TERRA_KERNEL(sign, CPU, unary_kernel<m::Sign>);
TERRA_KERNEL(exp, CPU, unary_kernel<m::Exp>);
TERRA_KERNEL(log, CPU, unary_kernel<m::Log>);
TERRA_KERNEL(log1p, CPU, unary_kernel<m::Log1p>);
TERRA_KERNEL(expm1, CPU, unary_kernel<m::Expm1>);
TERRA_KERNEL(sqrt, CPU, unary_kernel<m::Sqrt>);
TERRA_KERNEL(rsqrt, CPU, unary_kernel<m::Rsqrt>);
TERRA_KERNEL(sin, CPU, unary_kernel<m::Sin>);
TERRA_KERNEL(cos, CPU, unary_kernel<m::Cos>);
TERRA_KERNEL(tanh, CPU, unary_kernel<m::Tanh>);
TERRA_KERNEL(sigmoid, CPU, unary_kernel<m::Sigmoid>);
TERRA_KERNEL(relu, CPU, unary_kernel<m::Relu>);
TERRA_KERNEL(gelu, CPU, unary_kernel<m::Gelu>);
TERRA_KERNEL(silu, CPU, unary_kernel<m::Silu>);
TERRA_KERNEL(softplus, CPU, unary_kernel<m::Softplus>);
TERRA_KERNEL(leaky_relu, CPU, unary_kernel<m::LeakyRelu>);
TERRA_KERNEL(elu, CPU, unary_kernel<m::Elu>);
TERRA_KERNEL(erf, CPU, unary_kernel<m::Erf>);
TERRA_KERNEL(floor, CPU, unary_kernel<m::Floor>);
TERRA_KERNEL(ceil, CPU, unary_kernel<m::Ceil>);
TERRA_KERNEL(round, CPU, unary_kernel<m::Round>);
TERRA_KERNEL(reciprocal, CPU, unary_kernel<m::Reciprocal>);
TERRA_KERNEL(clamp, CPU, unary_kernel<m::Clamp>);
TERRA_KERNEL(logical_not, CPU, unary_kernel<m::LogicalNot>);
TERRA_KERNEL(isnan, CPU, unary_kernel<m::IsNan>);
TERRA_KERNEL(isinf, CPU, unary_kernel<m::IsInf>);

}  // namespace terra::cpu
