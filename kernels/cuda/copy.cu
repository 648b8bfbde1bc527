// The CUDA primitives of the value-moving kernels (kernels/common/copy_kernels.hpp): conversion
// between any two dtypes over any strides, and fills. Same-dtype contiguous copies and zero fills use cudaMemcpyAsync and
// cudaMemsetAsync on the current stream.
#include "kernels/common/copy_kernels.hpp"
#include "kernels/cuda/loops.cuh"

namespace terra::cuda {
namespace {

template <class O, class I>
struct Convert {
  TERRA_HD O operator()(I x) const { return convert_element<O>(x); }
};

template <class T>
struct Constant {
  T value;
  TERRA_HD T operator()() const { return value; }
};

// out = convert(src): every (in, out) dtype pair, broadcasting src to out's shape. src may be a
// wrapped number on the CPU (copy_ of a Python scalar).
void convert_into(const Tensor& out, const Tensor& src) {
  if (src.dtype() == out.dtype() && src.device() == out.device() && src.shape() == out.shape() &&
      src.is_contiguous() && out.is_contiguous()) {
    if (out.numel() > 0 && src.raw_data() != out.raw_data())
      TERRA_CUDA_CHECK(cudaMemcpyAsync(out.raw_data(), src.raw_data(), out.numel() * out.itemsize(),
                                       cudaMemcpyDeviceToDevice, current_stream()));
    return;
  }
  dispatch_dtype(out.dtype(), [&](auto out_tag) {
    using O = decltype(out_tag);
    dispatch_dtype(src.dtype(), [&](auto in_tag) {
      using I = decltype(in_tag);
      elementwise<O, I>(out, {src}, Convert<O, I>{});
    });
  });
}

void fill(const Tensor& out, const Scalar& value) {
  dispatch_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T v = std::is_same_v<T, bool> ? T(value.as_double() != 0) : value.to<T>();
    // All-zero bytes are 0 (and false, and +0.0) in every dtype.
    if (out.is_contiguous() && v == T(0) && !std::signbit(static_cast<double>(v))) {
      if (out.numel() > 0)
        TERRA_CUDA_CHECK(cudaMemsetAsync(out.raw_data(), 0, out.numel() * out.itemsize(), current_stream()));
    } else {
      elementwise<T>(out, {}, Constant<T>{v});
    }
  });
}

// The device primitives the shared copy kernels are written over.
struct CudaCopy {
  static void convert_into(const Tensor& out, const Tensor& src) { terra::cuda::convert_into(out, src); }
  static void fill(const Tensor& out, const Scalar& value) { terra::cuda::fill(out, value); }
};

}  // namespace

TERRA_COPY_KERNELS(CUDA, CudaCopy);

}  // namespace terra::cuda
