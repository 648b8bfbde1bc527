// CPU kernels of the convolutions. conv1d and conv2d are one implementation (conv1d is conv2d
// with H = 1); conv_transpose2d is its adjoint. Both are OpenBLAS GEMMs per image (or chunk of
// small images, Note [Images per GEMM]) and group around im2col (convolution) or col2im
// (transposed convolution); a 1x1, stride-1, unpadded convolution multiplies the input directly.
// conv2d_backward_weight, the weight gradient of both, is the GEMM of the output gradient with
// the im2col columns, summed over the images. Threads: see Note [Conv threading].
#include <cblas.h>

#include <algorithm>
#include <mutex>
#include <type_traits>
#include <vector>

#include "kernels/cpu/parallel.hpp"
#include "kernels/cpu/window.hpp"

namespace terra::cpu {
namespace {

// One 2-D sliding-window geometry: an image of `channels` planes of h x w, and the out_h x out_w
// grid of window positions over it. For a convolution the image is the input and the grid is the
// output; for a transposed convolution the image is the output and the grid is the input.
struct Window {
  int64_t channels, h, w, out_h, out_w;
  int64_t k_h, k_w, stride_h, stride_w, pad_h, pad_w, dil_h, dil_w;

  int64_t rows() const { return channels * k_h * k_w; }  // of the column matrix: (c, kh, kw)
  int64_t cols() const { return out_h * out_w; }         // of the column matrix: (oh, ow)
  // A 1x1, stride-1, unpadded window: the column matrix is the image itself.
  bool direct() const { return k_h == 1 && k_w == 1 && stride_h == 1 && stride_w == 1 && pad_h == 0 && pad_w == 0; }
  // The extent of one plane with its padding written out, covering every tap of every window
  // (Note [Padded images]); the image lies at (pad_h, pad_w) in it.
  int64_t padded_h() const { return std::max(pad_h + h, (out_h - 1) * stride_h + (k_h - 1) * dil_h + 1); }
  int64_t padded_w() const { return std::max(pad_w + w, (out_w - 1) * stride_w + (k_w - 1) * dil_w + 1); }
  int64_t padded_elems() const;  // of the padded image, 0 where im2col and col2im go without one
};

// The positions [lo, hi) along one output axis whose tap at `offset` lands inside [0, size).
std::pair<int64_t, int64_t> inside(int64_t offset, int64_t stride, int64_t size, int64_t out) {
  auto ceil_div = [](int64_t a, int64_t b) { return a <= 0 ? 0 : (a + b - 1) / b; };
  int64_t lo = std::min(out, ceil_div(-offset, stride));
  int64_t hi = std::max(lo, std::min(out, ceil_div(size - offset, stride)));
  return {lo, hi};
}

// Visits every column-matrix row in [row_begin, row_end), one output row at a time, as
// f(run, src, offset, lo, hi): positions [lo, hi) of the run of out_w column entries take
// src[i * stride_w + offset], where src is the image row the windows cover; the others are
// padding. Runs whose windows lie in the vertical padding come with src == nullptr. Rows of the
// column matrix are `ld` elements apart (cols(), or more where several images share it).
template <class ImageT, class ColT, class F>
void for_each_window_row(ImageT* image, const Window& g, int64_t row_begin, int64_t row_end, ColT* col, int64_t ld,
                         F&& f) {
  for (int64_t r = row_begin; r < row_end; ++r) {
    const int64_t kw = r % g.k_w, kh = (r / g.k_w) % g.k_h, c = r / (g.k_w * g.k_h);
    ImageT* plane = image + c * g.h * g.w;
    ColT* row = col + r * ld;
    const int64_t offset = kw * g.dil_w - g.pad_w;
    const auto [lo, hi] = inside(offset, g.stride_w, g.w, g.out_w);
    for (int64_t oh = 0; oh < g.out_h; ++oh) {
      const int64_t ih = oh * g.stride_h - g.pad_h + kh * g.dil_h;
      const bool in_image = ih >= 0 && ih < g.h;
      f(row + oh * g.out_w, in_image ? plane + ih * g.w : nullptr, offset, lo, hi);
    }
  }
}

// Runs of at most this many column entries are copied element by element (small images).
constexpr int64_t kShortRun = 32;

// Note [Padded images]
// A small image's column matrix is made of runs of a few entries (4 for the digits CNN's 4x4
// planes), too short for per-run calls and bounds checks to pay: im2col spent most of its time
// there. So im2col and col2im of images whose runs are short go through a copy of the image with
// its padding written out as zeros (padded_h() x padded_w() per plane), where every tap of every
// window lands inside: a column row is then out_h strided copies of out_w entries, with no branch.
// Its border is zeroed once per scratch buffer and only its interior rewritten per image; col2im
// adds into the copy in the order im2col's adjoint adds into the image (the same bits), its
// border taking the sums that fall into the padding. Worth it while the padded image is no larger
// than the column matrix; a strided window over a large image does without. Measured on one
// thread (2-core AMD EPYC host), conv2d of [32, 16, 4, 4] by [32, 16, 3, 3], padding 1: 146 us
// with the bounds-checked runs, 73 us this way; its transposed convolution 142 us and 77 us.
int64_t Window::padded_elems() const {
  const bool pays = out_w <= kShortRun && padded_h() * padded_w() <= k_h * k_w * cols();
  return pays ? channels * padded_h() * padded_w() : 0;
}

// Zeroes a padded image's border: its interior is written per image.
template <class T>
void clear_padded(T* padded, const Window& g) {
  std::fill(padded, padded + g.padded_elems(), T(0));
}

// Calls f(length), a std::integral_constant: n where that is 4 or 8, so that a loop over a run
// of n entries compiles to one vector operation (for runs this short the loop around them cost
// more than their copy), and 0 otherwise, for a length known only at run time.
template <class F>
void with_length(int64_t n, F&& f) {
  if (n == 4) return f(std::integral_constant<int64_t, 4>());
  if (n == 8) return f(std::integral_constant<int64_t, 8>());
  f(std::integral_constant<int64_t, 0>());
}

// Copies the image's planes into the interior of its padded image (into_padded: `from` is the
// image, `to` the padded image), or back out of it.
template <class T>
void copy_padded(const T* from, T* to, const Window& g, bool into_padded) {
  const int64_t pw = g.padded_w(), plane = g.padded_h() * pw;
  with_length(g.w, [&](auto length) {
    const int64_t w = length ? length : g.w;
    for (int64_t c = 0; c < g.channels; ++c)
      for (int64_t ih = 0; ih < g.h; ++ih) {
        const int64_t in_image = (c * g.h + ih) * w, in_padded = c * plane + (ih + g.pad_h) * pw + g.pad_w;
        const T* src = from + (into_padded ? in_image : in_padded);
        T* dst = to + (into_padded ? in_padded : in_image);
        for (int64_t i = 0; i < w; ++i) dst[i] = src[i];
      }
  });
}

// Calls f(padded element, column entry) for every column entry of the channels' rows, split over
// the pool by channel (rows of one channel touch only that channel's plane): entry i of a run of
// out_w takes tap[i * stride_w] of the padded image. Taps (kh, kw) are the outer loops, so an image
// element meets its windows in the order of the column rows (col2im's sums keep their bits), and
// consecutive runs lie in different planes: a vectorized col2im never loads what the last run
// stored one element off, which the store buffer cannot forward (with the channels outer, that
// stall was col2im's hottest instruction).
template <class T, class ColT, class F>
void for_each_padded_entry(T* padded, const Window& g, ColT* col, int64_t ld, F&& f) {
  const int64_t pw = g.padded_w(), plane = g.padded_h() * pw, taps = g.k_h * g.k_w;
  parallel_for(0, g.channels, grain_for(taps * g.cols()), [&](int64_t channel_begin, int64_t channel_end) {
    with_length(g.stride_w == 1 ? g.out_w : 0, [&](auto length) {
      const int64_t n = length ? length : g.out_w, sw = length ? 1 : g.stride_w;
      for (int64_t kh = 0; kh < g.k_h; ++kh)
        for (int64_t kw = 0; kw < g.k_w; ++kw)
          for (int64_t c = channel_begin; c < channel_end; ++c) {
            T* tap = padded + c * plane + kh * g.dil_h * pw + kw * g.dil_w;
            ColT* run = col + (c * taps + kh * g.k_w + kw) * ld;
            for (int64_t oh = 0; oh < g.out_h; ++oh, tap += g.stride_h * pw, run += g.out_w)
              for (int64_t i = 0; i < n; ++i) f(tap[i * sw], run[i]);
          }
    });
  });
}

// col[(c, kh, kw), (oh, ow)] = image[c, oh*sh - ph + kh*dh, ow*sw - pw + kw*dw], 0 outside.
// `padded`: scratch of g.padded_elems() elements, border zero, or null where that is 0.
template <class T>
void im2col(const T* image, const Window& g, T* col, int64_t ld, T* padded) {
  if (padded) {
    copy_padded(image, padded, g, true);
    for_each_padded_entry(padded, g, col, ld, [](const T& tap, T& entry) { entry = tap; });
    return;
  }
  const int64_t sw = g.stride_w, n = g.out_w;
  const int64_t grain = grain_for(g.cols());  // rows of cols()
  parallel_for(0, g.rows(), grain, [&](int64_t b, int64_t e) {
    for_each_window_row(image, g, b, e, col, ld, [&](T* run, const T* src, int64_t offset, int64_t lo, int64_t hi) {
      if (!src) {
        std::fill(run, run + n, T(0));
        return;
      }
      if (n <= kShortRun) {  // one loop: three library calls would cost more than the copy
        for (int64_t i = 0; i < n; ++i) run[i] = i >= lo && i < hi ? src[i * sw + offset] : T(0);
        return;
      }
      std::fill(run, run + lo, T(0));
      if (sw == 1) {  // the common case: a plain copy the compiler turns into memmove
        std::copy(src + lo + offset, src + hi + offset, run + lo);
      } else {
        for (int64_t i = lo; i < hi; ++i) run[i] = src[i * sw + offset];
      }
      std::fill(run + hi, run + n, T(0));
    });
  });
}

// The adjoint of im2col: image[c, ih, iw] += col[...] over every window covering it, onto the
// image's current values. Rows of one channel write only that channel's plane, so the work is
// split by channel and no two threads write the same element. `padded`: as for im2col, its
// border never read (Note [Padded images]).
template <class T>
void col2im(const T* col, int64_t ld, const Window& g, T* image, T* padded) {
  if (padded) {
    copy_padded(image, padded, g, true);
    for_each_padded_entry(padded, g, col, ld, [](T& tap, const T& entry) { tap += entry; });
    copy_padded(padded, image, g, false);
    return;
  }
  const int64_t sw = g.stride_w, per_channel = g.k_h * g.k_w, grain = grain_for(per_channel * g.cols());
  parallel_for(0, g.channels, grain, [&](int64_t b, int64_t e) {
    for_each_window_row(image, g, b * per_channel, e * per_channel, col, ld,
                        [&](const T* run, T* dst, int64_t offset, int64_t lo, int64_t hi) {
                          if (!dst) return;
                          for (int64_t i = lo; i < hi; ++i) dst[i * sw + offset] += run[i];
                        });
  });
}

// Which operand of a product is transposed: a (m x k, stored k x m) or b (k x n, stored n x k).
enum class Trans { None, A, B };

// c (m x n) = op(a) @ op(b), plus c itself when accumulating; row-major, through OpenBLAS. BLAS
// rejects zero leading dimensions, so empty products are handled here.
template <class T>
void gemm(Trans trans, bool accumulate, int64_t m, int64_t n, int64_t k, const T* a, const T* b, T* c) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (!accumulate) std::fill(c, c + m * n, T(0));
    return;
  }
  const auto ta = trans == Trans::A ? CblasTrans : CblasNoTrans;
  const auto tb = trans == Trans::B ? CblasTrans : CblasNoTrans;
  const int64_t lda = trans == Trans::A ? m : k, ldb = trans == Trans::B ? k : n;
  const T beta = accumulate ? T(1) : T(0);
  if constexpr (std::is_same_v<T, float>) {
    cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, 1.f, a, lda, b, ldb, beta, c, n);
  } else {
    cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, 1.0, a, lda, b, ldb, beta, c, n);
  }
}


