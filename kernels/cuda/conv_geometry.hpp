// The convolution ops' operands as cuDNN sees them, and the key its algorithm choices are cached
// under. Host-only and free of CUDA headers, so tests/kernels check it without a device.
//
// Every call is described as one 2-D forward convolution image (N, C, H, W) * filter (K, C/groups,
// kh, kw) -> grid (N, K, oh, ow): conv1d is H = 1 with a 1-high filter, an unbatched input N = 1.
// conv_transpose2d runs that convolution's data gradient (its output is the image, its input the
// grid) and conv2d_backward_weight its filter gradient.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <vector>

#include "kernels/attrs.hpp"
#include "tensor/shape.hpp"

namespace terra::cuda {

using Dims4 = std::array<int64_t, 4>;

struct ConvGeometry {
  Dims4 image{}, filter{}, grid{};
  std::array<int64_t, 2> padding{}, stride{}, dilation{};  // (H, W)
  int64_t groups = 1;

  // The grid the windows cover over the whole image: the forward convolution's output size.
  // conv2d_backward_weight may be handed a shorter grid (a transposed convolution's weight
  // gradient); cuDNN wants the full one.
  Dims4 full_grid() const {
    Dims4 g = grid;
    for (int d = 0; d < 2; ++d)
      g[2 + d] = (image[2 + d] + 2 * padding[d] - dilation[d] * (filter[2 + d] - 1) - 1) / stride[d] + 1;
    return g;
  }
};

// `spatial` is 1 (conv1d) or 2; image, filter and grid are the ops' shapes as given (3-D or 4-D
// image and grid; the filter is the weight). int[1] / int[2] attributes of one value mean that value
// along both axes, as PyTorch's.
inline ConvGeometry conv_geometry(const Shape& image, const Shape& filter, const Shape& grid, const Attrs& attrs,
                                  int spatial) {
  auto dims4 = [spatial](const Shape& s, bool batched) {
    Dims4 d{1, 1, 1, 1};
    const size_t lead = batched ? 1 : 0;
    if (batched) d[0] = s[0];
    d[1] = s[lead];
    if (spatial == 2) d[2] = s[lead + 1];
    d[3] = s.back();
    return d;
  };
  const bool batched = image.size() == static_cast<size_t>(spatial) + 2;
  auto pair = [&](const char* name, int64_t trivial) {
    const auto& v = attrs.get<std::vector<int64_t>>(name);
    if (spatial == 1) return std::array<int64_t, 2>{trivial, v[0]};
    return std::array<int64_t, 2>{v[0], v.size() == 1 ? v[0] : v[1]};
  };
  ConvGeometry g;
  g.image = dims4(image, batched);
  g.grid = dims4(grid, batched);
  g.filter = dims4(filter, true);
  g.padding = pair("padding", 0);
  g.stride = pair("stride", 1);
  g.dilation = pair("dilation", 1);
  g.groups = attrs.get<int64_t>("groups");
  return g;
}

// Which cuDNN routine a choice is for.
enum class ConvPass { Forward, BackwardData, BackwardFilter };

// Everything a cached algorithm choice depends on.
struct ConvKey {
  ConvPass pass = ConvPass::Forward;
  int dtype = 0;  // DType
  bool tf32 = false;
  int device = 0;
  ConvGeometry g;

  bool operator==(const ConvKey& o) const {
    return pass == o.pass && dtype == o.dtype && tf32 == o.tf32 && device == o.device && g.image == o.g.image &&
           g.filter == o.g.filter && g.grid == o.g.grid && g.padding == o.g.padding && g.stride == o.g.stride &&
           g.dilation == o.g.dilation && g.groups == o.g.groups;
  }
};

struct ConvKeyHash {
  size_t operator()(const ConvKey& k) const {
    size_t h = std::hash<int>()(static_cast<int>(k.pass) * 131 + k.dtype * 7 + k.tf32 * 3 + k.device * 1009);
    auto mix = [&h](int64_t v) { h ^= std::hash<int64_t>()(v) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2); };
    for (const Dims4* d : {&k.g.image, &k.g.filter, &k.g.grid})
      for (int64_t v : *d) mix(v);
    for (const auto* p : {&k.g.padding, &k.g.stride, &k.g.dilation})
      for (int64_t v : *p) mix(v);
    mix(k.g.groups);
    return h;
  }
};

}  // namespace terra::cuda
