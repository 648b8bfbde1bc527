// CUDA kernels of the random ops (rand, randn, randint, randperm, bernoulli, bernoulli_p,
// dropout). Each reserves the same Philox counters from the generator as the CPU kernel
// (kernels/common/random_stream.hpp) and one thread per counter computes that counter's elements
// with the CPU's functions (kernels/common/random_math.hpp, Note [Philox element mapping]), so a
// seed gives the CPU's tensors and dropout masks bit for bit; randn in float64 goes through the
// device's log/sqrt/cos/sin, which may round the last bit differently from the host's. randperm
// sorts its keys stably, a sequential algorithm: it runs the CPU kernel and copies the result.
#include <algorithm>

#include "kernels/common/random_stream.hpp"
#include "kernels/cuda/device_check.cuh"
#include "kernels/cuda/host_fallback.cuh"
#include "kernels/cuda/movement.cuh"

namespace terra::cuda {
namespace {

using math::PhiloxStream;
using math::reserve_stream;

// Counter c's elements: store(i, value) for its slots i = c * P + k below n.
template <class Dist, class Store>
struct Draw {
  PhiloxStream stream;
  int64_t n;
  Store store;
  __device__ void operator()(int64_t c) const {
    constexpr int64_t P = Dist::kPerCounter;
    typename Dist::value_type v[P];
    Dist::values(math::philox_counter(stream, static_cast<uint64_t>(c)), v);
    const int64_t first = c * P;
    for (int64_t k = 0; k < P && first + k < n; ++k) store(first + k, v[k]);
  }
};

template <class Dist, class Store>
void draw(int64_t n, const PhiloxStream& s, const Store& store) {
  for_each_index(static_cast<int64_t>(math::counters_for<Dist>(n)), Draw<Dist, Store>{s, n, store});
}

// Runs fill(T* data) over a contiguous buffer for `out`: out itself, or (for a strided out=
// target) a temporary copied into it afterwards.
template <class T, class Fill>
void write_contiguous(const Tensor& out, const Fill& fill) {
  if (out.is_contiguous()) {
    fill(out.data<T>());
    return;
  }
  Tensor tmp = Tensor::empty(out.shape(), out.dtype(), out.device());
  fill(tmp.data<T>());
  copy_elements(out, tmp);
}

// The input's values in row-major order (the draws are indexed by the output's row-major index).
Tensor contiguous_input(const Tensor& t) {
  if (t.is_contiguous()) return t;
  Tensor c = Tensor::empty(t.shape(), t.dtype(), t.device());
  copy_elements(c, t);
  return c;
}

template <class T>
struct StoreValue {
  T* out;
  __device__ void operator()(int64_t i, T v) const { out[i] = v; }
};

template <class T>
struct StoreRandint {
  T* out;
  int64_t low;
  uint64_t range;
  __device__ void operator()(int64_t i, uint64_t bits) const {
    out[i] = static_cast<T>(math::randint_value(bits, low, range));
  }
};

template <class T>
struct StoreBernoulli {
  T* out;
  const T* probs;
  __device__ void operator()(int64_t i, float u) const {
    out[i] = static_cast<T>(math::bernoulli_value(u, static_cast<double>(probs[i])));
  }
};

template <class T>
struct StoreBernoulliP {
  T* out;
  double p;
  __device__ void operator()(int64_t i, float u) const { out[i] = static_cast<T>(math::bernoulli_value(u, p)); }
};

template <class T>
struct StoreDropout {
  T* out;
  bool* mask;
  const T* x;
  T scale;
  double p;
  __device__ void operator()(int64_t i, float u) const {
    const bool keep = math::dropout_keep(u, p);
    mask[i] = keep;
    out[i] = x[i] * (keep ? scale : T(0));
  }
};

// rand and randn: floating outputs drawn from Dist<T>.
template <template <class> class Dist>
void sample_kernel(KernelCall& c) {
  const Tensor& out = c.outputs[0];
  dispatch_floating(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int64_t n = out.numel();
    const PhiloxStream s = reserve_stream(c.attrs, math::counters_for<Dist<T>>(n));
    write_contiguous<T>(out, [&](T* p) { draw<Dist<T>>(n, s, StoreValue<T>{p}); });
  });
}

void randint_kernel(KernelCall& c) {
  const Tensor& out = c.outputs[0];
  const int64_t low = c.attrs.get<int64_t>("low");
  const uint64_t range = static_cast<uint64_t>(c.attrs.get<int64_t>("high")) - static_cast<uint64_t>(low);
  const int64_t n = out.numel();
  const PhiloxStream s = reserve_stream(c.attrs, math::counters_for<math::Bits64>(n));
  dispatch_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    write_contiguous<T>(out, [&](T* p) { draw<math::Bits64>(n, s, StoreRandint<T>{p, low, range}); });
  });
}

