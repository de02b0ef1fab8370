// gemm.cu: C = alpha * op(A) op(B) + beta * C for a batch of matrices, tiled in shared memory
// and blocked in registers.
//
// op(A) is M x K: element (m, k) is A[m*lda + k], or A[k*lda + m] when trans_a.
// op(B) is K x N: element (k, n) is B[k*ldb + n], or B[n*ldb + k] when trans_b.
// beta is 0 (C is not read: 'write') or 1 ('add').
//
// Each block of 256 threads computes a BM x BN tile of C (128 x 128 for float, 64 x 64 for
// double).  It walks K in steps of BK = 8:
//
//   for each k-tile:
//       the block copies the BM x BK slice of op(A) and the BK x BN slice of op(B) into shared
//       memory (stored k-major: As[k][m], Bs[k][n]), reading global memory in the order it is
//       laid out so that neighbouring threads read neighbouring addresses;
//       each thread multiplies its TM values of As[k][.] by its TN values of Bs[k][.] into a
//       TM x TN block of accumulators held in registers (8 x 8 for float).
//
// Every value read from shared memory is used TM (or TN) times from a register: that reuse is
// what takes the kernel from memory-bound to compute-bound.  The next k-tile is loaded from
// global memory into registers while the current one is multiplied, and shared memory is
// double-buffered, so there is one __syncthreads per k-tile.  A thread's TM rows are two runs
// of TM/2 (at ty*TM/2 and BM/2 + ty*TM/2), and likewise its columns, so that the 16 threads of
// a half-warp read 16 different shared-memory banks.
//
// Grid: (ceil(N / BN), ceil(M / BM), batches); batch b reads A + b*stride_a, B + b*stride_b,
// C + b*stride_c (a stride of 0 reuses one matrix for every batch).  The transposes are
// template parameters: the four kernels gemm_nn, gemm_nt, gemm_tn and gemm_tt (t: transposed
// operand) each load their operands without a runtime branch.
#include "common.cuh"

#define THREADS 256
#define BK 8
constexpr int TM = sizeof(real_t) == 4 ? 8 : 4;      // accumulators per thread: TM x TN
constexpr int TN = TM;
constexpr int BM = 16 * TM;                            // 16 x 16 threads
constexpr int BN = 16 * TN;
constexpr int PAD = 4;                                 // keeps k-major stores off one bank
constexpr int A_LOADS = BM * BK / THREADS;             // global elements per thread per tile
constexpr int B_LOADS = BN * BK / THREADS;

// Read TM/2 consecutive values from shared memory (one 128-bit load for float and double).
template <int COUNT>
__device__ __forceinline__ void load_run(real_t* dst, const real_t* src) {
  if constexpr (sizeof(real_t) == 4 && COUNT == 4) {
    const float4 v = *reinterpret_cast<const float4*>(src);
    dst[0] = v.x; dst[1] = v.y; dst[2] = v.z; dst[3] = v.w;
  } else if constexpr (sizeof(real_t) == 8 && COUNT == 2) {
    const double2 v = *reinterpret_cast<const double2*>(src);
    dst[0] = v.x; dst[1] = v.y;
  } else {
#pragma unroll
    for (int i = 0; i < COUNT; ++i) dst[i] = src[i];
  }
}

