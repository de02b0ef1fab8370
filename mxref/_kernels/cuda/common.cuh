// common.cuh: what every mxref CUDA kernel shares.
//
// The element types are not written in the kernel files: mxref.backend.gpu.sources puts a
// prologue in front of each file, e.g.
//
//     typedef float real_t;      // the element type of the arrays
//     typedef float accum_t;     // the type sums and products are accumulated in
//
// and compiles one module per combination it needs (memoised per device).  This header then
// gives
//
//   * the math functions of the elementwise expression language (mxref/backend/exprs.py),
//     named mx_<name>, with NumPy's semantics: integer arguments are computed in double, as
//     NumPy computes exp(int32) in float64; fmax/fmin propagate NaN like numpy.maximum;
//     mod is Python's remainder (sign of the divisor) and 0 where the divisor is 0; div
//     truncates for integers;
//   * warp and block reductions built on __shfl_xor_sync;
//   * Philox4x32-10, the counter-based random generator behind mx.nd.random on the GPU;
//   * atomic addition for the scatter kernels.
//
// Everything that does not touch threads is __host__ __device__, so the test suite can
// compile it for the host with nvcc and compare it with NumPy on a machine without a GPU.
#pragma once

#include <cuda_fp16.h>
#include <math.h>
#include <type_traits>
#include <limits.h>

#define MX_HD __host__ __device__ __forceinline__

// ------------------------------------------------------------------------------------------
// types
// ------------------------------------------------------------------------------------------
// The type arithmetic on a and b gives in C++ (bool + bool -> int, float + int -> float).
template <class A, class B>
using mx_common_t = decltype(A() + B());

// The floating type of a true division: double when both are integers (NumPy's int / int).
template <class A, class B>
using mx_float_t = typename std::conditional<
    std::is_integral<A>::value && std::is_integral<B>::value, double, mx_common_t<A, B>>::type;

// Loading and storing any element type through a computation type C (half goes via float).
template <class C, class T> MX_HD C mx_load(T v) { return static_cast<C>(v); }
template <class C> MX_HD C mx_load(__half v) { return static_cast<C>(__half2float(v)); }
template <class T, class C> MX_HD T mx_store(C v) { return static_cast<T>(v); }
template <> MX_HD __half mx_store<__half, float>(float v) { return __float2half_rn(v); }
template <> MX_HD __half mx_store<__half, double>(double v) { return __double2half(v); }

// ------------------------------------------------------------------------------------------
// math of the expression language
// ------------------------------------------------------------------------------------------
// float and double call the CUDA function of their precision; integers (and bool) go to double.
#define MX_UNARY(NAME, FLOAT_FN, DOUBLE_FN)                                            \
  MX_HD float NAME(float x) { return FLOAT_FN(x); }                                    \
  MX_HD double NAME(double x) { return DOUBLE_FN(x); }                                 \
  template <class I> MX_HD double NAME(I x) { return DOUBLE_FN(static_cast<double>(x)); }

MX_UNARY(mx_exp, expf, exp)
MX_UNARY(mx_expm1, expm1f, expm1)
MX_UNARY(mx_log, logf, log)
MX_UNARY(mx_log1p, log1pf, log1p)
MX_UNARY(mx_log2, log2f, log2)
MX_UNARY(mx_log10, log10f, log10)
MX_UNARY(mx_sqrt, sqrtf, sqrt)
MX_UNARY(mx_cbrt, cbrtf, cbrt)
MX_UNARY(mx_sin, sinf, sin)
MX_UNARY(mx_cos, cosf, cos)
MX_UNARY(mx_tan, tanf, tan)
MX_UNARY(mx_arcsin, asinf, asin)
MX_UNARY(mx_arccos, acosf, acos)
MX_UNARY(mx_arctan, atanf, atan)
MX_UNARY(mx_sinh, sinhf, sinh)
MX_UNARY(mx_cosh, coshf, cosh)
MX_UNARY(mx_tanh, tanhf, tanh)
MX_UNARY(mx_arcsinh, asinhf, asinh)
MX_UNARY(mx_arccosh, acoshf, acosh)
MX_UNARY(mx_arctanh, atanhf, atanh)
MX_UNARY(mx_fabs, fabsf, fabs)
MX_UNARY(mx_floor, floorf, floor)
MX_UNARY(mx_ceil, ceilf, ceil)
MX_UNARY(mx_rint, rintf, rint)
MX_UNARY(mx_trunc, truncf, trunc)