// out[o, :] = bias[o] over a (channels x plane) block, or 0 without a bias: the starting value
// that the products accumulate onto.
template <class T>
void init_output(T* out, const T* bias, int64_t channels, int64_t plane) {
  for (int64_t o = 0; o < channels; ++o) std::fill(out + o * plane, out + (o + 1) * plane, bias ? bias[o] : T(0));
}

// Note [Images per GEMM]
// One GEMM per image suits large images; for small ones (the digits CNN's 8x8 and 4x4 planes)
// the fixed cost of every BLAS call dominates. So images are taken in chunks whose column
// matrices lie side by side in one matrix of count * cols columns (row stride ld), with the other
// per-image operand packed alike (pack_blocks), and one GEMM serves the whole chunk. Chunks of one
// image (images of kGemmCols positions or more) need no packing. Chunks of 128 columns beat 256
// once im2col got cheap (Note [Padded images]): on one thread, conv2d of [32, 16, 4, 4] by
// [32, 16, 3, 3] took 63 us against 73, its transposed convolution 70 against 77; the column
// matrix of a chunk then stays within L2 next to what OpenBLAS packs. conv2d_backward_weight keeps
// 256: there the chunk is the GEMM's reduction length, and another one would sum in another
// order (128 moved the digits CNN's final loss after 1500 steps from 0.01372 to 0.01447).
constexpr int64_t kGemmCols = 128, kWeightGemmCols = 256;

