// CPU kernels of the elementwise binary ops and where(): the generic binary loop over functors
// from kernels/common/binary_math.hpp.
#include "kernels/common/binary_math.hpp"
#include "kernels/cpu/elementwise.hpp"

namespace terra::cpu {
namespace m = math;

namespace {

// Integer division by zero is an error in PyTorch, not a trap: check divisors before dividing.
template <class Op>
void checked_int_division(KernelCall& c) {
  const Tensor& b = c.inputs[1];
  if (is_integral(b.dtype(), true)) {
    bool zero = false;
    dispatch_dtype(b.dtype(), [&](auto tag) {
      using T = decltype(tag);
      Tensor flag = Tensor::empty(b.shape(), DType::Bool);
      elementwise<bool, T>(flag, {b}, [](T x) { return x == T(0); });
      const bool* p = flag.data<bool>();
      for (int64_t i = 0, n = flag.numel(); i < n && !zero; ++i) zero = p[i];
    });
    TERRA_CHECK(!zero, Runtime, "ZeroDivisionError");
  }
  binary_kernel<Op>(c);
}

void where_kernel(KernelCall& c) {
  dispatch_dtype(c.inputs[1].dtype(), [&](auto tag) {
    using T = decltype(tag);
    elementwise<T, bool, T, T>(c.outputs[0], {c.inputs[0], c.inputs[1], c.inputs[2]},
                               [](bool p, T a, T b) { return p ? a : b; });
  });
}

}  // namespace

TERRA_KERNEL(add, CPU, binary_kernel<m::Add>);
TERRA_KERNEL(sub, CPU, binary_kernel<m::Sub>);
TERRA_KERNEL(mul, CPU, binary_kernel<m::Mul>);
TERRA_KERNEL(div, CPU, checked_int_division<m::Div>);
TERRA_KERNEL(remainder, CPU, checked_int_division<m::Remainder>);
TERRA_KERNEL(maximum, CPU, binary_kernel<m::Maximum>);
TERRA_KERNEL(minimum, CPU, binary_kernel<m::Minimum>);
TERRA_KERNEL(pow, CPU, binary_kernel<m::Pow>);
TERRA_KERNEL(atan2, CPU, binary_kernel<m::Atan2>);
TERRA_KERNEL(eq, CPU, binary_kernel<m::Eq>);
TERRA_KERNEL(ne, CPU, binary_kernel<m::Ne>);
TERRA_KERNEL(lt, CPU, binary_kernel<m::Lt>);
TERRA_KERNEL(le, CPU, binary_kernel<m::Le>);
TERRA_KERNEL(gt, CPU, binary_kernel<m::Gt>);
TERRA_KERNEL(ge, CPU, binary_kernel<m::Ge>);
TERRA_KERNEL(logical_and, CPU, binary_kernel<m::LogicalAnd>);
TERRA_KERNEL(logical_or, CPU, binary_kernel<m::LogicalOr>);
TERRA_KERNEL(logical_xor, CPU, binary_kernel<m::LogicalXor>);
TERRA_KERNEL(where, CPU, where_kernel);

}  // namespace terra::cpu
