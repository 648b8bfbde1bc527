// The class losses' per-sample math (nll_loss, cross_entropy) as TERRA_HD functors shared by the
// CPU and CUDA kernels: sample s's loss and the weight its 'mean' divides by, both in float64.
// A functor holds the pointers of one call (contiguous operands, on the kernel's device).
#pragma once
#include <cstdint>

#include "tensor/error.hpp"
#include "tensor/macros.hpp"
#include "tensor/tensor.hpp"

namespace terra::math {

// The input seen as [outer, classes, inner]: [C] is one sample, [N, C, d...] is N * prod(d).
struct ClassLayout {
  int64_t outer, classes, inner;
  TERRA_HD int64_t samples() const { return outer * inner; }
  // Element offset of class 0 of sample s (samples in target order); classes are inner apart.
  TERRA_HD int64_t base(int64_t s) const { return (s / inner) * classes * inner + s % inner; }
};

inline ClassLayout class_layout(const Tensor& x) {
  if (x.dim() == 1) return {1, x.shape()[0], 1};
  int64_t inner = 1;
  for (int64_t d = 2; d < x.dim(); ++d) inner *= x.shape()[d];
  return {x.shape()[0], x.shape()[1], inner};
}

// PyTorch's error for the first target, in order, that is neither ignore_index nor a class (a
// host loop: devices copy the targets back first).
inline void check_targets(const int64_t* t, int64_t n, int64_t classes, int64_t ignore_index) {
  for (int64_t s = 0; s < n; ++s)
    TERRA_CHECK(t[s] == ignore_index || (t[s] >= 0 && t[s] < classes), Index, "Target ", t[s], " is out of bounds.");
}

// -w[t] x[t] per sample; ignored samples weigh and cost 0.
template <class T>
struct NllSamples {
  const T* x;
  const int64_t* t;
  const T* w;  // null: every class weighs 1
  int64_t ignore;
  ClassLayout L;
  TERRA_HD double weight(int64_t s) const { return t[s] == ignore ? 0.0 : (w ? double(w[t[s]]) : 1.0); }
  TERRA_HD double loss(int64_t s) const {
    return t[s] == ignore ? 0.0 : -weight(s) * double(x[L.base(s) + t[s] * L.inner]);
  }
};

// Class indices (int64 target) or class probabilities (floating target of the input's shape).
// With smoothing e and C classes, PyTorch 1.13 defines, per sample with -log p = lse - x:
//   indices:       (1 - e) w[t] (-log p[t]) + e / C * sum_c w[c] (-log p[c])   (0 if ignored),
//                  'mean' dividing by the sum of w[t] over the samples not ignored;
//   probabilities: sum_c w[c] (q[c] (1 - e) + e / C) (-log p[c]), 'mean' dividing by the number
//                  of samples (NaN for an empty input).
// lse holds each sample's log-sum-exp over its classes.
template <class T>
struct CrossEntropyCommon {
  const T* x;
  const T* lse;
  const T* w;  // null: every class weighs 1
  double smoothing;
  ClassLayout L;
  TERRA_HD double class_weight(int64_t k) const { return w ? double(w[k]) : 1.0; }
  // -log p of class k of sample s, whose class 0 is at `base`.
  TERRA_HD double neg_log_p(int64_t s, int64_t base, int64_t k) const {
    return double(lse[s]) - double(x[base + k * L.inner]);
  }
};

template <class T>
struct CrossEntropyIndexSamples : CrossEntropyCommon<T> {
  const int64_t* t;
  int64_t ignore;
  TERRA_HD double weight(int64_t s) const { return t[s] == ignore ? 0.0 : this->class_weight(t[s]); }
  TERRA_HD double loss(int64_t s) const {
    if (t[s] == ignore) return 0.0;
    const int64_t base = this->L.base(s), C = this->L.classes;
    const double e = this->smoothing;
    double l = (1 - e) * this->class_weight(t[s]) * this->neg_log_p(s, base, t[s]);
    if (e > 0) {
      double smooth = 0;
      for (int64_t k = 0; k < C; ++k) smooth += this->class_weight(k) * this->neg_log_p(s, base, k);
      l += e / double(C) * smooth;
    }
    return l;
  }
};

template <class T>
struct CrossEntropyProbSamples : CrossEntropyCommon<T> {
  const T* q;
  // Every sample counts once, unless there are no classes: then the input is empty and the mean NaN.
  TERRA_HD double weight(int64_t) const { return this->L.classes > 0 ? 1.0 : 0.0; }
  TERRA_HD double loss(int64_t s) const {
    const int64_t base = this->L.base(s), C = this->L.classes;
    const double keep = 1 - this->smoothing, spread = C > 0 ? this->smoothing / double(C) : 0.0;
    double l = 0;
    for (int64_t k = 0; k < C; ++k)
      l += this->class_weight(k) * (double(q[base + k * this->L.inner]) * keep + spread) * this->neg_log_p(s, base, k);
    return l;
  }
};

}  // namespace terra::math
