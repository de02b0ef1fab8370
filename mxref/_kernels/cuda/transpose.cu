// transpose.cu: a batch of matrix transposes through shared-memory tiles.
//
//   y[b, j, i] (=|+=) x[b, i, j]      x: (batch, rows, cols), y: (batch, cols, rows)
//
// A block of 32 x 8 threads moves one 32 x 32 tile: it reads the tile row by row (consecutive
// threads read consecutive columns of x: coalesced), and writes it column by column of the
// tile, which are rows of y (coalesced again).  The tile has 33 columns so that reading a
// column of it hits 32 different shared-memory banks.  Grid: (tiles across cols, tiles across
// rows, batches), with a loop over batches beyond 65535.
#include "common.cuh"

#define TILE 32

extern "C" __global__ void transpose_batched(const real_t* __restrict__ x, real_t* __restrict__ y,
                                             int batch, int rows, int cols, int accumulate) {
  __shared__ real_t tile[TILE][TILE + 1];
  const int col0 = blockIdx.x * TILE, row0 = blockIdx.y * TILE;
  const long long matrix = static_cast<long long>(rows) * cols;
  for (int b = blockIdx.z; b < batch; b += gridDim.z) {
    const real_t* xb = x + b * matrix;
    real_t* yb = y + b * matrix;
    for (int r = threadIdx.y; r < TILE; r += blockDim.y) {
      const int i = row0 + r, j = col0 + threadIdx.x;
      if (i < rows && j < cols) tile[r][threadIdx.x] = xb[static_cast<long long>(i) * cols + j];
    }
    __syncthreads();
    for (int r = threadIdx.y; r < TILE; r += blockDim.y) {
      const int j = col0 + r, i = row0 + threadIdx.x;        // y row j, y column i
      if (i < rows && j < cols) {
        const real_t v = tile[threadIdx.x][r];
        real_t* target = yb + static_cast<long long>(j) * rows + i;
        *target = accumulate ? mx_store<real_t>(mx_load<accum_t>(*target) + mx_load<accum_t>(v)) : v;
      }
    }
    __syncthreads();
  }
}
