// cuda_host_emulation.h: just enough of CUDA to run mxref's kernels on host threads.
//
// Used by tests/gpu_emulator.py (mode "threads") to execute the real kernel sources, compiled
// by g++, without a GPU.  A launch runs its blocks one after another; each block runs as
// blockDim.x * blockDim.y * blockDim.z std::threads.  __shared__ variables become function
// statics (one copy, reused block after block), __syncthreads is a barrier of the block's
// threads, and __shfl_xor_sync exchanges values through a per-warp slot array between two
// barriers of the warp's 32 threads.  A barrier that waits more than 20 s (a __syncthreads
// not reached by every thread) aborts the process with a message instead of hanging.
//
// This checks indexing, tiling, synchronisation structure and arithmetic of the kernels; it
// cannot show what only hardware shows (speed, memory-model subtleties, resource limits).
#pragma once

#include <cuda_fp16.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

struct mx_emu_dim3 {
  unsigned int x = 1, y = 1, z = 1;
};

inline thread_local mx_emu_dim3 threadIdx, blockIdx;
inline mx_emu_dim3 blockDim, gridDim;

class mx_emu_barrier {
 public:
  explicit mx_emu_barrier(int count) : count_(count) {}
  void arrive_and_wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    const long long generation = generation_;
    if (++arrived_ == count_) {
      arrived_ = 0;
      ++generation_;
      cv_.notify_all();
      return;
    }
    if (!cv_.wait_for(lock, std::chrono::seconds(20), [&] { return generation_ != generation; })) {
      std::fprintf(stderr, "cuda_host_emulation: a barrier timed out (divergent __syncthreads?)\n");
      std::abort();
    }
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int count_, arrived_ = 0;
  long long generation_ = 0;
};

inline mx_emu_barrier* mx_emu_block_barrier = nullptr;
inline std::vector<mx_emu_barrier*> mx_emu_warp_barriers;
inline std::vector<unsigned long long> mx_emu_slots;      // 32 per warp
inline std::mutex mx_emu_atomic_mutex;

inline int mx_emu_linear_thread() {
  return threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
}

#undef __shared__
#define __shared__ static
#ifndef __launch_bounds__
#define __launch_bounds__(...)
#endif
#define __syncthreads() mx_emu_block_barrier->arrive_and_wait()

template <class T>
T __shfl_xor_sync(unsigned int, T value, int offset) {
  static_assert(sizeof(T) <= sizeof(unsigned long long), "shuffle of a large type");
  const int t = mx_emu_linear_thread(), warp = t / 32, lane = t % 32;
  std::memcpy(&mx_emu_slots[warp * 32 + lane], &value, sizeof(T));
  mx_emu_warp_barriers[warp]->arrive_and_wait();
  T result;
  std::memcpy(&result, &mx_emu_slots[warp * 32 + (lane ^ offset)], sizeof(T));
  mx_emu_warp_barriers[warp]->arrive_and_wait();
  return result;
}

template <class T>
T atomicAdd(T* address, T value) {
  std::lock_guard<std::mutex> lock(mx_emu_atomic_mutex);
  const T old = *address;
  *address = old + value;
  return old;
}
inline __half atomicAdd(__half* address, __half value) {
  std::lock_guard<std::mutex> lock(mx_emu_atomic_mutex);
  const __half old = *address;
  *address = __float2half_rn(__half2float(old) + __half2float(value));
  return old;
}

inline void sincospif(float x, float* s, float* c) {
  *s = static_cast<float>(std::sin(M_PI * x));
  *c = static_cast<float>(std::cos(M_PI * x));
}
inline void sincospi(double x, double* s, double* c) {
  *s = std::sin(M_PI * x);
  *c = std::cos(M_PI * x);
}

using std::max;
using std::min;

// Run ``kernel`` (a callable running one thread's code) over the grid.
template <class F>
void mx_emu_launch(mx_emu_dim3 grid, mx_emu_dim3 block, F kernel) {
  const int threads = block.x * block.y * block.z;
  if (threads % 32 != 0) {
    std::fprintf(stderr, "cuda_host_emulation: blocks must hold whole warps\n");
    std::abort();
  }
  gridDim = grid;
  blockDim = block;
  mx_emu_barrier block_barrier(threads);
  std::vector<mx_emu_barrier*> warp_barriers;
  for (int w = 0; w < threads / 32; ++w) warp_barriers.push_back(new mx_emu_barrier(32));
  mx_emu_block_barrier = &block_barrier;
  mx_emu_warp_barriers = warp_barriers;
  mx_emu_slots.assign(threads, 0);
  for (unsigned int bz = 0; bz < grid.z; ++bz)
    for (unsigned int by = 0; by < grid.y; ++by)
      for (unsigned int bx = 0; bx < grid.x; ++bx) {
        std::vector<std::thread> pool;
        for (int t = 0; t < threads; ++t) {
          pool.emplace_back([&, t, bx, by, bz] {
            blockIdx.x = bx;
            blockIdx.y = by;
            blockIdx.z = bz;
            threadIdx.x = t % block.x;
            threadIdx.y = (t / block.x) % block.y;
            threadIdx.z = t / (block.x * block.y);
            kernel();
          });
        }
        for (auto& thread : pool) thread.join();
      }
  for (auto* barrier : warp_barriers) delete barrier;
}