int64_t images_per_gemm(const Window& g, int64_t gemm_cols = kGemmCols) {
  return std::clamp<int64_t>(gemm_cols / std::max<int64_t>(g.cols(), 1), 1, 64);
}

// dst[r, i * cols + j] = src[i * stride + r * cols + j]: `count` (rows x cols) blocks, `stride`
// elements apart, side by side in one rows x (count * cols) matrix.
template <class T>
void pack_blocks(const T* src, int64_t stride, int64_t count, int64_t rows, int64_t cols, T* dst) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < count; ++i)
      std::copy(src + i * stride + r * cols, src + i * stride + (r + 1) * cols, dst + (r * count + i) * cols);
}

// The reverse of pack_blocks, adding bias[r] to row r when there is a bias.
template <class T>
void unpack_blocks(const T* src, int64_t count, int64_t rows, int64_t cols, const T* bias, T* dst, int64_t stride) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < count; ++i) {
      const T* from = src + (r * count + i) * cols;
      T* to = dst + i * stride + r * cols;
      const T b = bias ? bias[r] : T(0);
      for (int64_t j = 0; j < cols; ++j) to[j] = from[j] + b;
    }
}

// Note [Conv threading]
// OpenBLAS threads every GEMM on its own pool, and its workers spin for a while after each one,
// so alternating Terra-pool phases (im2col) with OpenBLAS-threaded GEMMs keeps both pools
// fighting for the same cores; and GEMMs issued from several threads at once queue for the one
// OpenBLAS pool. So with at least as many images as threads, the images are split over Terra's
// pool and every GEMM runs single-threaded: OpenBLAS is switched to one thread for the call and
// restored afterwards (a process-wide setting: a BLAS call made concurrently from another thread
// would run single-threaded too, only slower). With fewer images they run one after another,
// each GEMM threaded by OpenBLAS and im2col / col2im split over Terra's pool. (Measured on 2
// cores, conv2d 3x3 on [32, 64, 56, 56]: ~55 ms split by image, 85-120 ms alternating pools.)
// A split costs a thread hand-off (a few microseconds with the pool's workers awake, Note [Pool
// hand-off] in parallel.cpp), so a call with fewer than kParallelConvMacs multiply-adds in all
// runs on its caller's thread. (The digits CNN's 8x8 convolutions, 0.3M and 2.4M multiply-adds,
// are faster split: 1000 steps took 0.83-0.99 s against 1.04-1.08 s with a threshold of 2^20.
// Still so with im2col made cheap: conv2d of [32, 1, 8, 8] by [16, 1, 3, 3] took 10 us split, 15
// on one thread. The weight gradient's split also sets the order of its sum over images, so a
// new threshold would change its bits: 2^19 moved the digits CNN's final loss from 0.01372 to
// 0.01402.)
constexpr int64_t kParallelConvMacs = int64_t{1} << 17;

