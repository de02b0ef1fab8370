// conv.cu: the data movement of a 2-D convolution computed as matrix products (im2col).
//
// With x (N, C, H, W), w (F, C/G, KH, KW) and P = OH * OW output positions, the input
// patches are laid out as the columns of a matrix:
//
//   col[(c, i, j), p] = x[n, c, oh*sh - ph + i*dh, ow*sw - pw + j*dw]     (0 in the padding)
//
// so that, per image and group, y[n] = w2 · col is one GEMM (mxref's gemm.cu).  ``layout``
// chooses where image n's columns go: 0 -> col[n][(c, i, j)][p] (one matrix per image, for
// the batched GEMMs of the forward pass and of the data gradient), 1 -> col[(c, i, j)][n][p]
// (one wide matrix, for the weight gradient, which sums over images inside its GEMM).
//
// col2im is the data gradient's scatter written as a gather, so no atomics are needed: each
// input element sums the col entries of the taps that read it, in the order (i, j):
//
//   dx[n, c, ih, iw] (=|+=) sum over taps (i, j) with oh = (ih + ph - i*dh) / sh and
//                           ow = (iw + pw - j*dw) / sw exact and in range of dcol[.., (c, i, j), oh, ow]
#include "common.cuh"

#define MX_GRID_LOOP(e, n)                                                                 \
  for (long long e = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; e < (n); \
       e += static_cast<long long>(blockDim.x) * gridDim.x)

extern "C" __global__ void im2col(const real_t* __restrict__ x, real_t* __restrict__ col,
                                  int count, int channels, int height, int width, int kh, int kw,
                                  int out_h, int out_w, int sh, int sw, int ph, int pw, int dh,
                                  int dw, int layout) {
  const long long positions = static_cast<long long>(out_h) * out_w;
  const long long rows = static_cast<long long>(channels) * kh * kw;
  const long long total = count * rows * positions;
  MX_GRID_LOOP(e, total) {
    // e walks col in the order (n, c, i, j, oh, ow): the reads of neighbouring threads are
    // neighbouring columns of x.
    const int ow = e % out_w;
    long long t = e / out_w;
    const int oh = t % out_h;
    t /= out_h;
    const long long row = t % rows;                  // (c, i, j)
    const int n = static_cast<int>(t / rows);
    const int j = row % kw, i = (row / kw) % kh, c = static_cast<int>(row / (kw * kh));
    const int ih = oh * sh - ph + i * dh, iw = ow * sw - pw + j * dw;
    const real_t v = (ih >= 0 && ih < height && iw >= 0 && iw < width)
                         ? x[((static_cast<long long>(n) * channels + c) * height + ih) * width + iw]
                         : real_t(0);
    const long long p = static_cast<long long>(oh) * out_w + ow;
    const long long target = layout == 0 ? (n * rows + row) * positions + p
                                         : (row * count + n) * positions + p;
    col[target] = v;
  }
}

extern "C" __global__ void col2im(const real_t* __restrict__ col, real_t* __restrict__ dx,
                                  int count, int channels, int height, int width, int kh, int kw,
                                  int out_h, int out_w, int sh, int sw, int ph, int pw, int dh,
                                  int dw, int accumulate) {
  const long long positions = static_cast<long long>(out_h) * out_w;
  const long long rows = static_cast<long long>(channels) * kh * kw;
  const long long total = static_cast<long long>(count) * channels * height * width;
  MX_GRID_LOOP(e, total) {
    const int iw = e % width;
    long long t = e / width;
    const int ih = t % height;
    t /= height;
    const int c = t % channels;
    const long long n = t / channels;
    accum_t sum = 0;
    for (int i = 0; i < kh; ++i) {
      const int h_num = ih + ph - i * dh;            // = oh * sh when tap i of row oh reads ih
      if (h_num < 0 || h_num % sh != 0 || h_num / sh >= out_h) continue;
      const int oh = h_num / sh;
      for (int j = 0; j < kw; ++j) {
        const int w_num = iw + pw - j * dw;
        if (w_num < 0 || w_num % sw != 0 || w_num / sw >= out_w) continue;
        const long long row = (static_cast<long long>(c) * kh + i) * kw + j;
        sum += mx_load<accum_t>(col[(n * rows + row) * positions + static_cast<long long>(oh) * out_w + w_num / sw]);
      }
    }
    dx[e] = mx_store<real_t>(accumulate ? mx_load<accum_t>(dx[e]) + sum : sum);
  }
}