template <bool trans_a, bool trans_b>
__device__ __forceinline__ void gemm_tiles(const real_t* __restrict__ A, const real_t* __restrict__ B,
                                           real_t* __restrict__ C, int M, int N, int K, int lda,
                                           int ldb, int ldc, long long stride_a, long long stride_b,
                                           long long stride_c, int batch, accum_t alpha, accum_t beta) {
  __shared__ __align__(16) real_t As[2][BK][BM + PAD];
  __shared__ __align__(16) real_t Bs[2][BK][BN + PAD];

  const int tid = threadIdx.x;
  const int tx = tid % 16, ty = tid / 16;
  const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
  const int tiles = (K + BK - 1) / BK;

  for (int b = blockIdx.z; b < batch; b += gridDim.z) {
    const real_t* Ab = A + b * stride_a;
    const real_t* Bb = B + b * stride_b;
    real_t* Cb = C + b * stride_c;

    // Where load number p of this thread goes in the tile (fixed for the whole loop).
    int a_m[A_LOADS], a_k[A_LOADS], b_k[B_LOADS], b_n[B_LOADS];
#pragma unroll
    for (int p = 0; p < A_LOADS; ++p) {
      const int l = tid + p * THREADS;
      a_m[p] = trans_a ? l % BM : l / BK;        // follow A's memory order
      a_k[p] = trans_a ? l / BM : l % BK;
    }
#pragma unroll
    for (int p = 0; p < B_LOADS; ++p) {
      const int l = tid + p * THREADS;
      b_n[p] = trans_b ? l / BK : l % BN;
      b_k[p] = trans_b ? l % BK : l / BN;
    }

    real_t a_next[A_LOADS], b_next[B_LOADS];
    auto load_tile = [&](int k0) {
#pragma unroll
      for (int p = 0; p < A_LOADS; ++p) {
        const int m = m0 + a_m[p], k = k0 + a_k[p];
        a_next[p] = (m < M && k < K)
                        ? Ab[trans_a ? static_cast<long long>(k) * lda + m : static_cast<long long>(m) * lda + k]
                        : real_t(0);
      }
#pragma unroll
      for (int p = 0; p < B_LOADS; ++p) {
        const int k = k0 + b_k[p], n = n0 + b_n[p];
        b_next[p] = (k < K && n < N)
                        ? Bb[trans_b ? static_cast<long long>(n) * ldb + k : static_cast<long long>(k) * ldb + n]
                        : real_t(0);
      }
    };
    auto store_tile = [&](int buf) {
#pragma unroll
      for (int p = 0; p < A_LOADS; ++p) As[buf][a_k[p]][a_m[p]] = a_next[p];
#pragma unroll
      for (int p = 0; p < B_LOADS; ++p) Bs[buf][b_k[p]][b_n[p]] = b_next[p];
    };

    accum_t acc[TM][TN];
#pragma unroll
    for (int i = 0; i < TM; ++i)
#pragma unroll
      for (int j = 0; j < TN; ++j) acc[i][j] = accum_t(0);

    load_tile(0);
    store_tile(0);
    __syncthreads();
    for (int t = 0; t < tiles; ++t) {
      const int cur = t & 1;
      if (t + 1 < tiles) load_tile((t + 1) * BK);         // in flight during the products
#pragma unroll
      for (int kk = 0; kk < BK; ++kk) {
        real_t a[TM], b[TN];
        load_run<TM / 2>(a, &As[cur][kk][ty * (TM / 2)]);
        load_run<TM / 2>(a + TM / 2, &As[cur][kk][BM / 2 + ty * (TM / 2)]);
        load_run<TN / 2>(b, &Bs[cur][kk][tx * (TN / 2)]);
        load_run<TN / 2>(b + TN / 2, &Bs[cur][kk][BN / 2 + tx * (TN / 2)]);
#pragma unroll
        for (int i = 0; i < TM; ++i)
#pragma unroll
          for (int j = 0; j < TN; ++j) acc[i][j] += a[i] * b[j];
      }
      if (t + 1 < tiles) store_tile(cur ^ 1);
      __syncthreads();
    }

    // write the TM x TN block: C = alpha * acc + beta * C
#pragma unroll
    for (int i = 0; i < TM; ++i) {
      const int m = m0 + (i < TM / 2 ? ty * (TM / 2) + i : BM / 2 + ty * (TM / 2) + i - TM / 2);
      if (m >= M) continue;
#pragma unroll
      for (int j = 0; j < TN; ++j) {
        const int n = n0 + (j < TN / 2 ? tx * (TN / 2) + j : BN / 2 + tx * (TN / 2) + j - TN / 2);
        if (n >= N) continue;
        real_t* c = Cb + static_cast<long long>(m) * ldc + n;
        accum_t v = alpha * acc[i][j];
        if (beta != accum_t(0)) v += beta * mx_load<accum_t>(*c);
        *c = mx_store<real_t>(v);
      }
    }
    __syncthreads();                                     // before the next batch reuses As/Bs
  }
}

// The four entry points (written out, not generated by a macro, so that their signatures can
// be read by mxref.backend.gpu.sources).
extern "C" __global__ void __launch_bounds__(THREADS)
gemm_nn(const real_t* __restrict__ A, const real_t* __restrict__ B, real_t* __restrict__ C, int M,
        int N, int K, int lda, int ldb, int ldc, long long stride_a, long long stride_b,
        long long stride_c, int batch, accum_t alpha, accum_t beta) {
  gemm_tiles<false, false>(A, B, C, M, N, K, lda, ldb, ldc, stride_a, stride_b, stride_c, batch,
                           alpha, beta);
}

extern "C" __global__ void __launch_bounds__(THREADS)
gemm_nt(const real_t* __restrict__ A, const real_t* __restrict__ B, real_t* __restrict__ C, int M,
        int N, int K, int lda, int ldb, int ldc, long long stride_a, long long stride_b,
        long long stride_c, int batch, accum_t alpha, accum_t beta) {
  gemm_tiles<false, true>(A, B, C, M, N, K, lda, ldb, ldc, stride_a, stride_b, stride_c, batch,
                          alpha, beta);
}

extern "C" __global__ void __launch_bounds__(THREADS)
gemm_tn(const real_t* __restrict__ A, const real_t* __restrict__ B, real_t* __restrict__ C, int M,
        int N, int K, int lda, int ldb, int ldc, long long stride_a, long long stride_b,
        long long stride_c, int batch, accum_t alpha, accum_t beta) {
  gemm_tiles<true, false>(A, B, C, M, N, K, lda, ldb, ldc, stride_a, stride_b, stride_c, batch,
                          alpha, beta);
}

extern "C" __global__ void __launch_bounds__(THREADS)
gemm_tt(const real_t* __restrict__ A, const real_t* __restrict__ B, real_t* __restrict__ C, int M,
        int N, int K, int lda, int ldb, int ldc, long long stride_a, long long stride_b,
        long long stride_c, int batch, accum_t alpha, accum_t beta) {
  gemm_tiles<true, true>(A, B, C, M, N, K, lda, ldb, ldc, stride_a, stride_b, stride_c, batch,
                         alpha, beta);
}