// Holds OpenBLAS at one thread while alive. Counted, so convolutions running concurrently on
// several threads restore the caller's setting only when the last of them finishes.
class SingleThreadedBlas {
 public:
  SingleThreadedBlas() {
    std::lock_guard<std::mutex> lock(state().mutex);
    if (state().holders++ == 0) {
      state().saved = openblas_get_num_threads();
      openblas_set_num_threads(1);
    }
  }
  ~SingleThreadedBlas() {
    std::lock_guard<std::mutex> lock(state().mutex);
    if (--state().holders == 0) openblas_set_num_threads(state().saved);
  }
  SingleThreadedBlas(const SingleThreadedBlas&) = delete;
  SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;

 private:
  struct State {
    std::mutex mutex;
    int holders = 0;
    int saved = 1;
  };
  static State& state() {
    static State s;
    return s;
  }
};

// Calls body(begin, end, scratch) over ranges of the images [0, batch), giving each range its own
// scratch buffer of `scratch_elems` elements (from the caching arena: no zeroing, no page faults
// after the first call). `macs_per_image`: the multiply-adds of one image's products. See Note
// [Conv threading].
template <class F>
void for_each_image(int64_t batch, int64_t macs_per_image, int64_t scratch_elems, DType dtype, F&& body) {
  auto run = [&](int64_t begin, int64_t end) {
    const Tensor scratch = Tensor::empty({scratch_elems}, dtype);
    body(begin, end, scratch);
  };
  if (num_threads() > 1 && batch >= num_threads() && batch * macs_per_image >= kParallelConvMacs) {
    SingleThreadedBlas single;
    parallel_for(0, batch, 1, run);
  } else {
    run(0, batch);
  }
}

