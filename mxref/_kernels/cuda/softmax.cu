// softmax.cu: softmax and log-softmax along one axis, their gradients, and the SoftmaxOutput
// gradient.
//
// x is seen as (outer, n, inner) with the softmax taken along n.  When inner == 1 (the usual
// last axis) a row is contiguous and a *group* of threads shares it: one warp per row for rows
// of up to 1024 elements (8 rows per block of 256 threads), or a whole block per row for longer
// ones.  The group makes two passes over its row:
//
//   1. an online max and sum:  for each v = x/T:  if v > m: s = s * exp(m - v) + 1, m = v
//                                                 else      s = s + exp(v - m)
//      (one exp per element), the (m, s) pairs of the threads merged with warp shuffles;
//   2. y = exp(x/T - m) / s   (log-softmax: x/T - m - log s).
//
// The second pass reads the row again; rows in flight fit in the L2 cache, so device memory
// sees one read and one write per element, like a copy.  When inner > 1 one thread walks one
// (o, i) line with stride ``inner`` (neighbouring threads read neighbouring memory).
//
// Gradients (from the output y):  softmax      dx = y * (dy - sum(dy * y)) / T
//                                 log-softmax  dx = (dy - exp(y) * sum(dy)) / T
#include "common.cuh"

// merge the online (max, sum) pair (m2, s2) into (m, s)
__device__ __forceinline__ void merge_max_sum(accum_t& m, accum_t& s, accum_t m2, accum_t s2) {
  if (m2 > m) {
    s = s * mx_exp(m - m2) + s2;
    m = m2;
  } else if (s2 != accum_t(0)) {
    s = s + s2 * mx_exp(m2 - m);
  }
}

__device__ __forceinline__ void warp_merge(accum_t& m, accum_t& s) {
#pragma unroll
  for (int offset = MX_WARP / 2; offset > 0; offset /= 2) {
    const accum_t m2 = __shfl_xor_sync(MX_FULL_MASK, m, offset);
    const accum_t s2 = __shfl_xor_sync(MX_FULL_MASK, s, offset);
    merge_max_sum(m, s, m2, s2);
  }
}

// (m, s) of the whole group, in every thread of it.
__device__ __forceinline__ void group_merge(accum_t& m, accum_t& s, bool whole_block) {
  __shared__ accum_t scratch_m[MX_WARP], scratch_s[MX_WARP];
  warp_merge(m, s);
  if (!whole_block) return;
  const int lane = threadIdx.x % MX_WARP, warp = threadIdx.x / MX_WARP;
  if (lane == 0) {
    scratch_m[warp] = m;
    scratch_s[warp] = s;
  }
  __syncthreads();
  const int warps = blockDim.x / MX_WARP;
  m = lane < warps ? scratch_m[lane] : -INFINITY;
  s = lane < warps ? scratch_s[lane] : accum_t(0);
  warp_merge(m, s);
  __syncthreads();                       // scratch is reused by the next row
}

__device__ __forceinline__ accum_t group_sum(accum_t v, bool whole_block) {
  __shared__ accum_t scratch[MX_WARP];
  v = mx_warp_sum(v);
  if (!whole_block) return v;
  const int lane = threadIdx.x % MX_WARP, warp = threadIdx.x / MX_WARP;
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < static_cast<int>(blockDim.x / MX_WARP) ? scratch[lane] : accum_t(0);
  v = mx_warp_sum(v);
  __syncthreads();
  return v;
}

__device__ __forceinline__ void put(real_t* target, accum_t v, int accumulate) {
  *target = mx_store<real_t>(accumulate ? mx_load<accum_t>(*target) + v : v);
}

// Rows of n contiguous elements.  Grid: (number of row groups), block 256 (warp groups) or
// the block size of one group (whole_block).
extern "C" __global__ void softmax_rows(const real_t* __restrict__ x, real_t* __restrict__ y,
                                        long long rows, int n, accum_t temperature, int log_softmax,
                                        int accumulate, int whole_block) {
  const int group_size = whole_block ? blockDim.x : MX_WARP;
  const int groups = blockDim.x / group_size, rank = threadIdx.x % group_size;
  for (long long row = static_cast<long long>(blockIdx.x) * groups + threadIdx.x / group_size;
       row - threadIdx.x / group_size < rows; row += static_cast<long long>(gridDim.x) * groups) {
    const bool active = row < rows;
    const real_t* xr = x + (active ? row : 0) * n;
    accum_t m = -INFINITY, s = 0;
    if (active) {
      for (int j = rank; j < n; j += group_size) {
        const accum_t v = mx_load<accum_t>(xr[j]) / temperature;
        if (v > m) {
          s = s * mx_exp(m - v) + accum_t(1);
          m = v;
        } else if (v != -INFINITY) {       // -inf adds nothing (and -inf - -inf is NaN)
          s += mx_exp(v - m);
        }
      }
    }
    group_merge(m, s, whole_block);
    if (active) {
      real_t* yr = y + row * n;
      const accum_t log_s = mx_log(s), inv_s = accum_t(1) / s;
      for (int j = rank; j < n; j += group_size) {
        const accum_t v = mx_load<accum_t>(xr[j]) / temperature - m;
        put(yr + j, log_softmax ? v - log_s : mx_exp(v) * inv_s, accumulate);
      }
    }
  }
}

