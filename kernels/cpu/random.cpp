// CPU kernels of the random ops (rand, randn, randint, randperm, bernoulli, bernoulli_p, dropout).
// Each reserves its Philox counters from the generator before drawing and computes element i
// from (seed, first counter, i) only, through kernels/common/random_math.hpp (Note [Philox element
// mapping]); the work is split by counter, so any thread count gives the same tensor.
#include <algorithm>
#include <numeric>
#include <vector>

#include "kernels/common/random_stream.hpp"
#include "kernels/cpu/loops.hpp"
#include "kernels/kernel.hpp"

namespace terra::cpu {
namespace {

using math::PhiloxStream;
using math::reserve_stream;

// Counters per parallel chunk: one counter costs about as much as a few elementwise operations.
constexpr int64_t kCounterGrain = 4096;

// Calls store(i, value) for every element i < n of Dist's stream, one counter at a time.
template <class Dist, class Store>
void for_each_draw(int64_t n, const PhiloxStream& s, const Store& store) {
  constexpr int64_t P = Dist::kPerCounter;
  parallel_for(0, static_cast<int64_t>(math::counters_for<Dist>(n)), kCounterGrain, [&](int64_t b, int64_t e) {
    typename Dist::value_type v[P];
    for (int64_t c = b; c < e; ++c) {
      Dist::values(math::philox_counter(s, static_cast<uint64_t>(c)), v);
      const int64_t first = c * P, m = std::min(P, n - first);
      for (int64_t k = 0; k < m; ++k) store(first + k, v[k]);
    }
  });
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
  elementwise<T, T>(out, {tmp}, [](T x) { return x; });
}

// The input's values in row-major order (the draws are indexed by the output's row-major index).
template <class T>
Tensor contiguous_input(const Tensor& t) {
  if (t.is_contiguous()) return t;
  Tensor c = Tensor::empty(t.shape(), t.dtype(), t.device());
  elementwise<T, T>(c, {t}, [](T x) { return x; });
  return c;
}

// rand and randn: floating outputs drawn from Dist<T>.
template <template <class> class Dist>
void sample_kernel(KernelCall& c) {
  const Tensor& out = c.outputs[0];
  dispatch_floating(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int64_t n = out.numel();
    const PhiloxStream s = reserve_stream(c.attrs, math::counters_for<Dist<T>>(n));
    write_contiguous<T>(out, [&](T* p) { for_each_draw<Dist<T>>(n, s, [p](int64_t i, T v) { p[i] = v; }); });
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
    write_contiguous<T>(out, [&](T* p) {
      for_each_draw<math::Bits64>(n, s, [&](int64_t i, uint64_t bits) {
        p[i] = static_cast<T>(math::randint_value(bits, low, range));
      });
    });
  });
}

void randperm_kernel(KernelCall& c) {
  const Tensor& out = c.outputs[0];
  const int64_t n = out.numel();
  const PhiloxStream s = reserve_stream(c.attrs, math::counters_for<math::Bits64>(n));
  std::vector<uint64_t> keys(n);
  for_each_draw<math::Bits64>(n, s, [&](int64_t i, uint64_t bits) { keys[i] = bits; });
  std::vector<int64_t> perm(n);
  std::iota(perm.begin(), perm.end(), int64_t{0});
  std::stable_sort(perm.begin(), perm.end(), [&](int64_t a, int64_t b) { return keys[a] < keys[b]; });
  dispatch_numeric(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    write_contiguous<T>(out, [&](T* p) {
      parallel_for(0, n, kElementwiseGrain, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) p[i] = static_cast<T>(perm[i]);
      });
    });
  });
}

// bernoulli(self): self holds the probabilities, checked before any counter is reserved so a
// failed call leaves the generator as it was.
void bernoulli_kernel(KernelCall& c) {
  const Tensor& out = c.outputs[0];
  dispatch_floating(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const Tensor probs = contiguous_input<T>(c.inputs[0]);
    const T* q = probs.data<T>();
    const int64_t n = out.numel();
    for (int64_t i = 0; i < n; ++i)
      TERRA_CHECK(q[i] >= T(0) && q[i] <= T(1), Runtime, "Expected p_in >= 0 && p_in <= 1 to be true, but got false.");
    const PhiloxStream s = reserve_stream(c.attrs, math::counters_for<math::Uniform<float>>(n));
    write_contiguous<T>(out, [&](T* p) {
      for_each_draw<math::Uniform<float>>(n, s, [&](int64_t i, float u) {
        p[i] = static_cast<T>(math::bernoulli_value(u, static_cast<double>(q[i])));
      });
    });
  });
}

void bernoulli_p_kernel(KernelCall& c) {
  const Tensor& out = c.outputs[0];
  const double prob = c.attrs.get<double>("p");
  const int64_t n = out.numel();
  const PhiloxStream s = reserve_stream(c.attrs, math::counters_for<math::Uniform<float>>(n));
  dispatch_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    write_contiguous<T>(out, [&](T* p) {
      for_each_draw<math::Uniform<float>>(n, s, [&](int64_t i, float u) {
        p[i] = static_cast<T>(math::bernoulli_value(u, prob));
      });
    });
  });
}

// dropout as PyTorch's CPU path computes it: input * (mask / (1 - p)), with the scale rounded to
// the input's dtype first; no draw (and no counter) when nothing is random. Output 1, the mask,
// is written only when it is drawn (otherwise the shape rule made it empty).
void dropout_kernel(KernelCall& c) {
  const Tensor& out = c.outputs[0];
  const Tensor& in = c.inputs[0];
  const double prob = c.attrs.get<double>("p");
  if (!c.attrs.get<bool>("train") || prob == 0.0) {
    dispatch_dtype(in.dtype(), [&](auto tag) {
      using T = decltype(tag);
      elementwise<T, T>(out, {in}, [](T x) { return x; });
    });
    return;
  }
  if (prob == 1.0) {  // multiplied by zero, so NaN and inf inputs give NaN as in PyTorch
    dispatch_dtype(in.dtype(), [&](auto tag) {
      using T = decltype(tag);
      elementwise<T, T>(out, {in}, [](T x) { return static_cast<T>(x * T(0)); });
    });
    return;
  }
  const Tensor& mask = c.outputs[1];
  dispatch_floating(in.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const Tensor x = contiguous_input<T>(in);
    const T* xp = x.data<T>();
    const T scale = T(1) / static_cast<T>(1.0 - prob);
    const int64_t n = out.numel();
    const PhiloxStream s = reserve_stream(c.attrs, math::counters_for<math::Uniform<float>>(n));
    write_contiguous<T>(out, [&](T* p) {
      bool* m = mask.data<bool>();  // a fresh contiguous output
      for_each_draw<math::Uniform<float>>(n, s, [&](int64_t i, float u) {
        const bool keep = math::dropout_keep(u, prob);
        m[i] = keep;
        p[i] = xp[i] * (keep ? scale : T(0));
      });
    });
  });
}

}  // namespace

TERRA_KERNEL(rand, CPU, sample_kernel<math::Uniform>);
TERRA_KERNEL(randn, CPU, sample_kernel<math::Normal>);
TERRA_KERNEL(randint, CPU, randint_kernel);
TERRA_KERNEL(randperm, CPU, randperm_kernel);
TERRA_KERNEL(bernoulli, CPU, bernoulli_kernel);
TERRA_KERNEL(bernoulli_p, CPU, bernoulli_p_kernel);
TERRA_KERNEL(dropout, CPU, dropout_kernel);

}  // namespace terra::cpu
