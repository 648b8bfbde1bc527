// The window arithmetic of 2-D pooling, shared by the CPU kernels
// (kernels/cpu/pool.cpp, the reference) and the CUDA kernels (kernels/cuda/pool.cu), so both visit
// the same input positions for every output (aten's rules: ceil_mode, padding, NaN and ties).
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/attrs.hpp"
#include "tensor/macros.hpp"

namespace terra::math {

// A pooling op's window from its attributes (kernel_size, stride, padding and, for max pooling,
// dilation), int[2] arguments of one value meaning both axes; an omitted stride is the kernel size.
struct PoolWindow {
  int64_t kh, kw, sh, sw, ph, pw, dh = 1, dw = 1;
};

inline PoolWindow pool_window(const Attrs& a, bool has_dilation) {
  auto at = [](const std::vector<int64_t>& v, size_t i) { return v.size() == 1 ? v[0] : v[i]; };
  const auto& k = a.get<std::vector<int64_t>>("kernel_size");
  const auto& s_attr = a.get<std::vector<int64_t>>("stride");
  const auto& s = s_attr.empty() ? k : s_attr;
  const auto& p = a.get<std::vector<int64_t>>("padding");
  PoolWindow w{at(k, 0), at(k, 1), at(s, 0), at(s, 1), at(p, 0), at(p, 1)};
  if (has_dilation) {
    const auto& d = a.get<std::vector<int64_t>>("dilation");
    w.dh = at(d, 0);
    w.dw = at(d, 1);
  }
  return w;
}

// Taps of a max-pool window along one axis: input positions begin, begin + dilation, ... < end,
// the window of output position o with its taps in the padding skipped.
struct Taps {
  int64_t begin, end;
};

TERRA_HD Taps max_pool_taps(int64_t o, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation, int64_t in) {
  int64_t begin = o * stride - pad;
  const int64_t reach = begin + (kernel - 1) * dilation + 1;
  const int64_t end = reach < in ? reach : in;
  while (begin < 0) begin += dilation;
  return {begin, end};
}

// Whether a max pool's running best is replaced by v: a larger value, or a NaN (the last NaN
// wins); ties keep the first position.
template <class T>
TERRA_HD bool max_pool_takes(T v, T best) {
  return v > best || v != v;
}

// An average-pool window along one axis: output position o averages input positions
// [begin, end) and spans `padded` positions of the padded input.
struct Span {
  int64_t begin, end, padded;
  TERRA_HD bool empty() const { return begin >= end; }
  TERRA_HD bool contains(int64_t i) const { return begin <= i && i < end; }
};

// The windows of avg_pool2d (aten's, clipped to the padding) or of adaptive_avg_pool2d
// (begin = floor(o * in / out), end = ceil((o + 1) * in / out)), and their divisors.
struct AvgPoolWindows {
  bool adaptive = false;
  int64_t kernel[2] = {1, 1}, stride[2] = {1, 1}, pad[2] = {0, 0};  // (H, W); avg_pool2d only
  bool include_pad = true;
  bool has_divisor_override = false;
  int64_t divisor_override = 0;

  TERRA_HD Span span(int axis, int64_t o, int64_t in, int64_t out) const {
    if (adaptive) {
      const int64_t begin = o * in / out, end = ((o + 1) * in + out - 1) / out;
      return {begin, end, end - begin};
    }
    const int64_t begin = o * stride[axis] - pad[axis];
    const int64_t reach = begin + kernel[axis], limit = in + pad[axis];
    const int64_t end = reach < limit ? reach : limit;
    return {begin > 0 ? begin : 0, end < in ? end : in, end - begin};
  }

  // divisor_override when given, else the window's size clipped to the padded input
  // (count_include_pad) or to the input itself.
  TERRA_HD int64_t divisor(const Span& r, const Span& c) const {
    if (has_divisor_override) return divisor_override;
    return include_pad ? r.padded * c.padded : (r.end - r.begin) * (c.end - c.begin);
  }

  // A range [lo, hi) of output positions holding every window that contains input position i
  // (possibly more: callers check span(...).contains(i)), for gathering a gradient.
  TERRA_HD void windows_containing(int axis, int64_t i, int64_t in, int64_t out, int64_t& lo, int64_t& hi) const {
    if (adaptive) {
      lo = i * out / in - 1;
      hi = ((i + 1) * out + in - 1) / in + 1;
    } else {
      const int64_t shifted = i + pad[axis];
      lo = shifted >= kernel[axis] ? (shifted - kernel[axis]) / stride[axis] : 0;
      hi = shifted / stride[axis] + 1;
    }
    lo = lo > 0 ? lo : 0;
    hi = hi < out ? hi : out;
  }
};

// avg_pool2d's windows from its attributes.
inline AvgPoolWindows avg_pool_windows(const Attrs& a) {
  const PoolWindow win = pool_window(a, false);
  AvgPoolWindows w;
  w.kernel[0] = win.kh;
  w.kernel[1] = win.kw;
  w.stride[0] = win.sh;
  w.stride[1] = win.sw;
  w.pad[0] = win.ph;
  w.pad[1] = win.pw;
  w.include_pad = a.get<bool>("count_include_pad");
  if (const auto d = a.opt<int64_t>("divisor_override")) {
    w.has_divisor_override = true;
    w.divisor_override = *d;
  }
  return w;
}

inline AvgPoolWindows adaptive_pool_windows() {
  AvgPoolWindows w;
  w.adaptive = true;
  return w;
}

}  // namespace terra::math
