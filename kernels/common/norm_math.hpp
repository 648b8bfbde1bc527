// The normalization ops' statistics math shared by the CPU and CUDA kernels (TERRA_HD): shifted
// sums (Note [Shifted sums] in kernels/cpu/normalization.cpp) become a mean and a biased variance,
// and the backward pass's sums become the coefficients of dx = a * g + b * x + k. The devices
// differ only in how they take the sums.
#pragma once
#include <cstdint>
#include <limits>

#include "tensor/macros.hpp"

namespace terra::norm_math {

struct Sums {
  double s = 0, q = 0;  // sum of d, sum of d * d
  TERRA_HD void operator+=(const Sums& o) {
    s += o.s;
    q += o.q;
  }
};

// With d = x - shift and g the incoming gradient (times the weight for layer_norm): the
// statistics' sums of d and d * d, and sum(g), sum(g * d).
struct GradSums {
  double s = 0, q = 0, g = 0, gd = 0;
  TERRA_HD void operator+=(const GradSums& o) {
    s += o.s;
    q += o.q;
    g += o.g;
    gd += o.gd;
  }
};

struct Moments {
  double mean, var;  // var is the biased (population) variance
};

// Over no values the mean is 0 and the variance NaN, as PyTorch reports for empty rows. Rounding
// can leave a tiny negative variance, clamped to 0 (a NaN passes through).
TERRA_HD Moments moments(const Sums& sums, int64_t n, double shift) {
  if (n == 0) return {0.0, std::numeric_limits<double>::quiet_NaN()};
  const double m = sums.s / static_cast<double>(n);
  const double var = sums.q / static_cast<double>(n) - m * m;
  return {shift + m, var < 0 ? 0.0 : var};
}

// Each backward op recomputes the statistics in the pass that reads x and g for the gradient's
// sums (GradSums), so the forward saves nothing but its input and weight; a second pass writes
//   dx = rstd * w * (g - mean(g) - xhat * mean(g * xhat))   (means over the normalized set)
// as a * g + b * x + k with a, b, k per row, group or channel. With M values, shift-relative
// sums as in GradSums and mean_d = s / M:  sum(g * xhat) = rstd * (gd - mean_d * g).
struct BackwardAffine {
  double a, b, k;
};

// The coefficients for a set with sums t (their g already times the weight), statistics m and
// rstd; w is the weight that a carries (1 where the caller applies a per-element weight itself).
TERRA_HD BackwardAffine backward_affine(const GradSums& t, const Moments& m, double rstd, double w, int64_t count) {
  const double inv = 1.0 / static_cast<double>(count);
  const double mean_d = t.s * inv;
  const double dot = rstd * (t.gd - mean_d * t.g);  // sum(g * xhat)
  const double b = -rstd * rstd * dot * inv;
  return {rstd * w, b, -b * m.mean - rstd * t.g * inv};
}

}  // namespace terra::norm_math