// The window of a convolution over `image` with a weight of shape `weight`, its grid as large
// as `grid`'s spatial dims; conv1d's (N, C, W) shapes are H = 1 with a trivial window along H.
Window conv_window(const Shape& image, const Shape& grid, const Shape& weight, const Attrs& attrs, int dims) {
  const auto& stride = attrs.get<std::vector<int64_t>>("stride");
  const auto& padding = attrs.get<std::vector<int64_t>>("padding");
  const auto& dilation = attrs.get<std::vector<int64_t>>("dilation");
  // Spatial sizes, H first.
  auto spatial = [&](const Shape& s, int d) { return dims == 1 && d == 0 ? 1 : s[s.size() - 2 + d]; };
  auto param = [&](const std::vector<int64_t>& v, int d, int64_t trivial) {
    return dims == 1 ? (d == 0 ? trivial : v[0]) : window_param(v, d);
  };
  Window g;
  g.channels = weight[1];  // input channels per group; output channels per group when transposed
  g.h = spatial(image, 0);
  g.w = spatial(image, 1);
  g.out_h = spatial(grid, 0);
  g.out_w = spatial(grid, 1);
  g.k_h = spatial(weight, 0);
  g.k_w = spatial(weight, 1);
  g.stride_h = param(stride, 0, 1);
  g.stride_w = param(stride, 1, 1);
  g.pad_h = param(padding, 0, 0);
  g.pad_w = param(padding, 1, 0);
  g.dil_h = param(dilation, 0, 1);
  g.dil_w = param(dilation, 1, 1);
  return g;
}

// The operands of a convolution call as dense (N, C, H, W) data: conv1d's (N, C, W) is H = 1,
// an unbatched input is N = 1.
struct ConvCall {
  Tensor input, weight, bias, output;
  int64_t batch, groups;
  Window window;  // of one image and group
};

template <int Dims>
ConvCall conv_call(const KernelCall& c, bool transposed) {
  ConvCall cc{as_contiguous(c.inputs[0]), as_contiguous(c.inputs[1]), as_contiguous(c.inputs[2]),
              c.outputs[0], 1, c.attrs.get<int64_t>("groups"), {}};
  const Shape& x = cc.input.shape();
  if (x.size() == Dims + 2) cc.batch = x[0];
  const Shape& y = cc.output.shape();
  cc.window = conv_window(transposed ? y : x, transposed ? x : y, cc.weight.shape(), c.attrs, Dims);
  return cc;
}

