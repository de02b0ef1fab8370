// reduce.cu: sums, means, products, extrema and norms over any set of axes, and arg-extrema.
//
// The Python side (mxref.backend.gpu.reduce) describes a reduction of x by two shapes with
// their strides in x: ``kept`` (the output positions o) and ``reduced`` (the positions r summed
// over), so that the element (o, r) is x[offset(kept, o) + offset(reduced, r)].  Large
// reductions are split in ``splits`` chunks of r, so that a sum of a whole array still uses
// the whole GPU:
//
//   pass 1  partial[o, s] = reduce over r in chunk s of  f(x[o, r])
//   pass 2  out[o] (=|+=) finish(reduce over s of partial[o, s])
//
// Pass 1 comes in two layouts:
//   reduce_groups   a group of threads (one warp, or the whole block) per (o, s), threads
//                   striding over r and combining with warp shuffles: for reductions along
//                   contiguous memory (rows);
//   reduce_columns  one thread per (o, s), walking r alone: for reductions across rows, where
//                   neighbouring threads then read neighbouring memory (o is the fast axis).
//
// kind: 0 sum, 1 mean, 2 prod, 3 max, 4 min, 5 nansum, 6 nanprod, 7 L1 norm, 8 L2 norm.
// f is |x| for L1, x*x for L2, 0 (or 1) for NaN in nansum (nanprod); finish divides by the count
// for mean and takes the square root for L2.  Integers accumulate in long long.
#include "common.cuh"

#define KIND_SUM 0
#define KIND_MEAN 1
#define KIND_PROD 2
#define KIND_MAX 3
#define KIND_MIN 4
#define KIND_NANSUM 5
#define KIND_NANPROD 6
#define KIND_L1 7
#define KIND_L2 8

__device__ __forceinline__ accum_t identity_of(int kind) {
  if (kind == KIND_PROD || kind == KIND_NANPROD) return accum_t(1);
  if constexpr (std::is_floating_point<accum_t>::value) {
    if (kind == KIND_MAX) return -INFINITY;
    if (kind == KIND_MIN) return INFINITY;
  } else {
    if (kind == KIND_MAX) return LLONG_MIN;
    if (kind == KIND_MIN) return LLONG_MAX;
  }
  return accum_t(0);
}

// f(x): the value each element contributes.
__device__ __forceinline__ accum_t prepare(int kind, real_t raw) {
  const accum_t v = mx_load<accum_t>(raw);
  switch (kind) {
    case KIND_NANSUM: return v != v ? accum_t(0) : v;
    case KIND_NANPROD: return v != v ? accum_t(1) : v;
    case KIND_L1: return v < accum_t(0) ? -v : v;
    case KIND_L2: return v * v;
    default: return v;
  }
}

__device__ __forceinline__ accum_t combine(int kind, accum_t a, accum_t b) {
  switch (kind) {
    case KIND_PROD:
    case KIND_NANPROD: return a * b;
    case KIND_MAX: return mx_fmax(a, b);
    case KIND_MIN: return mx_fmin(a, b);
    default: return a + b;
  }
}

__device__ __forceinline__ accum_t warp_combine(int kind, accum_t v) {
#pragma unroll
  for (int offset = MX_WARP / 2; offset > 0; offset /= 2)
    v = combine(kind, v, __shfl_xor_sync(MX_FULL_MASK, v, offset));
  return v;
}

// Every thread of a group runs this with its partial value; lane 0 of the group gets the total.
__device__ __forceinline__ accum_t group_combine(int kind, accum_t v, bool whole_block) {
  __shared__ accum_t scratch[MX_WARP];
  v = warp_combine(kind, v);
  if (!whole_block) return v;
  const int lane = threadIdx.x % MX_WARP, warp = threadIdx.x / MX_WARP;
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  const int warps = blockDim.x / MX_WARP;
  v = (warp == 0 && lane < warps) ? scratch[lane] : identity_of(kind);
  if (warp == 0) v = warp_combine(kind, v);
  return v;
}

