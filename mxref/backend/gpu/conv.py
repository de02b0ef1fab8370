"""Convolution and pooling on the GPU: im2col + mxref's GEMM, and direct pooling kernels
(``conv.cu``, ``pool.cu``), with the semantics of the CPU backend's functions of the same names.

A convolution of a batch chunk runs as::

    im2col(x) -> col (count, C/G*KH*KW per group, P)           one kernel
    out[n, group] (+)= w2[group] · col[n, group]   for every n  one batched GEMM per group
    out += bias                                                 one elementwise kernel

The data gradient is the transposed product followed by col2im, and the weight gradient one
GEMM per group whose inner dimension runs over every image and position of the chunk.
Chunks keep the column buffer under :data:`COL_BYTES`.
"""
import numpy as np

from ...base import MXNetValueError
from . import geometry, runtime
from .buffer import View
from .elementwise import new_buffer, run_expression
from .linalg import gemm_strided
from .reduce import _reduce_kernel

__all__ = ['conv2d_forward', 'conv2d_backward_data', 'conv2d_backward_weight',
           'conv2d_backward_bias', 'pool2d_forward', 'pool2d_backward']

COL_BYTES = 1 << 28                   # at most 256 MB of im2col buffer per chunk
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _check_conv(fn, x, w, y, num_group):
    if x.dtype not in _FLOATS or w.dtype != x.dtype or y.dtype != x.dtype:
        raise MXNetValueError('%s: float32 or float64 buffers of one dtype expected, got '
                              '%s, %s, %s' % (fn, x.dtype, w.dtype, y.dtype))
    if x.ndim != 4 or w.ndim != 4 or y.ndim != 4 or x.shape[1] != w.shape[1] * num_group:
        raise MXNetValueError('%s: shapes x %s, w %s, y %s do not fit NCHW with num_group=%d'
                              % (fn, x.shape, w.shape, y.shape, num_group))
    runtime.ensure_current(y.device_id)


