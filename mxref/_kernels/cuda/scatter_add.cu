// scatter_add.cu: the gradient of take/Embedding, an atomic scatter-add.
//
//   da[o, idx[j], i] += dy[o, j, i]       da: (outer, size, inner), dy: (outer, count, inner)
//
// Several j may name the same row (a word appearing twice in a batch), so the additions go
// through atomicAdd; the order of the additions, hence the last bits of a float result, may
// differ from run to run.  Instantiated for the types CUDA has an atomicAdd for.
#include "common.cuh"

extern "C" __global__ void take_backward(const real_t* __restrict__ dy, const long long* __restrict__ idx,
                                         real_t* __restrict__ da, long long outer, long long size,
                                         long long inner, long long count) {
  const long long n = outer * count * inner;
  for (long long e = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; e < n;
       e += static_cast<long long>(blockDim.x) * gridDim.x) {
    const long long i = e % inner, rest = e / inner;
    const long long j = rest % count, o = rest / count;
    mx_atomic_add(da + (o * size + idx[j]) * inner + i, mx_load<accum_t>(dy[e]));
  }
}
