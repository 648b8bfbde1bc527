// CUDA kernels of the elementwise unary ops: the generic unary launcher over the functors of
// kernels/common/unary_math.hpp (the CPU kernels use the same functors).
#include "kernels/cuda/elementwise.cuh"

namespace terra::cuda {
namespace m = math;

TERRA_KERNEL(neg, CUDA, unary_kernel<m::Neg>);
TERRA_KERNEL(abs, CUDA, unary_kernel<m::Abs>);
TERRA_KERNEL(sign, CUDA, unary_kernel<m::Sign>);
TERRA_KERNEL(exp, CUDA, unary_kernel<m::Exp>);
TERRA_KERNEL(log, CUDA, unary_kernel<m::Log>);
TERRA_KERNEL(log1p, CUDA, unary_kernel<m::Log1p>);
TERRA_KERNEL(expm1, CUDA, unary_kernel<m::Expm1>);
TERRA_KERNEL(sqrt, CUDA, unary_kernel<m::Sqrt>);
TERRA_KERNEL(rsqrt, CUDA, unary_kernel<m::Rsqrt>);
TERRA_KERNEL(sin, CUDA, unary_kernel<m::Sin>);
TERRA_KERNEL(cos, CUDA, unary_kernel<m::Cos>);
TERRA_KERNEL(tanh, CUDA, unary_kernel<m::Tanh>);
TERRA_KERNEL(sigmoid, CUDA, unary_kernel<m::Sigmoid>);
TERRA_KERNEL(relu, CUDA, unary_kernel<m::Relu>);
TERRA_KERNEL(gelu, CUDA, unary_kernel<m::Gelu>);
TERRA_KERNEL(silu, CUDA, unary_kernel<m::Silu>);
TERRA_KERNEL(softplus, CUDA, unary_kernel<m::Softplus>);
TERRA_KERNEL(leaky_relu, CUDA, unary_kernel<m::LeakyRelu>);
TERRA_KERNEL(elu, CUDA, unary_kernel<m::Elu>);
TERRA_KERNEL(erf, CUDA, unary_kernel<m::Erf>);
TERRA_KERNEL(floor, CUDA, unary_kernel<m::Floor>);
TERRA_KERNEL(ceil, CUDA, unary_kernel<m::Ceil>);
TERRA_KERNEL(round, CUDA, unary_kernel<m::Round>);
TERRA_KERNEL(reciprocal, CUDA, unary_kernel<m::Reciprocal>);
TERRA_KERNEL(clamp, CUDA, unary_kernel<m::Clamp>);
TERRA_KERNEL(logical_not, CUDA, unary_kernel<m::LogicalNot>);
TERRA_KERNEL(isnan, CUDA, unary_kernel<m::IsNan>);
TERRA_KERNEL(isinf, CUDA, unary_kernel<m::IsInf>);

}  // namespace terra::cuda