// Offsets with 32-bit arithmetic when the reduced space fits (cheaper divisions).
__device__ __forceinline__ long long reduced_offset(const mx_dims& reduced, long long r, bool small) {
  return small ? mx_offset<unsigned int>(reduced, static_cast<unsigned int>(r))
               : mx_offset<unsigned long long>(reduced, static_cast<unsigned long long>(r));
}

// Grid: (ceil(n_out / groups per block), splits).  whole_block: one group = the block,
// else one group = one warp.
extern "C" __global__ void reduce_groups(const real_t* __restrict__ x, accum_t* __restrict__ partial,
                                         mx_dims kept, mx_dims reduced, long long n_out,
                                         long long n_red, long long chunk, int kind, int whole_block) {
  const int group_size = whole_block ? blockDim.x : MX_WARP;
  const int groups_per_block = blockDim.x / group_size;
  const int rank = threadIdx.x % group_size;
  const long long o = static_cast<long long>(blockIdx.x) * groups_per_block + threadIdx.x / group_size;
  const long long s = blockIdx.y;
  const bool small = n_red < 4294967295LL;
  accum_t acc = identity_of(kind);
  if (o < n_out) {
    const long long base = mx_offset<unsigned long long>(kept, static_cast<unsigned long long>(o));
    const long long end = min(n_red, (s + 1) * chunk);
    for (long long r = s * chunk + rank; r < end; r += group_size)
      acc = combine(kind, acc, prepare(kind, x[base + reduced_offset(reduced, r, small)]));
  }
  acc = group_combine(kind, acc, whole_block);
  if (rank == 0 && o < n_out) partial[o * gridDim.y + s] = acc;
}

// Grid: (ceil(n_out / blockDim.x), splits); thread o walks its chunk of r with an odometer
// over the reduced axes (no divisions in the loop).
extern "C" __global__ void reduce_columns(const real_t* __restrict__ x, accum_t* __restrict__ partial,
                                          mx_dims kept, mx_dims reduced, long long n_out,
                                          long long n_red, long long chunk, int kind) {
  const long long o = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  const long long s = blockIdx.y;
  if (o >= n_out) return;
  const long long begin = s * chunk, end = min(n_red, (s + 1) * chunk);
  const real_t* p = x + mx_offset<unsigned long long>(kept, static_cast<unsigned long long>(o));
  accum_t acc = identity_of(kind);
  if (begin < end) {
    // start the odometer at position ``begin``
    long long coord[MX_MAX_DIMS];
    long long rest = begin, offset = 0;
    for (int k = static_cast<int>(reduced.ndim) - 1; k >= 0; --k) {
      coord[k] = rest % reduced.shape[k];
      rest /= reduced.shape[k];
      offset += coord[k] * reduced.stride[k];
    }
    const int last = static_cast<int>(reduced.ndim) - 1;
    for (long long r = begin; r < end; ++r) {
      acc = combine(kind, acc, prepare(kind, p[offset]));
      // advance the odometer by one position
      int k = last;
      ++coord[k];
      offset += reduced.stride[k];
      while (k > 0 && coord[k] == reduced.shape[k]) {
        offset -= coord[k] * reduced.stride[k];
        coord[k] = 0;
        --k;
        ++coord[k];
        offset += reduced.stride[k];
      }
    }
  }
  partial[o * gridDim.y + s] = acc;
}

