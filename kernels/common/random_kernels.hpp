// The random ops' kernels (rand, randn, randint, bernoulli, bernoulli_p, dropout), written once over
// a device's primitives and registered for each device, so every device reserves the same Philox
// counters and stores the same values (Note [Philox element mapping] in random_math.hpp):
//   Impl::draw<Dist>(n, stream, store)   -- store(i, value) for every element i < n of Dist's
//                                           stream (store is one of the TERRA_HD Store* below)
//   Impl::copy(dst, src)                 -- dst = src for views of one dtype and shape, any strides
//   Impl::times_zero(out, in)            -- out = in * 0 (NaN and inf give NaN), any dtype
//   Impl::check_probabilities(probs)     -- raises the CPU's error unless every element of a
//                                           contiguous floating tensor is in [0, 1]
// randperm is each device's own (it sorts keys).
#pragma once
#include "kernels/common/random_stream.hpp"
#include "kernels/kernel.hpp"

namespace terra::random_kernels {

template <class T>
struct StoreValue {
  T* out;
  TERRA_HD void operator()(int64_t i, T v) const { out[i] = v; }
};

template <class T>
struct StoreRandint {
  T* out;
  int64_t low;
  uint64_t range;
  TERRA_HD void operator()(int64_t i, uint64_t bits) const {
    out[i] = static_cast<T>(math::randint_value(bits, low, range));
  }
};

template <class T>
struct StoreBernoulli {
  T* out;
  const T* probs;
  TERRA_HD void operator()(int64_t i, float u) const {
    out[i] = static_cast<T>(math::bernoulli_value(u, static_cast<double>(probs[i])));
  }
};

template <class T>
struct StoreBernoulliP {
  T* out;
  double p;
  TERRA_HD void operator()(int64_t i, float u) const { out[i] = static_cast<T>(math::bernoulli_value(u, p)); }
};

// dropout as PyTorch's CPU path computes it: input * (mask / (1 - p)), with the scale rounded to
// the input's dtype first.
template <class T>
struct StoreDropout {
  T* out;
  bool* mask;
  const T* x;
  T scale;
  double p;
  TERRA_HD void operator()(int64_t i, float u) const {
    const bool keep = math::dropout_keep(u, p);
    mask[i] = keep;
    out[i] = x[i] * (keep ? scale : T(0));
  }
};

template <class Impl>
struct Kernels {
  // Runs fill(T* data) over a contiguous buffer for `out`: out itself, or (for a strided out=
  // target) a temporary copied into it afterwards.
  template <class T, class Fill>
  static void write_contiguous(const Tensor& out, const Fill& fill) {
    if (out.is_contiguous()) {
      fill(out.data<T>());
      return;
    }
    Tensor tmp = Tensor::empty(out.shape(), out.dtype(), out.device());
    fill(tmp.data<T>());
    Impl::copy(out, tmp);
  }

  // The input's values in row-major order (the draws are indexed by the output's row-major index).
  static Tensor contiguous_input(const Tensor& t) {
    if (t.is_contiguous()) return t;
    Tensor c = Tensor::empty(t.shape(), t.dtype(), t.device());
    Impl::copy(c, t);
    return c;
  }

  // rand and randn: floating outputs drawn from Dist<T>.
  template <template <class> class Dist>
  static void sample(KernelCall& c) {
    const Tensor& out = c.outputs[0];
    dispatch_floating(out.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const int64_t n = out.numel();
      const math::PhiloxStream s = math::reserve_stream(c.attrs, math::counters_for<Dist<T>>(n));
      write_contiguous<T>(out, [&](T* p) { Impl::template draw<Dist<T>>(n, s, StoreValue<T>{p}); });
    });
  }