// y[n, g] = W[g] @ im2col(x[n, g]) + bias, for every image n and group g; several images per
// GEMM when they are small (Note [Images per GEMM]).
template <int Dims>
void conv_kernel(KernelCall& c) {
  const ConvCall cc = conv_call<Dims>(c, false);
  const Window& g = cc.window;
  const int64_t groups = cc.groups, out_per_group = cc.weight.shape()[0] / groups;
  const int64_t k = g.rows(), cols = g.cols(), chunk = images_per_gemm(g);  // k: reduction length of one group
  const bool direct = g.direct();
  dispatch_floating(cc.input.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* x = cc.input.data<T>();
    const T* w = cc.weight.data<T>();
    const T* bias = cc.bias.defined() ? cc.bias.data<T>() : nullptr;
    T* y = cc.output.data<T>();
    const int64_t in_plane = g.channels * g.h * g.w, out_plane = out_per_group * cols;
    const int64_t col_elems = direct && chunk == 1 ? 0 : k * chunk * cols;
    const int64_t product_elems = chunk > 1 ? out_per_group * chunk * cols : 0;
    const int64_t padded_elems = direct && chunk == 1 ? 0 : g.padded_elems();
    const int64_t scratch_elems = col_elems + product_elems + padded_elems;
    for_each_image(cc.batch, cc.weight.numel() * cols, scratch_elems, cc.input.dtype(), [&](int64_t b, int64_t e, const Tensor& scratch) {
      T* col = scratch.data<T>();
      T* product = col + col_elems;
      T* padded = padded_elems ? product + product_elems : nullptr;
      if (padded) clear_padded(padded, g);
      for (int64_t n = b; n < e; n += chunk) {
        const int64_t count = std::min(chunk, e - n);
        for (int64_t grp = 0; grp < groups; ++grp) {
          const T* image = x + (n * groups + grp) * in_plane;
          T* out = y + (n * groups + grp) * out_plane;
          const T* weights = w + grp * out_per_group * k;
          const T* bias_g = bias ? bias + grp * out_per_group : nullptr;
          if (count == 1) {
            if (!direct) im2col(image, g, col, cols, padded);
            // With a bias, the product accumulates onto it (no separate pass over the output).
            if (bias) init_output(out, bias_g, out_per_group, cols);
            gemm(Trans::None, bias != nullptr, out_per_group, cols, k, weights, direct ? image : col, out);
            continue;
          }
          for (int64_t i = 0; i < count; ++i)
            im2col(image + i * groups * in_plane, g, col + i * cols, count * cols, padded);
          gemm(Trans::None, false, out_per_group, count * cols, k, weights, col, product);
          unpack_blocks(product, count, out_per_group, cols, bias_g, out, groups * out_plane);
        }
      }
    });
  });
}

// y[n, g] = col2im(W[g]^T @ x[n, g]) + bias: the adjoint of conv2d's im2col product. It is also
// conv2d's input gradient (Note [Convolution gradients] in engine/ops/conv.cpp).
void conv_transpose2d_kernel(KernelCall& c) {
  const ConvCall cc = conv_call<2>(c, true);
  const Window& g = cc.window;
  const int64_t groups = cc.groups, in_per_group = cc.weight.shape()[0] / groups;
  const int64_t cols = g.cols(), chunk = images_per_gemm(g);
  const bool direct = g.direct();
  dispatch_floating(cc.input.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* x = cc.input.data<T>();
    const T* w = cc.weight.data<T>();
    const T* bias = cc.bias.defined() ? cc.bias.data<T>() : nullptr;
    T* y = cc.output.data<T>();
    const int64_t in_plane = in_per_group * cols, out_plane = g.channels * g.h * g.w;
    const int64_t col_elems = direct && chunk == 1 ? 0 : g.rows() * chunk * cols;
    const int64_t packed_elems = chunk > 1 ? in_per_group * chunk * cols : 0;
    const int64_t padded_elems = direct && chunk == 1 ? 0 : g.padded_elems();
    const int64_t scratch_elems = col_elems + packed_elems + padded_elems;
    for_each_image(cc.batch, cc.weight.numel() * cols, scratch_elems, cc.input.dtype(), [&](int64_t b, int64_t e, const Tensor& scratch) {
      T* col = scratch.data<T>();
      T* packed = col + col_elems;
      T* padded = padded_elems ? packed + packed_elems : nullptr;  // its border is never read: not cleared
      for (int64_t n = b; n < e; n += chunk) {
        const int64_t count = std::min(chunk, e - n);
        for (int64_t grp = 0; grp < groups; ++grp) {
          T* out = y + (n * groups + grp) * out_plane;
          const T* image = x + (n * groups + grp) * in_plane;
          const T* weights = w + grp * in_per_group * g.rows();
          const T* bias_g = bias ? bias + grp * g.channels : nullptr;
          if (direct && count == 1) {  // col2im of a 1x1 window is the identity: the product lands in place
            if (bias) init_output(out, bias_g, g.channels, g.h * g.w);
            gemm(Trans::A, bias != nullptr, g.rows(), cols, in_per_group, weights, image, out);
            continue;
          }
          if (count > 1) pack_blocks(image, groups * in_plane, count, in_per_group, cols, packed);
          gemm(Trans::A, false, g.rows(), count * cols, in_per_group, weights, count > 1 ? packed : image, col);
          for (int64_t i = 0; i < count; ++i) {
            T* plane = out + i * groups * out_plane;
            init_output(plane, bias_g, g.channels, g.h * g.w);
            col2im(col + i * cols, count * cols, g, plane, padded);
          }
        }
      }
    });
  });
}