// Pass 2, one thread per output.
extern "C" __global__ void reduce_finish(const accum_t* __restrict__ partial, real_t* __restrict__ out,
                                         long long n_out, long long splits, long long n_red,
                                         int kind, int accumulate) {
  for (long long o = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; o < n_out;
       o += static_cast<long long>(blockDim.x) * gridDim.x) {
    accum_t acc = partial[o * splits];
    for (long long s = 1; s < splits; ++s) acc = combine(kind, acc, partial[o * splits + s]);
    real_t value;
    if (kind == KIND_MEAN) {
      if constexpr (std::is_integral<accum_t>::value) {
        value = mx_store<real_t>(static_cast<double>(acc) / static_cast<double>(n_red));
      } else {
        value = mx_store<real_t>(acc / static_cast<accum_t>(n_red));
      }
    } else if (kind == KIND_L2) {
      value = mx_store<real_t>(mx_sqrt(acc));
    } else {
      value = mx_store<real_t>(acc);
    }
    out[o] = accumulate ? mx_store<real_t>(mx_load<accum_t>(out[o]) + mx_load<accum_t>(value)) : value;
  }
}

// ------------------------------------------------------------------------------------------
// argmax / argmin along one axis of x seen as (outer, size, inner)
// ------------------------------------------------------------------------------------------
// NumPy's rules: the first position of the extremum; NaN counts as the extremum (the first NaN
// wins).  ``a`` beats ``b`` when it is more extreme, or equally extreme at a smaller index.
__device__ __forceinline__ bool beats(accum_t va, long long ia, accum_t vb, long long ib, int is_max) {
  const bool nan_a = va != va, nan_b = vb != vb;
  if (nan_a || nan_b) return nan_a && (!nan_b || ia < ib);
  if (va == vb) return ia < ib;
  return is_max ? va > vb : va < vb;
}

// Grid: (ceil(n_lines / 8), splits), 8 warps of 32 per block, one warp per (line, split).
extern "C" __global__ void argreduce_partial(const real_t* __restrict__ x, accum_t* __restrict__ pval,
                                             long long* __restrict__ pidx, long long outer,
                                             long long size, long long inner, long long chunk,
                                             int is_max) {
  const long long line = static_cast<long long>(blockIdx.x) * (blockDim.x / MX_WARP) + threadIdx.x / MX_WARP;
  const int lane = threadIdx.x % MX_WARP;
  const long long s = blockIdx.y;
  if (line >= outer * inner) return;                 // whole warps leave together
  const long long o = line / inner, i = line % inner;
  const real_t* p = x + o * size * inner + i;
  accum_t best = mx_load<accum_t>(p[min(s * chunk, size - 1) * inner]);
  long long best_i = LLONG_MAX;
  const long long end = min(size, (s + 1) * chunk);
  for (long long j = s * chunk + lane; j < end; j += MX_WARP) {
    const accum_t v = mx_load<accum_t>(p[j * inner]);
    if (best_i == LLONG_MAX || beats(v, j, best, best_i, is_max)) {
      best = v;
      best_i = j;
    }
  }
#pragma unroll
  for (int offset = MX_WARP / 2; offset > 0; offset /= 2) {
    const accum_t v = __shfl_xor_sync(MX_FULL_MASK, best, offset);
    const long long j = __shfl_xor_sync(MX_FULL_MASK, best_i, offset);
    if (j != LLONG_MAX && (best_i == LLONG_MAX || beats(v, j, best, best_i, is_max))) {
      best = v;
      best_i = j;
    }
  }
  if (lane == 0) {
    pval[line * gridDim.y + s] = best;
    pidx[line * gridDim.y + s] = best_i;
  }
}

extern "C" __global__ void argreduce_finish(const accum_t* __restrict__ pval, const long long* __restrict__ pidx,
                                            long long* __restrict__ result, long long n_lines,
                                            long long splits, int is_max) {
  for (long long line = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; line < n_lines;
       line += static_cast<long long>(blockDim.x) * gridDim.x) {
    accum_t best = pval[line * splits];
    long long best_i = pidx[line * splits];
    for (long long s = 1; s < splits; ++s) {
      const long long j = pidx[line * splits + s];
      const accum_t v = pval[line * splits + s];
      if (j != LLONG_MAX && (best_i == LLONG_MAX || beats(v, j, best, best_i, is_max))) {
        best = v;
        best_i = j;
      }
    }
    result[line] = best_i;
  }
}
