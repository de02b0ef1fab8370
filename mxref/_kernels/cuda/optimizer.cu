// optimizer.cu: the parameter updates of mx.optimizer, one fused pass each.
//
// Unfused, SGD with momentum reads and writes the weight and the momentum in two elementwise
// kernels and Adam in three; fused, every array is read once and written once.  The formulas
// are MXNet's (sgd_update, sgd_mom_update, adam_update), with
//
//   G = clip(rescale_grad * grad [+ wd * weight for Adam], -clip_gradient, clip_gradient)
//
// where clip_gradient <= 0 means no clipping, and NaN passes through the clip as on the CPU.
//
//   sgd      weight = weight * (1 - lr * wd) - lr * G
//   sgd_mom  mom    = momentum * mom - lr * wd * weight - lr * G;   weight = weight + mom
//   adam     mean   = beta1 * mean + (1 - beta1) * G
//            var    = beta2 * var + (1 - beta2) * G * G
//            weight = weight - lr * mean / (sqrt(var) + epsilon)    (lr already bias-corrected)
#include "common.cuh"

#define MX_GRID_LOOP(e, n)                                                                 \
  for (long long e = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; e < (n); \
       e += static_cast<long long>(blockDim.x) * gridDim.x)

__device__ __forceinline__ accum_t clip(accum_t g, accum_t bound) {
  return bound > accum_t(0) ? mx_fmin(mx_fmax(g, -bound), bound) : g;
}

extern "C" __global__ void sgd_update(real_t* __restrict__ weight, const real_t* __restrict__ grad,
                                      long long n, accum_t lr, accum_t wd, accum_t rescale_grad,
                                      accum_t clip_gradient) {
  MX_GRID_LOOP(e, n) {
    const accum_t w = mx_load<accum_t>(weight[e]);
    const accum_t g = clip(rescale_grad * mx_load<accum_t>(grad[e]), clip_gradient);
    weight[e] = mx_store<real_t>(w * (accum_t(1) - lr * wd) - lr * g);
  }
}

extern "C" __global__ void sgd_mom_update(real_t* __restrict__ weight, const real_t* __restrict__ grad,
                                          real_t* __restrict__ mom, long long n, accum_t lr, accum_t wd,
                                          accum_t momentum, accum_t rescale_grad, accum_t clip_gradient) {
  MX_GRID_LOOP(e, n) {
    const accum_t w = mx_load<accum_t>(weight[e]);
    const accum_t g = clip(rescale_grad * mx_load<accum_t>(grad[e]), clip_gradient);
    const accum_t m = momentum * mx_load<accum_t>(mom[e]) - lr * wd * w - lr * g;
    mom[e] = mx_store<real_t>(m);
    weight[e] = mx_store<real_t>(w + m);
  }
}

extern "C" __global__ void adam_update(real_t* __restrict__ weight, const real_t* __restrict__ grad,
                                       real_t* __restrict__ mean, real_t* __restrict__ var, long long n,
                                       accum_t lr, accum_t beta1, accum_t beta2, accum_t epsilon,
                                       accum_t wd, accum_t rescale_grad, accum_t clip_gradient) {
  MX_GRID_LOOP(e, n) {
    const accum_t w = mx_load<accum_t>(weight[e]);
    const accum_t g = clip(rescale_grad * mx_load<accum_t>(grad[e]) + wd * w, clip_gradient);
    const accum_t m = beta1 * mx_load<accum_t>(mean[e]) + (accum_t(1) - beta1) * g;
    const accum_t v = beta2 * mx_load<accum_t>(var[e]) + (accum_t(1) - beta2) * g * g;
    mean[e] = mx_store<real_t>(m);
    var[e] = mx_store<real_t>(v);
    weight[e] = mx_store<real_t>(w - lr * m / (mx_sqrt(v) + epsilon));
  }
}
