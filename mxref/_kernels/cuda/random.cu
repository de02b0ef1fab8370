// random.cu: uniform, normal and integer samples from Philox4x32-10 (see common.cuh).
//
// A draw fills ``out`` (n elements) from its own stream: element e uses Philox block
// (key, counter = (block, stream)).  One Philox block is four 32-bit words; a thread turns one
// block into up to four floats, two doubles or two 64-bit integers.  The samples depend only on
// (seed, stream, e), never on the launch configuration, so a run is reproducible.
//
//   uniform  low + (high - low) * u,            u in [0, 1)
//   normal   loc + scale * z,   z from Box-Muller on pairs (u1 in (0, 1], u2 in [0, 1))
//   randint  low + (64 random bits mod (high - low))
#include "common.cuh"

#define MX_PER_BLOCK (sizeof(real_t) == 8 ? 2 : 4)

#define MX_BLOCK_LOOP(block, n, per)                                                         \
  for (unsigned long long block = blockIdx.x * static_cast<unsigned long long>(blockDim.x) +    \
                                  threadIdx.x;                                               \
       block * (per) < static_cast<unsigned long long>(n);                                   \
       block += static_cast<unsigned long long>(blockDim.x) * gridDim.x)

__device__ __forceinline__ void mx_write(real_t* out, long long n, unsigned long long e, double v) {
  if (e < static_cast<unsigned long long>(n)) out[e] = mx_store<real_t>(v);
}

extern "C" __global__ void random_uniform(real_t* __restrict__ out, long long n, unsigned int key0,
                                          unsigned int key1, unsigned long long stream, double low,
                                          double high) {
  const int per = MX_PER_BLOCK;
  MX_BLOCK_LOOP(block, n, per) {
    mx_uint4 ctr = {static_cast<unsigned int>(block), static_cast<unsigned int>(block >> 32),
                    static_cast<unsigned int>(stream), static_cast<unsigned int>(stream >> 32)};
    const mx_uint4 r = mx_philox4x32_10(ctr, key0, key1);
    const unsigned long long e = block * per;
    if (per == 4) {
      const unsigned int words[4] = {r.x, r.y, r.z, r.w};
#pragma unroll
      for (int q = 0; q < 4; ++q) {
        // low + (high - low) * u in float, as a float sampler computes it
        const float u = mx_uniform_float(words[q]);
        mx_write(out, n, e + q, static_cast<float>(low) + static_cast<float>(high - low) * u);
      }
    } else {
      mx_write(out, n, e, low + (high - low) * mx_uniform_double(r.x, r.y));
      mx_write(out, n, e + 1, low + (high - low) * mx_uniform_double(r.z, r.w));
    }
  }
}

extern "C" __global__ void random_normal(real_t* __restrict__ out, long long n, unsigned int key0,
                                         unsigned int key1, unsigned long long stream, double loc,
                                         double scale) {
  const int per = MX_PER_BLOCK;
  MX_BLOCK_LOOP(block, n, per) {
    mx_uint4 ctr = {static_cast<unsigned int>(block), static_cast<unsigned int>(block >> 32),
                    static_cast<unsigned int>(stream), static_cast<unsigned int>(stream >> 32)};
    const mx_uint4 r = mx_philox4x32_10(ctr, key0, key1);
    const unsigned long long e = block * per;
    if (per == 4) {
      const unsigned int words[4] = {r.x, r.y, r.z, r.w};
#pragma unroll
      for (int q = 0; q < 4; q += 2) {
        const float u1 = 1.0f - mx_uniform_float(words[q]);            // (0, 1]
        const float u2 = mx_uniform_float(words[q + 1]);
        const float radius = sqrtf(-2.0f * logf(u1));
        float s, c;
        sincospif(2.0f * u2, &s, &c);
        mx_write(out, n, e + q, loc + scale * static_cast<double>(radius * c));
        mx_write(out, n, e + q + 1, loc + scale * static_cast<double>(radius * s));
      }
    } else {
      const double u1 = 1.0 - mx_uniform_double(r.x, r.y);
      const double u2 = mx_uniform_double(r.z, r.w);
      const double radius = sqrt(-2.0 * log(u1));
      double s, c;
      sincospi(2.0 * u2, &s, &c);
      mx_write(out, n, e, loc + scale * radius * c);
      mx_write(out, n, e + 1, loc + scale * radius * s);
    }
  }
}

extern "C" __global__ void random_randint(real_t* __restrict__ out, long long n, unsigned int key0,
                                          unsigned int key1, unsigned long long stream, long long low,
                                          long long high) {
  const unsigned long long range = static_cast<unsigned long long>(high - low);
  MX_BLOCK_LOOP(block, n, 2) {
    mx_uint4 ctr = {static_cast<unsigned int>(block), static_cast<unsigned int>(block >> 32),
                    static_cast<unsigned int>(stream), static_cast<unsigned int>(stream >> 32)};
    const mx_uint4 r = mx_philox4x32_10(ctr, key0, key1);
    const unsigned long long bits0 = (static_cast<unsigned long long>(r.x) << 32) | r.y;
    const unsigned long long bits1 = (static_cast<unsigned long long>(r.z) << 32) | r.w;
    const unsigned long long e = block * 2;
    if (e < static_cast<unsigned long long>(n))
      out[e] = mx_store<real_t>(static_cast<double>(low + static_cast<long long>(bits0 % range)));
    if (e + 1 < static_cast<unsigned long long>(n))
      out[e + 1] = mx_store<real_t>(static_cast<double>(low + static_cast<long long>(bits1 % range)));
  }
}
