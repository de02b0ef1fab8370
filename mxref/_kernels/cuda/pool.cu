// pool.cu: 2-D max, sum and average pooling over (N*C, H, W) planes, and their gradients,
// with the CPU kernels' rules (mxref/_kernels/pool.pyx):
//
// Window (oh, ow) covers rows oh*sh - ph ... + kh and columns ow*sw - pw ... + kw, clipped
// to the input; padding never wins a max and adds nothing to a sum.  The average divides by
// the window's size clipped to the padded input (count_include_pad) or by the number of input
// elements under it.  Max records the flat position h*W + w of the first maximum in row-major
// order (-1, and the lowest finite value, for a window entirely in the padding).
//
// Forward: one thread per output element.  Backward: one thread per *input* element, summing
// the contributions of the windows that cover it in increasing (oh, ow) order, the order the
// CPU adds them in; no atomics.
#include "common.cuh"
#include <float.h>

#define MX_GRID_LOOP(e, n)                                                                 \
  for (long long e = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; e < (n); \
       e += static_cast<long long>(blockDim.x) * gridDim.x)

// [lo, hi): the window's part inside the input; span: its length inside the padded input.
__device__ __forceinline__ void clip_window(int start, int kernel, int size, int pad, int* lo,
                                            int* hi, int* span) {
  int end = start + kernel;
  if (end > size + pad) end = size + pad;
  *span = end - start;
  *lo = start > 0 ? start : 0;
  *hi = end < size ? end : size;
}

__device__ __forceinline__ double divisor_of(int average, int count_include_pad, int span_h,
                                             int span_w, int rows, int cols) {
  if (!average) return 1.0;
  const int count = count_include_pad ? span_h * span_w : rows * cols;
  return count > 0 ? count : 1;
}

// The first output index whose window (start = o*s - p, length k) covers input index i.
__device__ __forceinline__ int first_cover(int i, int s, int p, int k) {
  const int num = i + p - k + 1;                   // o*s >= num
  return num <= 0 ? 0 : (num + s - 1) / s;
}

extern "C" __global__ void pool_max_forward(const real_t* __restrict__ x, real_t* __restrict__ y,
                                            int* __restrict__ argmax, long long planes, int height,
                                            int width, int out_h, int out_w, int kh, int kw, int sh,
                                            int sw, int ph, int pw, int accumulate) {
  const long long total = planes * out_h * out_w;
  MX_GRID_LOOP(e, total) {
    const int ow = e % out_w, oh = (e / out_w) % out_h;
    const long long plane = e / (static_cast<long long>(out_w) * out_h);
    int h0, h1, w0, w1, span_h, span_w;
    clip_window(oh * sh - ph, kh, height, ph, &h0, &h1, &span_h);
    clip_window(ow * sw - pw, kw, width, pw, &w0, &w1, &span_w);
    const real_t* xp = x + plane * height * width;
    accum_t best;
    int best_at;
    if (h0 < h1 && w0 < w1) {
      best_at = h0 * width + w0;
      best = mx_load<accum_t>(xp[best_at]);
      for (int h = h0; h < h1; ++h)
        for (int w = w0; w < w1; ++w) {
          const accum_t v = mx_load<accum_t>(xp[h * width + w]);
          if (v > best) {
            best = v;
            best_at = h * width + w;
          }
        }
    } else {
      best_at = -1;
      best = sizeof(real_t) == 8 ? -DBL_MAX : -FLT_MAX;
    }
    y[e] = mx_store<real_t>(accumulate ? mx_load<accum_t>(y[e]) + best : best);
    if (argmax != nullptr) argmax[e] = best_at;
  }
}

extern "C" __global__ void pool_sum_forward(const real_t* __restrict__ x, real_t* __restrict__ y,
                                            long long planes, int height, int width, int out_h,
                                            int out_w, int kh, int kw, int sh, int sw, int ph, int pw,
                                            int average, int count_include_pad, int accumulate) {
  const long long total = planes * out_h * out_w;
  MX_GRID_LOOP(e, total) {
    const int ow = e % out_w, oh = (e / out_w) % out_h;
    const long long plane = e / (static_cast<long long>(out_w) * out_h);
    int h0, h1, w0, w1, span_h, span_w;
    clip_window(oh * sh - ph, kh, height, ph, &h0, &h1, &span_h);
    clip_window(ow * sw - pw, kw, width, pw, &w0, &w1, &span_w);
    const real_t* xp = x + plane * height * width;
    accum_t sum = 0;
    for (int h = h0; h < h1; ++h)
      for (int w = w0; w < w1; ++w) sum += mx_load<accum_t>(xp[h * width + w]);
    const accum_t value = static_cast<accum_t>(
        sum / divisor_of(average, count_include_pad, span_h, span_w, h1 - h0, w1 - w0));
    y[e] = mx_store<real_t>(accumulate ? mx_load<accum_t>(y[e]) + value : value);
  }
}

extern "C" __global__ void pool_max_backward(const real_t* __restrict__ dy, const int* __restrict__ argmax,
                                             real_t* __restrict__ dx, long long planes, int height,
                                             int width, int out_h, int out_w, int kh, int kw, int sh,
                                             int sw, int ph, int pw, int accumulate) {
  const long long total = planes * height * width;
  MX_GRID_LOOP(e, total) {
    const int w = e % width, h = (e / width) % height;
    const long long plane = e / (static_cast<long long>(width) * height);
    const long long base = plane * out_h * out_w;
    const int here = h * width + w;
    accum_t sum = 0;
    for (int oh = first_cover(h, sh, ph, kh); oh < out_h && oh * sh - ph <= h; ++oh)
      for (int ow = first_cover(w, sw, pw, kw); ow < out_w && ow * sw - pw <= w; ++ow) {
        const long long o = base + static_cast<long long>(oh) * out_w + ow;
        if (argmax[o] == here) sum += mx_load<accum_t>(dy[o]);
      }
    dx[e] = mx_store<real_t>(accumulate ? mx_load<accum_t>(dx[e]) + sum : sum);
  }
}

extern "C" __global__ void pool_sum_backward(const real_t* __restrict__ dy, real_t* __restrict__ dx,
                                             long long planes, int height, int width, int out_h,
                                             int out_w, int kh, int kw, int sh, int sw, int ph, int pw,
                                             int average, int count_include_pad, int accumulate) {
  const long long total = planes * height * width;
  MX_GRID_LOOP(e, total) {
    const int w = e % width, h = (e / width) % height;
    const long long plane = e / (static_cast<long long>(width) * height);
    const long long base = plane * out_h * out_w;
    accum_t sum = 0;
    for (int oh = first_cover(h, sh, ph, kh); oh < out_h && oh * sh - ph <= h; ++oh) {
      int h0, h1, span_h;
      clip_window(oh * sh - ph, kh, height, ph, &h0, &h1, &span_h);
      for (int ow = first_cover(w, sw, pw, kw); ow < out_w && ow * sw - pw <= w; ++ow) {
        int w0, w1, span_w;
        clip_window(ow * sw - pw, kw, width, pw, &w0, &w1, &span_w);
        const double divisor = divisor_of(average, count_include_pad, span_h, span_w, h1 - h0, w1 - w0);
        sum += static_cast<accum_t>(mx_load<accum_t>(dy[base + static_cast<long long>(oh) * out_w + ow]) / divisor);
      }
    }
    dx[e] = mx_store<real_t>(accumulate ? mx_load<accum_t>(dx[e]) + sum : sum);
  }
}