def _chunks(batch, rows, positions, itemsize):
    step = max(1, min(batch, COL_BYTES // max(1, rows * positions * itemsize)))
    for start in range(0, batch, step):
        yield start, min(batch, start + step)


def _launch(filename, name, dtype, n, args):
    kernel = runtime.file_kernel(filename, name, dtype)
    blocks, threads = geometry.grid_1d(n, runtime.sm_count())
    runtime.launch(kernel, blocks, threads, args)


def _geometry(x, w, y, stride, pad, dilate):
    """The integer arguments shared by im2col and col2im."""
    n, c, h, wd = x.shape
    return [c, h, wd, w.shape[2], w.shape[3], y.shape[2], y.shape[3], stride[0], stride[1],
            pad[0], pad[1], dilate[0], dilate[1]]


def _offset(buf, start, per_item):
    return buf.ptr + start * per_item * buf.itemsize


def conv2d_forward(x, w, b, out, req, stride, pad, dilate, num_group=1):
    """out (req)= the 2-D convolution of x with w, plus b (see the CPU backend's docstring)."""
    if req == 'null':
        return
    _check_conv('conv2d_forward', x, w, out, num_group)
    n, c = x.shape[:2]
    f, cg, kh, kw = w.shape
    fg, rows_g, rows = f // num_group, cg * kh * kw, c * kh * kw
    positions = out.shape[2] * out.shape[3]
    geometry_args = _geometry(x, w, out, stride, pad, dilate)
    beta = 1.0 if req == 'add' else 0.0
    for start, stop in _chunks(n, rows, positions, x.itemsize):
        count = stop - start
        col = new_buffer((count, rows, positions), x.dtype)
        _launch('conv.cu', 'im2col', x.dtype, col.size,
                [_offset(x, start, c * x.shape[2] * x.shape[3]), col.ptr, count]
                + geometry_args + [0])
        out_chunk = _offset(out, start, f * positions)
        for g in range(num_group):
            gemm_strided(x.dtype, w.ptr + g * fg * rows_g * w.itemsize,
                         col.ptr + g * rows_g * positions * col.itemsize,
                         out_chunk + g * fg * positions * out.itemsize,
                         fg, positions, rows_g, rows_g, positions, positions,
                         0, rows * positions, f * positions, count, beta=beta)
    if b is not None and out.size:
        run_expression('b', out, 'add', {'b': View.of(b).reshape((1, f, 1, 1))})


def conv2d_backward_data(dy, w, dx, req, stride, pad, dilate, num_group=1):
    """dx (req)= the gradient of :func:`conv2d_forward` with respect to x."""
    if req == 'null':
        return
    _check_conv('conv2d_backward_data', dx, w, dy, num_group)
    n, c = dx.shape[:2]
    f, cg, kh, kw = w.shape
    fg, rows_g, rows = f // num_group, cg * kh * kw, c * kh * kw
    positions = dy.shape[2] * dy.shape[3]
    geometry_args = _geometry(dx, w, dy, stride, pad, dilate)
    for start, stop in _chunks(n, rows, positions, dx.itemsize):
        count = stop - start
        dcol = new_buffer((count, rows, positions), dx.dtype)
        dy_chunk = _offset(dy, start, f * positions)
        for g in range(num_group):
            gemm_strided(dx.dtype, w.ptr + g * fg * rows_g * w.itemsize,
                         dy_chunk + g * fg * positions * dy.itemsize,
                         dcol.ptr + g * rows_g * positions * dcol.itemsize,
                         rows_g, positions, fg, rows_g, positions, positions,
                         0, f * positions, rows * positions, count, trans_a=True)
        _launch('conv.cu', 'col2im', dx.dtype, count * c * dx.shape[2] * dx.shape[3],
                [dcol.ptr, _offset(dx, start, c * dx.shape[2] * dx.shape[3]), count]
                + geometry_args + [int(req == 'add')])


def conv2d_backward_weight(dy, x, dw, req, stride, pad, dilate, num_group=1):
    """dw (req)= the gradient of :func:`conv2d_forward` with respect to w."""
    if req == 'null':
        return
    _check_conv('conv2d_backward_weight', x, dw, dy, num_group)
    n, c = x.shape[:2]
    f, cg, kh, kw = dw.shape
    fg, rows_g, rows = f // num_group, cg * kh * kw, c * kh * kw
    positions = dy.shape[2] * dy.shape[3]
    if n == 0 or positions == 0:
        run_expression('v', dw, req, {'v': 0})
        return
    geometry_args = _geometry(x, dw, dy, stride, pad, dilate)
    for start, stop in _chunks(n, rows, positions, x.itemsize):
        count = stop - start
        wide = count * positions
        col = new_buffer((rows, count, positions), x.dtype)
        _launch('conv.cu', 'im2col', x.dtype, col.size,
                [_offset(x, start, c * x.shape[2] * x.shape[3]), col.ptr, count]
                + geometry_args + [1])
        dy2 = new_buffer((f, count, positions), dy.dtype)         # (N, F, P) -> (F, N, P)
        chunk = View(dy, (f, count, positions), (positions, f * positions, 1),
                     start * f * positions)
        run_expression('x', dy2, 'write', {'x': chunk})
        beta = 1.0 if (start > 0 or req == 'add') else 0.0
        for g in range(num_group):
            gemm_strided(x.dtype, dy2.ptr + g * fg * wide * dy2.itemsize,
                         col.ptr + g * rows_g * wide * col.itemsize,
                         dw.ptr + g * fg * rows_g * dw.itemsize,
                         fg, rows_g, wide, wide, wide, rows_g, 0, 0, 0, 1, trans_b=True,
                         beta=beta)


def conv2d_backward_bias(dy, db, req):
    """db (req)= Σ dy over the batch and the spatial axes (dy is (N, F, ...))."""
    if req == 'null':
        return
    axes = (0,) + tuple(range(2, dy.ndim))
    _reduce_kernel('sum', dy, axes, db, req)


def _check_pool(fn, x, y):
    if x.dtype not in _FLOATS or y.dtype != x.dtype:
        raise MXNetValueError('%s: float32 or float64 buffers expected, got %s, %s'
                              % (fn, x.dtype, y.dtype))
    runtime.ensure_current(y.device_id)


def pool2d_forward(x, out, req, kernel, stride, pad, pool_type, count_include_pad=True,
                   argmax=None):
    """out (req)= 2-D pooling of x (see the CPU backend's docstring for the rules)."""
    if req == 'null':
        return
    _check_pool('pool2d_forward', x, out)
    planes = x.shape[0] * x.shape[1]
    dims = [planes, x.shape[2], x.shape[3], out.shape[2], out.shape[3], kernel[0], kernel[1],
            stride[0], stride[1], pad[0], pad[1]]
    if pool_type == 'max':
        _launch('pool.cu', 'pool_max_forward', x.dtype, out.size,
                [x.ptr, out.ptr, 0 if argmax is None else argmax.ptr] + dims
                + [int(req == 'add')])
    elif pool_type in ('avg', 'sum'):
        _launch('pool.cu', 'pool_sum_forward', x.dtype, out.size,
                [x.ptr, out.ptr] + dims + [int(pool_type == 'avg'), int(bool(count_include_pad)),
                                           int(req == 'add')])
    else:
        raise MXNetValueError("pool2d_forward: pool_type must be 'max', 'avg' or 'sum', got %r"
                              % (pool_type,))


def pool2d_backward(dy, argmax, dx, req, kernel, stride, pad, pool_type,
                    count_include_pad=True):
    """dx (req)= the gradient of :func:`pool2d_forward` given dy (N, C, OH, OW)."""
    if req == 'null':
        return
    _check_pool('pool2d_backward', dx, dy)
    planes = dx.shape[0] * dx.shape[1]
    dims = [planes, dx.shape[2], dx.shape[3], dy.shape[2], dy.shape[3], kernel[0], kernel[1],
            stride[0], stride[1], pad[0], pad[1]]
    if pool_type == 'max':
        if argmax is None:
            raise MXNetValueError('pool2d_backward: max pooling needs the argmax buffer '
                                  'written by pool2d_forward')
        _launch('pool.cu', 'pool_max_backward', dx.dtype, dx.size,
                [dy.ptr, argmax.ptr, dx.ptr] + dims + [int(req == 'add')])
    else:
        _launch('pool.cu', 'pool_sum_backward', dx.dtype, dx.size,
                [dy.ptr, dx.ptr] + dims + [int(pool_type == 'avg'), int(bool(count_include_pad)),
                                           int(req == 'add')])