// erf, lgamma and tgamma are computed in double, then rounded to the argument's precision;
// poles and infinities follow SciPy's special functions, which the CPU backend uses.
MX_HD float mx_erf(float x) { return static_cast<float>(erf(static_cast<double>(x))); }
MX_HD double mx_erf(double x) { return erf(x); }
template <class I> MX_HD double mx_erf(I x) { return erf(static_cast<double>(x)); }
// log|gamma(x)|, -inf at -inf as SciPy's gammaln (C's lgamma gives +inf there)
MX_HD double mx_lgamma_double(double x) { return x == -INFINITY ? x : lgamma(x); }
MX_HD float mx_lgamma(float x) { return static_cast<float>(mx_lgamma_double(x)); }
MX_HD double mx_lgamma(double x) { return mx_lgamma_double(x); }
template <class I> MX_HD double mx_lgamma(I x) { return mx_lgamma_double(static_cast<double>(x)); }
MX_HD float mx_tgamma(float x) { return static_cast<float>(tgamma(static_cast<double>(x))); }
MX_HD double mx_tgamma(double x) { return tgamma(x); }
template <class I> MX_HD double mx_tgamma(I x) { return tgamma(static_cast<double>(x)); }

// psi(x), in double: for x < 0 the reflection psi(x) = psi(1 - x) - pi / tan(pi x); then the
// recurrence psi(x) = psi(x + 1) - 1/x up to x >= 10 (at most 10 steps) and the asymptotic
// series ln x - 1/(2x) - sum B_2k / (2k x^2k) to the x^-14 term (relative error near 1e-16).
// Poles as SciPy's psi (the CPU backend): -inf at +0, +inf at -0, NaN at the negative integers.
MX_HD double mx_digamma_double(double x) {
  double result = 0.0;
  if (x < 0) {
    if (x == floor(x)) return NAN;
    // tan has period pi: reduce to the fractional part first (exact), so pi * x keeps it
    result = -3.141592653589793 / tan(3.141592653589793 * (x - floor(x)));
    x = 1.0 - x;
  }
  while (x < 10.0) {
    result -= 1.0 / x;
    x += 1.0;
  }
  const double inv2 = 1.0 / (x * x);
  return result + log(x) - 0.5 / x -
         inv2 * (1.0 / 12 - inv2 * (1.0 / 120 - inv2 * (1.0 / 252 - inv2 * (1.0 / 240 - inv2 *
                 (1.0 / 132 - inv2 * (691.0 / 32760 - inv2 / 12))))));
}
MX_HD float mx_digamma(float x) { return static_cast<float>(mx_digamma_double(x)); }
MX_HD double mx_digamma(double x) { return mx_digamma_double(x); }
template <class I> MX_HD double mx_digamma(I x) { return mx_digamma_double(static_cast<double>(x)); }

// round half away from zero, by the same formula as the CPU backend.
MX_HD float mx_round(float x) { return x >= 0 ? floorf(x + 0.5f) : ceilf(x - 0.5f); }
MX_HD double mx_round(double x) { return x >= 0 ? floor(x + 0.5) : ceil(x - 0.5); }
template <class I> MX_HD double mx_round(I x) { return mx_round(static_cast<double>(x)); }

// numpy.sign: -1, 0 or 1 in the argument's type; NaN stays NaN.
template <class T> MX_HD T mx_sign(T x) {
  return x > T(0) ? T(1) : (x < T(0) ? T(-1) : x);
}

// numpy.maximum / numpy.minimum: NaN wins.
template <class A, class B> MX_HD mx_common_t<A, B> mx_fmax(A a, B b) {
  typedef mx_common_t<A, B> R;
  const R ra = static_cast<R>(a), rb = static_cast<R>(b);
  return (ra > rb || ra != ra) ? ra : rb;
}
template <class A, class B> MX_HD mx_common_t<A, B> mx_fmin(A a, B b) {
  typedef mx_common_t<A, B> R;
  const R ra = static_cast<R>(a), rb = static_cast<R>(b);
  return (ra < rb || ra != ra) ? ra : rb;
}

MX_HD float mx_hypot(float a, float b) { return hypotf(a, b); }
MX_HD double mx_hypot(double a, double b) { return hypot(a, b); }
template <class A, class B> MX_HD mx_float_t<A, B> mx_hypot(A a, B b) {
  typedef mx_float_t<A, B> R;
  return mx_hypot(static_cast<R>(a), static_cast<R>(b));
}

