"""Matrix products on the GPU with mxref's own tiled GEMM (``gemm.cu``; no cuBLAS)."""
import numpy as np

from ...base import MXNetTypeError, MXNetValueError
from . import geometry, runtime
from .buffer import View
from .elementwise import fill, new_buffer, run_expression

__all__ = ['gemm', 'gemm_geometry', 'gemm_strided']

_TILE = {np.dtype(np.float32): 128, np.dtype(np.float64): 64}   # BM = BN of gemm.cu


def gemm_geometry(m, n, batch, dtype):
    """(grid, block) of the GEMM kernel for an (m x n) result, ``batch`` times.

    >>> gemm_geometry(4096, 4096, 1, np.float32)
    ((32, 32, 1), 256)
    >>> gemm_geometry(17, 300, 70000, np.float64)
    ((5, 1, 65535), 256)
    """
    tile = _TILE[np.dtype(dtype)]
    return (geometry.ceil_div(n, tile), geometry.ceil_div(m, tile), min(batch, 65535)), 256


def gemm(a, b, out, req, trans_a=False, trans_b=False, alpha=1.0):
    """out (req)= alpha * op(a) @ op(b), op transposing the last two axes when asked.

    ``a`` and ``b`` either have ``out``'s leading (batch) axes or are 2-D (then shared by
    every batch).  float32 and float64.
    """
    if req == 'null':
        return
    if not (a.dtype == b.dtype == out.dtype) or out.dtype not in _TILE:
        raise MXNetTypeError('gemm on the GPU needs float32 or float64 arrays of one type, got '
                             '%s, %s -> %s' % (a.dtype.name, b.dtype.name, out.dtype.name))
    if a.ndim < 2 or b.ndim < 2 or out.ndim < 2:
        raise MXNetValueError('gemm: arrays need at least 2 axes, got %s, %s -> %s'
                              % (a.shape, b.shape, out.shape))
    m, k = a.shape[-2:][::-1] if trans_a else a.shape[-2:]
    k2, n = b.shape[-2:][::-1] if trans_b else b.shape[-2:]
    batch_shape = out.shape[:-2]
    if k != k2 or out.shape[-2:] != (m, n):
        raise MXNetValueError('gemm: shapes %s%s and %s%s do not give %s'
                              % (a.shape, 'ᵀ' if trans_a else '', b.shape,
                                 'ᵀ' if trans_b else '', out.shape))
    for name, x in (('a', a), ('b', b)):
        if x.ndim != 2 and x.shape[:-2] != batch_shape:
            raise MXNetValueError('gemm: %s has batch axes %s, the output %s (the GPU GEMM '
                                  'takes equal batch axes, or a 2-D operand)'
                                  % (name, x.shape[:-2], batch_shape))
    if max(m, n, k, a.shape[-1], b.shape[-1]) >= 2 ** 31:
        raise MXNetValueError('gemm: matrices with 2**31 or more rows or columns are not '
                              'supported on the GPU')
    batch = int(np.prod(batch_shape, dtype=np.int64))
    if out.size == 0:
        return
    runtime.ensure_current(out.device_id)
    if k == 0:
        if req == 'write':
            fill(out, 0)
        return
    out_view = View.of(out)
    if out_view.overlaps(View.of(a)) or out_view.overlaps(View.of(b)):
        result = new_buffer(out.shape, out.dtype)
        gemm(a, b, result, 'write', trans_a, trans_b, alpha)
        run_expression('v', out, req, {'v': result})
        return
    gemm_strided(out.dtype, a.ptr, b.ptr, out.ptr, m, n, k, a.shape[-1], b.shape[-1], n,
                 m * k if a.ndim > 2 else 0, k * n if b.ndim > 2 else 0, m * n, batch,
                 trans_a, trans_b, alpha, 1.0 if req == 'add' else 0.0)


def gemm_strided(dtype, a_ptr, b_ptr, c_ptr, m, n, k, lda, ldb, ldc, stride_a, stride_b,
                 stride_c, batch, trans_a=False, trans_b=False, alpha=1.0, beta=0.0):
    """The GEMM kernel on raw pointers: for each of ``batch`` matrices,
    C = alpha * op(A) op(B) + beta * C with the leading dimensions and batch strides (in
    elements) given; what convolution uses to multiply windows of its buffers in place."""
    if m == 0 or n == 0 or batch == 0:
        return
    grid, threads = gemm_geometry(m, n, batch, dtype)
    name = 'gemm_' + ('t' if trans_a else 'n') + ('t' if trans_b else 'n')
    kernel = runtime.file_kernel('gemm.cu', name, dtype)
    runtime.launch(kernel, grid, threads, [a_ptr, b_ptr, c_ptr, m, n, k, lda, ldb, ldc,
                                           stride_a, stride_b, stride_c, batch, float(alpha),
                                           float(beta)])
