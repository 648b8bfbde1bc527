// CUDA kernels of the elementwise binary ops and where(): the generic binary launcher over the
// functors of kernels/common/binary_math.hpp (the CPU kernels use the same functors).
//
// Note [Integer division by zero on CUDA]
// The CPU kernels scan integer divisors and raise ZeroDivisionError. Doing that here would need a
// device reduction and a host read (a synchronization) on every integer div/remainder, so the
// CUDA kernels do what PyTorch's do: no error, and the functors' defined result (0) instead of a
// trap. Raising it at the next sync point belongs with the deferred kernel-error flag (DESIGN §11).
#include "kernels/common/binary_math.hpp"
#include "kernels/cuda/elementwise.cuh"

namespace terra::cuda {
namespace m = math;

namespace {

template <class T>
struct Select {
  TERRA_HD T operator()(bool condition, T a, T b) const { return condition ? a : b; }
};

void where_kernel(KernelCall& c) {
  dispatch_dtype(c.inputs[1].dtype(), [&](auto tag) {
    using T = decltype(tag);
    elementwise<T, bool, T, T>(c.outputs[0], {c.inputs[0], c.inputs[1], c.inputs[2]}, Select<T>{});
  });
}

}  // namespace

TERRA_KERNEL(add, CUDA, binary_kernel<m::Add>);
TERRA_KERNEL(sub, CUDA, binary_kernel<m::Sub>);
TERRA_KERNEL(mul, CUDA, binary_kernel<m::Mul>);
TERRA_KERNEL(div, CUDA, binary_kernel<m::Div>);              // Note [Integer division by zero on CUDA]
TERRA_KERNEL(remainder, CUDA, binary_kernel<m::Remainder>);  // Note [Integer division by zero on CUDA]
TERRA_KERNEL(maximum, CUDA, binary_kernel<m::Maximum>);
TERRA_KERNEL(minimum, CUDA, binary_kernel<m::Minimum>);
TERRA_KERNEL(pow, CUDA, binary_kernel<m::Pow>);
TERRA_KERNEL(atan2, CUDA, binary_kernel<m::Atan2>);
TERRA_KERNEL(eq, CUDA, binary_kernel<m::Eq>);
TERRA_KERNEL(ne, CUDA, binary_kernel<m::Ne>);
TERRA_KERNEL(lt, CUDA, binary_kernel<m::Lt>);
TERRA_KERNEL(le, CUDA, binary_kernel<m::Le>);
TERRA_KERNEL(gt, CUDA, binary_kernel<m::Gt>);
TERRA_KERNEL(ge, CUDA, binary_kernel<m::Ge>);
TERRA_KERNEL(logical_and, CUDA, binary_kernel<m::LogicalAnd>);
TERRA_KERNEL(logical_or, CUDA, binary_kernel<m::LogicalOr>);
TERRA_KERNEL(logical_xor, CUDA, binary_kernel<m::LogicalXor>);
TERRA_KERNEL(where, CUDA, where_kernel);

}  // namespace terra::cuda
