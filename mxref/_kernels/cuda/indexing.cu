// indexing.cu: gathers and scatters by index lists.
//
// Index arrays reach these kernels already cleaned by the Python side: int64, truncated and
// clipped or wrapped into range (see mxref.backend.gpu.indexing), so no kernel checks bounds
// twice.  Every kernel is a grid-stride loop over the elements it writes.
//
//   gather_flat    packed[i] = data[positions[i]]                  (advanced getitem)
//   scatter_flat   data[positions[i]] = packed[i]                  (advanced setitem)
//   take           out[o, j, i] (=|+=) a[o, idx[j], i]             a: (outer, size, inner)
//   pick           out[o, i] (=|+=) x[o, idx[o, i], i]             x: (outer, size, inner)
//   pick_backward  dx[o, idx[o, i], i] (=|+=) dy[o, i]             (dx zeroed first for =)
//   one_hot        out[p, k] = (idx[p] == k) ? on : off            (idx < 0: all off)
#include "common.cuh"

#define MX_GRID_LOOP(e, n)                                                                 \
  for (long long e = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; e < (n); \
       e += static_cast<long long>(blockDim.x) * gridDim.x)

__device__ __forceinline__ void mx_put(real_t* target, real_t v, int accumulate) {
  *target = accumulate ? mx_store<real_t>(mx_load<accum_t>(*target) + mx_load<accum_t>(v)) : v;
}

extern "C" __global__ void gather_flat(const real_t* __restrict__ data, real_t* __restrict__ packed,
                                       const long long* __restrict__ positions, long long n) {
  MX_GRID_LOOP(e, n) packed[e] = data[positions[e]];
}

extern "C" __global__ void scatter_flat(real_t* __restrict__ data, const real_t* __restrict__ packed,
                                        const long long* __restrict__ positions, long long n) {
  MX_GRID_LOOP(e, n) data[positions[e]] = packed[e];
}

extern "C" __global__ void take(const real_t* __restrict__ a, const long long* __restrict__ idx,
                                real_t* __restrict__ out, long long outer, long long size,
                                long long inner, long long count, int accumulate) {
  const long long n = outer * count * inner;
  MX_GRID_LOOP(e, n) {
    const long long i = e % inner, rest = e / inner;
    const long long j = rest % count, o = rest / count;
    mx_put(out + e, a[(o * size + idx[j]) * inner + i], accumulate);
  }
}

extern "C" __global__ void pick(const real_t* __restrict__ x, const long long* __restrict__ idx,
                                real_t* __restrict__ out, long long outer, long long size,
                                long long inner, int accumulate) {
  const long long n = outer * inner;
  MX_GRID_LOOP(e, n) {
    const long long o = e / inner, i = e % inner;
    mx_put(out + e, x[(o * size + idx[e]) * inner + i], accumulate);
  }
}

extern "C" __global__ void pick_backward(const real_t* __restrict__ dy, const long long* __restrict__ idx,
                                         real_t* __restrict__ dx, long long outer, long long size,
                                         long long inner, int accumulate) {
  const long long n = outer * inner;
  MX_GRID_LOOP(e, n) {
    const long long o = e / inner, i = e % inner;
    mx_put(dx + (o * size + idx[e]) * inner + i, dy[e], accumulate);
  }
}

extern "C" __global__ void one_hot(const long long* __restrict__ idx, real_t* __restrict__ out,
                                   long long positions, long long depth, double on_value,
                                   double off_value) {
  const long long n = positions * depth;
  MX_GRID_LOOP(e, n) out[e] = mx_store<real_t>(idx[e / depth] == e % depth ? on_value : off_value);
}