// a / b (the expression language's "/"): true division, in double for two integers.
template <class A, class B> MX_HD mx_float_t<A, B> mx_truediv(A a, B b) {
  typedef mx_float_t<A, B> R;
  return static_cast<R>(a) / static_cast<R>(b);
}

// div(a, b): true division for floats; for two integers truncating division, 0 where b == 0.
template <class A, class B> MX_HD mx_common_t<A, B> mx_div(A a, B b) {
  typedef mx_common_t<A, B> R;
  if constexpr (std::is_integral<A>::value && std::is_integral<B>::value) {
    return b == 0 ? R(0) : static_cast<R>(static_cast<R>(a) / static_cast<R>(b));
  } else {
    return static_cast<R>(a) / static_cast<R>(b);
  }
}

// mod(a, b): Python's remainder (the sign of the divisor); 0 where b == 0.
template <class R> MX_HD R mx_mod_same(R a, R b) {
  if (b == R(0)) return R(0);
  R r;
  if constexpr (std::is_integral<R>::value) {
    r = a % b;
  } else if constexpr (std::is_same<R, float>::value) {
    r = fmodf(a, b);
  } else {
    r = static_cast<R>(fmod(static_cast<double>(a), static_cast<double>(b)));
  }
  if (r != R(0) && ((r < R(0)) != (b < R(0)))) r += b;
  return r;
}
template <class A, class B> MX_HD mx_common_t<A, B> mx_mod(A a, B b) {
  typedef mx_common_t<A, B> R;
  return mx_mod_same<R>(static_cast<R>(a), static_cast<R>(b));
}

// power(a, b): pow for floats; for integers exponentiation by squaring (NumPy refuses
// negative integer exponents; here they give 1/a^|b| truncated, i.e. 0 unless |a| == 1).
template <class R> MX_HD R mx_power_same(R a, R b) {
  if constexpr (std::is_same<R, float>::value) {
    return powf(a, b);
  } else if constexpr (std::is_floating_point<R>::value) {
    return pow(a, b);
  } else {
    if (b < R(0)) {
      if (a == R(1)) return R(1);
      if (a == R(-1)) return (b % R(2) == R(0)) ? R(1) : R(-1);
      return R(0);
    }
    R result = R(1);
    while (b > R(0)) {
      if (b % R(2) == R(1)) result *= a;
      a *= a;
      b /= R(2);
    }
    return result;
  }
}
template <class A, class B> MX_HD mx_common_t<A, B> mx_power(A a, B b) {
  typedef mx_common_t<A, B> R;
  return mx_power_same<R>(static_cast<R>(a), static_cast<R>(b));
}

// where(c, a, b): a where c is nonzero, else b, in the common type of a and b.
template <class C, class A, class B> MX_HD mx_common_t<A, B> mx_where(C c, A a, B b) {
  typedef mx_common_t<A, B> R;
  return c ? static_cast<R>(a) : static_cast<R>(b);
}

// ------------------------------------------------------------------------------------------
// reductions across a warp and a block
// ------------------------------------------------------------------------------------------
#define MX_WARP 32
#define MX_FULL_MASK 0xffffffffu

template <class T> __device__ __forceinline__ T mx_warp_sum(T v) {
#pragma unroll
  for (int offset = MX_WARP / 2; offset > 0; offset /= 2) v += __shfl_xor_sync(MX_FULL_MASK, v, offset);
  return v;
}

template <class T> __device__ __forceinline__ T mx_warp_max(T v) {
#pragma unroll
  for (int offset = MX_WARP / 2; offset > 0; offset /= 2) v = mx_fmax(v, __shfl_xor_sync(MX_FULL_MASK, v, offset));
  return v;
}

// The sum over all threads of the block, returned to every thread.  ``scratch`` holds one
// value per warp (32 entries cover blocks of up to 1024 threads).
template <class T> __device__ __forceinline__ T mx_block_sum(T v, T* scratch) {
  const int lane = threadIdx.x % MX_WARP, warp = threadIdx.x / MX_WARP;
  const int warps = (blockDim.x + MX_WARP - 1) / MX_WARP;
  v = mx_warp_sum(v);
  __syncthreads();                       // scratch may still be read by a previous call
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < warps ? scratch[lane] : T(0);
  return mx_warp_sum(v);
}

template <class T> __device__ __forceinline__ T mx_block_max(T v, T* scratch, T lowest) {
  const int lane = threadIdx.x % MX_WARP, warp = threadIdx.x / MX_WARP;
  const int warps = (blockDim.x + MX_WARP - 1) / MX_WARP;
  v = mx_warp_max(v);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < warps ? scratch[lane] : lowest;
  return mx_warp_max(v);
}