extern "C" __global__ void softmax_rows_backward(const real_t* __restrict__ y, const real_t* __restrict__ dy,
                                                 real_t* __restrict__ dx, long long rows, int n,
                                                 accum_t temperature, int log_softmax, int accumulate,
                                                 int whole_block) {
  const int group_size = whole_block ? blockDim.x : MX_WARP;
  const int groups = blockDim.x / group_size, rank = threadIdx.x % group_size;
  for (long long row = static_cast<long long>(blockIdx.x) * groups + threadIdx.x / group_size;
       row - threadIdx.x / group_size < rows; row += static_cast<long long>(gridDim.x) * groups) {
    const bool active = row < rows;
    const long long base = (active ? row : 0) * n;
    accum_t total = 0;
    if (active) {
      for (int j = rank; j < n; j += group_size) {
        const accum_t g = mx_load<accum_t>(dy[base + j]);
        total += log_softmax ? g : g * mx_load<accum_t>(y[base + j]);
      }
    }
    total = group_sum(total, whole_block);
    if (active) {
      for (int j = rank; j < n; j += group_size) {
        const accum_t g = mx_load<accum_t>(dy[base + j]), out = mx_load<accum_t>(y[base + j]);
        const accum_t v = log_softmax ? g - mx_exp(out) * total : out * (g - total);
        put(dx + base + j, v / temperature, accumulate);
      }
    }
  }
}

// One thread per (o, i) line of x seen as (outer, n, inner), inner > 1.
extern "C" __global__ void softmax_lines(const real_t* __restrict__ x, real_t* __restrict__ y,
                                         long long outer, long long n, long long inner,
                                         accum_t temperature, int log_softmax, int accumulate) {
  for (long long line = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
       line < outer * inner; line += static_cast<long long>(blockDim.x) * gridDim.x) {
    const long long base = (line / inner) * n * inner + line % inner;
    accum_t m = -INFINITY, s = 0;
    for (long long j = 0; j < n; ++j) {
      const accum_t v = mx_load<accum_t>(x[base + j * inner]) / temperature;
      if (v > m) {
        s = s * mx_exp(m - v) + accum_t(1);
        m = v;
      } else if (v != -INFINITY) {
        s += mx_exp(v - m);
      }
    }
    const accum_t log_s = mx_log(s), inv_s = accum_t(1) / s;
    for (long long j = 0; j < n; ++j) {
      const accum_t v = mx_load<accum_t>(x[base + j * inner]) / temperature - m;
      put(y + base + j * inner, log_softmax ? v - log_s : mx_exp(v) * inv_s, accumulate);
    }
  }
}

extern "C" __global__ void softmax_lines_backward(const real_t* __restrict__ y, const real_t* __restrict__ dy,
                                                  real_t* __restrict__ dx, long long outer, long long n,
                                                  long long inner, accum_t temperature,
                                                  int log_softmax, int accumulate) {
  for (long long line = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
       line < outer * inner; line += static_cast<long long>(blockDim.x) * gridDim.x) {
    const long long base = (line / inner) * n * inner + line % inner;
    accum_t total = 0;
    for (long long j = 0; j < n; ++j) {
      const accum_t g = mx_load<accum_t>(dy[base + j * inner]);
      total += log_softmax ? g : g * mx_load<accum_t>(y[base + j * inner]);
    }
    for (long long j = 0; j < n; ++j) {
      const long long e = base + j * inner;
      const accum_t g = mx_load<accum_t>(dy[e]), out = mx_load<accum_t>(y[e]);
      const accum_t v = log_softmax ? g - mx_exp(out) * total : out * (g - total);
      put(dx + e, v / temperature, accumulate);
    }
  }
}

// SoftmaxOutput's gradient: prob (n, k, s) with label (n, s) (s = 1 for 2-D prob).
//   dx = (prob - target(trunc(label))) * head * keep * grad_scale / divisor
// target is one-hot (smoothed by smooth_alpha); keep is 0 where use_ignore and the label is
// ignore_label; divisor is *valid_count (at least 1) when valid_count is not null, else the
// ``divisor`` argument.  The label has prob's type (the Python side converts it).
extern "C" __global__ void softmax_output_grad(const real_t* __restrict__ prob, const real_t* __restrict__ label,
                                               const real_t* __restrict__ head, const accum_t* __restrict__ valid_count,
                                               real_t* __restrict__ dx, long long n, long long k, long long s,
                                               accum_t grad_scale, accum_t ignore_label, int use_ignore,
                                               accum_t smooth_alpha, accum_t divisor, int accumulate) {
  accum_t scale = grad_scale / divisor;
  if (valid_count != nullptr) scale = grad_scale / mx_fmax(*valid_count, accum_t(1));
  const long long total = n * k * s;
  for (long long e = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<long long>(blockDim.x) * gridDim.x) {
    const long long j = e % s, c = (e / s) % k, i = e / (s * k);
    const accum_t lab = mx_trunc(mx_load<accum_t>(label[i * s + j]));
    accum_t target = lab == static_cast<accum_t>(c) ? accum_t(1) : accum_t(0);
    if (smooth_alpha != accum_t(0))
      target = target * (accum_t(1) - smooth_alpha) + (accum_t(1) - target) * (smooth_alpha / (k - 1));
    accum_t g = mx_load<accum_t>(prob[e]) - target;
    if (head != nullptr) g *= mx_load<accum_t>(head[e]);
    if (use_ignore && lab == mx_trunc(ignore_label)) g = accum_t(0);
    put(dx + e, g * scale, accumulate);
  }
}