// dW[g] = sum over images n of G[n, g] @ im2col(x[n, g])^T for every group g, where G is the
// gradient of conv2d's output (grad_output) and x its input; several images per GEMM when they
// are small (Note [Images per GEMM]). Ranges of images on several threads (Note [Conv
// threading]) each sum into a dW of their own, added into the output at the end.
void conv2d_backward_weight_kernel(KernelCall& c) {
  const Tensor grad = as_contiguous(c.inputs[0]), input = as_contiguous(c.inputs[1]);
  const Tensor& out = c.outputs[0];
  const Shape& ws = out.shape();
  const Window g = conv_window(input.shape(), grad.shape(), ws, c.attrs, 2);
  const int64_t groups = c.attrs.get<int64_t>("groups"), out_per_group = ws[0] / groups, k = g.rows();
  const int64_t batch = input.dim() == 4 ? input.size(0) : 1, total = out.numel();
  const int64_t cols = g.cols(), chunk = images_per_gemm(g, kWeightGemmCols);
  const bool direct = g.direct();
  std::mutex mutex;
  dispatch_floating(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* go = grad.data<T>();
    const T* x = input.data<T>();
    T* dw = out.data<T>();
    std::fill(dw, dw + total, T(0));
    const int64_t in_plane = g.channels * g.h * g.w, grad_plane = out_per_group * cols;
    const int64_t col_elems = direct && chunk == 1 ? 0 : k * chunk * cols;
    const int64_t packed_elems = chunk > 1 ? out_per_group * chunk * cols : 0;
    const int64_t padded_elems = direct && chunk == 1 ? 0 : g.padded_elems();
    const int64_t scratch_elems = col_elems + packed_elems + padded_elems + total;
    for_each_image(batch, total * cols, scratch_elems, out.dtype(), [&](int64_t b, int64_t e, const Tensor& scratch) {
      T* col = scratch.data<T>();
      T* packed = col + col_elems;
      T* padded = padded_elems ? packed + packed_elems : nullptr;
      if (padded) clear_padded(padded, g);
      const bool whole = b == 0 && e == batch;  // one range: it sums straight into the output
      T* sum = whole ? dw : packed + packed_elems + padded_elems;
      if (!whole) std::fill(sum, sum + total, T(0));
      for (int64_t n = b; n < e; n += chunk) {
        const int64_t count = std::min(chunk, e - n);
        for (int64_t grp = 0; grp < groups; ++grp) {
          const T* image = x + (n * groups + grp) * in_plane;
          const T* grads = go + (n * groups + grp) * grad_plane;
          const bool in_place = direct && count == 1;  // the image is its own column matrix
          for (int64_t i = 0; i < count && !in_place; ++i)
            im2col(image + i * groups * in_plane, g, col + i * cols, count * cols, padded);
          if (count > 1) pack_blocks(grads, groups * grad_plane, count, out_per_group, cols, packed);
          gemm(Trans::B, true, out_per_group, k, count * cols, count > 1 ? packed : grads, in_place ? image : col,
               sum + grp * out_per_group * k);
        }
      }
      if (whole) return;
      std::lock_guard<std::mutex> lock(mutex);
      for (int64_t i = 0; i < total; ++i) dw[i] += sum[i];
    });
  });
}

}  // namespace

TERRA_KERNEL(conv1d, CPU, conv_kernel<1>);
TERRA_KERNEL(conv2d, CPU, conv_kernel<2>);
TERRA_KERNEL(conv_transpose2d, CPU, conv_transpose2d_kernel);
TERRA_KERNEL(conv2d_backward_weight, CPU, conv2d_backward_weight_kernel);

}  // namespace terra::cpu