// ------------------------------------------------------------------------------------------
// shapes and strides passed by value (at most MX_MAX_DIMS axes, after merging)
// ------------------------------------------------------------------------------------------
#define MX_MAX_DIMS 8
struct mx_dims {
  long long ndim;
  long long shape[MX_MAX_DIMS];
  long long stride[MX_MAX_DIMS];      // in elements; may be 0 or negative
};

// The element offset of the i-th position (C order) of ``d``; I is the index type.
template <class I> MX_HD long long mx_offset(const mx_dims& d, I i) {
  long long offset = 0;
  for (int k = static_cast<int>(d.ndim) - 1; k > 0; --k) {
    const I n = static_cast<I>(d.shape[k]);
    offset += static_cast<long long>(i % n) * d.stride[k];
    i /= n;
  }
  return offset + static_cast<long long>(i) * d.stride[0];
}

// ------------------------------------------------------------------------------------------
// atomics
// ------------------------------------------------------------------------------------------
__device__ __forceinline__ void mx_atomic_add(float* p, float v) { atomicAdd(p, v); }
__device__ __forceinline__ void mx_atomic_add(double* p, double v) { atomicAdd(p, v); }
__device__ __forceinline__ void mx_atomic_add(__half* p, float v) { atomicAdd(p, __float2half_rn(v)); }
__device__ __forceinline__ void mx_atomic_add(int* p, long long v) { atomicAdd(p, static_cast<int>(v)); }
__device__ __forceinline__ void mx_atomic_add(long long* p, long long v) {
  // two's complement: adding as unsigned gives the signed sum
  atomicAdd(reinterpret_cast<unsigned long long*>(p), static_cast<unsigned long long>(v));
}

// ------------------------------------------------------------------------------------------
// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011)
// ------------------------------------------------------------------------------------------
// A counter-based generator: the four 32-bit outputs are a bijection of the 128-bit counter
// under the 64-bit key, so element i of a draw only needs (key, counter = f(i)): no state is
// stored per thread, and every element can be computed by any thread in any order.
struct mx_uint4 { unsigned int x, y, z, w; };

MX_HD unsigned int mx_mulhilo(unsigned int a, unsigned int b, unsigned int* hi) {
  const unsigned long long product = static_cast<unsigned long long>(a) * b;
  *hi = static_cast<unsigned int>(product >> 32);
  return static_cast<unsigned int>(product);
}

MX_HD mx_uint4 mx_philox4x32_10(mx_uint4 ctr, unsigned int key0, unsigned int key1) {
  const unsigned int M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;   // round multipliers
  const unsigned int W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;   // key schedule (Weyl) increments
#pragma unroll
  for (int round = 0; round < 10; ++round) {
    unsigned int hi0, hi1;
    const unsigned int lo0 = mx_mulhilo(M0, ctr.x, &hi0);
    const unsigned int lo1 = mx_mulhilo(M1, ctr.z, &hi1);
    mx_uint4 next;
    next.x = hi1 ^ ctr.y ^ key0;
    next.y = lo1;
    next.z = hi0 ^ ctr.w ^ key1;
    next.w = lo0;
    ctr = next;
    key0 += W0;
    key1 += W1;
  }
  return ctr;
}

// Word ``which`` (0..3) of block ``block`` of the stream (key, stream): the stream id fills the
// two high counter words, so every draw (one stream each) sees fresh counters.
MX_HD unsigned int mx_philox_word(unsigned long long block, int which, unsigned long long stream,
                                  unsigned int key0, unsigned int key1) {
  mx_uint4 ctr;
  ctr.x = static_cast<unsigned int>(block);
  ctr.y = static_cast<unsigned int>(block >> 32);
  ctr.z = static_cast<unsigned int>(stream);
  ctr.w = static_cast<unsigned int>(stream >> 32);
  const mx_uint4 r = mx_philox4x32_10(ctr, key0, key1);
  return which == 0 ? r.x : which == 1 ? r.y : which == 2 ? r.z : r.w;
}

// Uniform in [0, 1) with 24 random bits (float) or 53 (double, from two words).
MX_HD float mx_uniform_float(unsigned int bits) { return (bits >> 8) * (1.0f / 16777216.0f); }
MX_HD double mx_uniform_double(unsigned int hi, unsigned int lo) {
  return ((hi >> 5) * 67108864.0 + (lo >> 6)) * (1.0 / 9007199254740992.0);
}