template <class T>
struct OutsideUnitInterval {
  const T* probs;
  DeviceCheck::Slot bad;
  __device__ void operator()(int64_t i) const {
    if (!(probs[i] >= T(0) && probs[i] <= T(1))) bad.record(i);
  }
};

// bernoulli(self): self holds the probabilities, checked (a host read, Note [Data checks on
// CUDA]) before any counter is reserved so a failed call leaves the generator as it was.
void bernoulli_kernel(KernelCall& c) {
  const Tensor& out = c.outputs[0];
  dispatch_floating(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const Tensor probs = contiguous_input(c.inputs[0]);
    const int64_t n = out.numel();
    if (n > 0) {
      DeviceCheck check(out.device());
      for_each_index(n, OutsideUnitInterval<T>{probs.data<T>(), check.slot()});
      TERRA_CHECK(!check.read(), Runtime, "Expected p_in >= 0 && p_in <= 1 to be true, but got false.");
    }
    const PhiloxStream s = reserve_stream(c.attrs, math::counters_for<math::Uniform<float>>(n));
    write_contiguous<T>(out, [&](T* p) { draw<math::Uniform<float>>(n, s, StoreBernoulli<T>{p, probs.data<T>()}); });
  });
}

void bernoulli_p_kernel(KernelCall& c) {
  const Tensor& out = c.outputs[0];
  const double prob = c.attrs.get<double>("p");
  const int64_t n = out.numel();
  const PhiloxStream s = reserve_stream(c.attrs, math::counters_for<math::Uniform<float>>(n));
  dispatch_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    write_contiguous<T>(out, [&](T* p) { draw<math::Uniform<float>>(n, s, StoreBernoulliP<T>{p, prob}); });
  });
}

template <class T>
struct TimesZero {
  TERRA_HD T operator()(T x) const { return static_cast<T>(x * T(0)); }
};

// dropout as the CPU kernel computes it: input * (mask / (1 - p)) with the scale rounded to the
// input's dtype first; no draw (and no counter) when nothing is random; the mask (output 1) is
// written only when drawn.
void dropout_kernel(KernelCall& c) {
  const Tensor& out = c.outputs[0];
  const Tensor& in = c.inputs[0];
  const double prob = c.attrs.get<double>("p");
  if (!c.attrs.get<bool>("train") || prob == 0.0) {
    copy_elements(out, in);
    return;
  }
  if (prob == 1.0) {  // multiplied by zero, so NaN and inf inputs give NaN as in PyTorch
    dispatch_dtype(in.dtype(), [&](auto tag) {
      using T = decltype(tag);
      elementwise<T, T>(out, {in}, TimesZero<T>{});
    });
    return;
  }
  const Tensor& mask = c.outputs[1];
  dispatch_floating(in.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const Tensor x = contiguous_input(in);
    const T scale = T(1) / static_cast<T>(1.0 - prob);
    const int64_t n = out.numel();
    const PhiloxStream s = reserve_stream(c.attrs, math::counters_for<math::Uniform<float>>(n));
    write_contiguous<T>(out, [&](T* p) {
      draw<math::Uniform<float>>(n, s, StoreDropout<T>{p, mask.data<bool>(), x.data<T>(), scale, prob});
    });
  });
}

}  // namespace

TERRA_KERNEL(rand, CUDA, sample_kernel<math::Uniform>);
TERRA_KERNEL(randn, CUDA, sample_kernel<math::Normal>);
TERRA_KERNEL(randint, CUDA, randint_kernel);
TERRA_KERNEL(randperm, CUDA, run_cpu_kernel);
TERRA_KERNEL(bernoulli, CUDA, bernoulli_kernel);
TERRA_KERNEL(bernoulli_p, CUDA, bernoulli_p_kernel);
TERRA_KERNEL(dropout, CUDA, dropout_kernel);

}  // namespace terra::cuda
