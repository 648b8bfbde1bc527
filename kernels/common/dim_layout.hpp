// A tensor seen as [outer, C, inner] around one dim (a 0-d tensor is one element): the layout
// the softmax kernels of every device work in (Note [Softmax layouts] in kernels/cpu/softmax.cpp).
#pragma once
#include "kernels/kernel.hpp"

namespace terra {

struct DimLayout {
  int64_t outer = 1, C = 1, inner = 1;
  DimLayout(const Tensor& t, int64_t dim_attr) {
    const int64_t dim = normalize_dim(dim_attr, t.dim());
    for (int64_t d = 0; d < dim; ++d) outer *= t.shape()[d];
    for (int64_t d = dim + 1; d < t.dim(); ++d) inner *= t.shape()[d];
    if (t.dim() > 0) C = t.shape()[dim];
  }
};

}  // namespace terra