  static void randint(KernelCall& c) {
    const Tensor& out = c.outputs[0];
    const int64_t low = c.attrs.get<int64_t>("low");
    const uint64_t range = static_cast<uint64_t>(c.attrs.get<int64_t>("high")) - static_cast<uint64_t>(low);
    const int64_t n = out.numel();
    const math::PhiloxStream s = math::reserve_stream(c.attrs, math::counters_for<math::Bits64>(n));
    dispatch_dtype(out.dtype(), [&](auto tag) {
      using T = decltype(tag);
      write_contiguous<T>(out, [&](T* p) { Impl::template draw<math::Bits64>(n, s, StoreRandint<T>{p, low, range}); });
    });
  }

  // bernoulli(self): self holds the probabilities, checked before any counter is reserved so a
  // failed call leaves the generator as it was.
  static void bernoulli(KernelCall& c) {
    const Tensor& out = c.outputs[0];
    dispatch_floating(out.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const Tensor probs = contiguous_input(c.inputs[0]);
      Impl::check_probabilities(probs);
      const int64_t n = out.numel();
      const math::PhiloxStream s = math::reserve_stream(c.attrs, math::counters_for<math::Uniform<float>>(n));
      write_contiguous<T>(out, [&](T* p) {
        Impl::template draw<math::Uniform<float>>(n, s, StoreBernoulli<T>{p, probs.data<T>()});
      });
    });
  }

  static void bernoulli_p(KernelCall& c) {
    const Tensor& out = c.outputs[0];
    const double prob = c.attrs.get<double>("p");
    const int64_t n = out.numel();
    const math::PhiloxStream s = math::reserve_stream(c.attrs, math::counters_for<math::Uniform<float>>(n));
    dispatch_dtype(out.dtype(), [&](auto tag) {
      using T = decltype(tag);
      write_contiguous<T>(out, [&](T* p) {
        Impl::template draw<math::Uniform<float>>(n, s, StoreBernoulliP<T>{p, prob});
      });
    });
  }

  // No draw (and no counter) when nothing is random. Output 1, the mask, is written only when it
  // is drawn (otherwise the shape rule made it empty).
  static void dropout(KernelCall& c) {
    const Tensor& out = c.outputs[0];
    const Tensor& in = c.inputs[0];
    const double prob = c.attrs.get<double>("p");
    if (!c.attrs.get<bool>("train") || prob == 0.0) return Impl::copy(out, in);
    if (prob == 1.0) return Impl::times_zero(out, in);  // NaN and inf inputs give NaN, as in PyTorch
    const Tensor& mask = c.outputs[1];
    dispatch_floating(in.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const Tensor x = contiguous_input(in);
      const T scale = T(1) / static_cast<T>(1.0 - prob);
      const int64_t n = out.numel();
      const math::PhiloxStream s = math::reserve_stream(c.attrs, math::counters_for<math::Uniform<float>>(n));
      write_contiguous<T>(out, [&](T* p) {
        // The mask is a fresh contiguous output.
        Impl::template draw<math::Uniform<float>>(n, s, StoreDropout<T>{p, mask.data<bool>(), x.data<T>(), scale, prob});
      });
    });
  }
};

}  // namespace terra::random_kernels

#define TERRA_RANDOM_KERNELS(DEVICE, Impl)                                                            \
  TERRA_KERNEL(rand, DEVICE, ::terra::random_kernels::Kernels<Impl>::sample<::terra::math::Uniform>); \
  TERRA_KERNEL(randn, DEVICE, ::terra::random_kernels::Kernels<Impl>::sample<::terra::math::Normal>); \
  TERRA_KERNEL(randint, DEVICE, ::terra::random_kernels::Kernels<Impl>::randint);                    \
  TERRA_KERNEL(bernoulli, DEVICE, ::terra::random_kernels::Kernels<Impl>::bernoulli);                \
  TERRA_KERNEL(bernoulli_p, DEVICE, ::terra::random_kernels::Kernels<Impl>::bernoulli_p);            \
  TERRA_KERNEL(dropout, DEVICE, ::terra::random_kernels::Kernels<Impl>::dropout)
