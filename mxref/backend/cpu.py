"""The CPU backend: buffers are C-contiguous ``numpy.ndarray``.

This module is also the reference for the function set every backend exports.  Buffers come in,
results go into an ``out`` buffer allocated by the caller, and every function that writes takes
``req``, MXNet's write request:

* ``'write'``: overwrite ``out``;
* ``'add'``:   add the result to what ``out`` holds (gradient accumulation);
* ``'null'``:  do nothing.

Data movement and elementwise math use NumPy; matrix multiply, convolution, pooling and softmax
call the Cython kernels in :mod:`mxref._kernels`.
"""
import math
import threading

import numpy as np

from . import exprs
from ..base import MXNetIndexError, MXNetValueError
from .._kernels import require

_softmax_kernel = require('softmax')
_gemm_kernel = require('gemm')
_conv_kernel = require('conv')
_pool_kernel = require('pool')
_optimizer_kernel = require('optimizer')
_activation_kernel = require('activation')

_BLAS_TYPES = (np.dtype(np.float32), np.dtype(np.float64))

name = 'cpu'

_rng = np.random.default_rng(0)


# ----------------------------------------------------------------------------------------------
# memory
# ----------------------------------------------------------------------------------------------
def empty(shape, dtype):
    """An uninitialised buffer."""
    return np.empty(shape, dtype=dtype)


def zeros(shape, dtype):
    return np.zeros(shape, dtype=dtype)


def full(shape, value, dtype):
    return np.full(shape, value, dtype=dtype)


def from_numpy(array, dtype=None):
    """A new buffer holding a copy of the host array ``array`` (cast to ``dtype`` if given)."""
    return np.array(array, dtype=dtype, order='C', copy=True)


def to_numpy(buf):
    """A host copy of ``buf`` (the caller may modify it freely)."""
    return buf.copy()


def copy(src, dst):
    """dst[...] = src, casting to dst's dtype."""
    np.copyto(dst, src, casting='unsafe')


def reshape(buf, shape):
    """A view of ``buf`` with a new shape (same number of elements)."""
    return buf.reshape(shape)


def rows(buf, start, stop):
    """A view of rows ``start:stop`` of the first axis (still C-contiguous)."""
    return buf[start:stop]


def getitem(buf, key):
    """A new C-contiguous buffer holding ``buf[key]`` (NumPy indexing rules)."""
    return np.ascontiguousarray(buf[key])


def setitem(buf, key, value):
    """buf[key] = value, where value is a scalar or a buffer broadcastable to the selection."""
    buf[key] = value


def synchronize():
    """Wait for queued work (the CPU backend computes eagerly: nothing to wait for)."""


def empty_cache():
    """Release cached memory (NumPy frees memory itself)."""


# ----------------------------------------------------------------------------------------------
# storing a result under a write request
# ----------------------------------------------------------------------------------------------
def store(out, value, req):
    """Honour ``req`` when putting ``value`` (array or scalar, broadcastable) into ``out``."""
    if req == 'write':
        np.copyto(out, value, casting='unsafe')
    elif req == 'add':
        if out.dtype.kind in 'iub':
            np.copyto(out, out + value, casting='unsafe')
        else:
            out += value


# ----------------------------------------------------------------------------------------------
# elementwise math in the shared expression language (see backend/exprs.py)
# ----------------------------------------------------------------------------------------------
_compiled = {}
_namespace = exprs.numpy_namespace()


def elementwise(expr, out, req, **inputs):
    """out (req)= expr evaluated elementwise; inputs broadcast against ``out``'s shape.

    ``inputs`` maps the names used in ``expr`` to buffers or Python scalars, e.g.
    ``elementwise('dy * y * (1 - y)', dx, 'write', dy=dy, y=y)``.  NumPy evaluates the
    expression, except the few in ``_COMPILED_EXPRESSIONS``, which run a Cython kernel when
    their buffers allow it.
    """
    if req == 'null':
        return
    kernel = _COMPILED_EXPRESSIONS.get(expr)
    if kernel is not None and kernel(out, req, **inputs):
        return
    code = _compiled.get(expr)
    if code is None:
        code = _compiled[expr] = compile(expr, '<elementwise %s>' % expr, 'eval')
    with np.errstate(all='ignore'):
        value = eval(code, _namespace, inputs)
    store(out, value, req)


def _flat_same(out, *buffers):
    """``out`` and ``buffers`` as 1-D views when they are C-contiguous float32 (or float64)
    arrays of one shape, else None (the NumPy path then handles broadcasting, other dtypes
    and strides)."""
    if type(out) is not np.ndarray or out.dtype not in _BLAS_TYPES or not out.flags.c_contiguous:
        return None
    for buf in buffers:
        if (type(buf) is not np.ndarray or buf.dtype != out.dtype or buf.shape != out.shape
                or not buf.flags.c_contiguous):
            return None
    return [a.reshape(-1) for a in (out,) + buffers]


def _tanh_kernel(out, req, x, **unused):
    """``tanh(x)``: mxref/_kernels/activation.pyx (about twice NumPy's speed in float32)."""
    flat = _flat_same(out, x) if req == 'write' else None
    if flat is None:
        return False
    _activation_kernel.tanh_forward(flat[1], flat[0])
    return True


def _tanh_grad_kernel(out, req, dy, y, **unused):
    """``dy * (1 - y * y)``, tanh's gradient, in one pass instead of four."""
    flat = _flat_same(out, dy, y)
    if flat is None:
        return False
    _activation_kernel.tanh_backward(flat[1], flat[2], flat[0], req == 'add')
    return True


# expressions with a compiled kernel: expr -> function(out, req, **inputs) returning False
# (having done nothing) when the buffers are not for it
_COMPILED_EXPRESSIONS = {'tanh(x)': _tanh_kernel, 'dy * (1 - y * y)': _tanh_grad_kernel}


def sum_to(x, out, req):
    """out (req)= x summed over the axes along which ``out`` was broadcast to ``x``'s shape.

    This is the gradient of broadcasting: ``out.shape`` is a broadcastable prefix-padded
    shape of ``x.shape`` (ones where ``x`` was expanded).
    """
    if req == 'null':
        return
    lead = x.ndim - out.ndim
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(out.shape)
                                      if n == 1 and x.shape[lead + i] != 1)
    value = x.sum(axis=axes, keepdims=True) if axes else x
    store(out, value.reshape(out.shape), req)


# ----------------------------------------------------------------------------------------------
# reductions
# ----------------------------------------------------------------------------------------------
_REDUCERS = {'sum': np.sum, 'mean': np.mean, 'prod': np.prod, 'max': np.max, 'min': np.min,
             'nansum': np.nansum, 'nanprod': np.nanprod}


def reduce(kind, x, axis, out, req):
    """out (req)= reduction ``kind`` of x over the axes tuple ``axis`` (out keeps ``out.shape``)."""
    if req == 'null':
        return
    if kind in ('max', 'min'):
        value = _REDUCERS[kind](x, axis=axis, keepdims=True)
    else:
        value = _REDUCERS[kind](x, axis=axis, keepdims=True, dtype=_accumulator(x.dtype))
    store(out, value.reshape(out.shape), req)


def _accumulator(dtype):
    return np.float64 if dtype == np.float64 else (np.float32 if dtype.kind == 'f' else None)


def norm(x, ord, axis, out, req):
    """out (req)= the L1 or L2 norm of x over the axes tuple ``axis``."""
    if req == 'null':
        return
    if ord == 1:
        value = np.sum(np.abs(x), axis=axis, keepdims=True)
    else:
        value = np.sqrt(np.sum(np.square(x, dtype=_accumulator(x.dtype)), axis=axis, keepdims=True))
    store(out, value.reshape(out.shape), req)


def argreduce(kind, x, axis, out, req):
    """out (req)= index of the max (``'argmax'``) or min of x along ``axis`` (None: flattened)."""
    if req == 'null':
        return
    value = (np.argmax if kind == 'argmax' else np.argmin)(x, axis=axis)
    store(out, np.reshape(value, out.shape), req)


# ----------------------------------------------------------------------------------------------
# matrix products
# ----------------------------------------------------------------------------------------------
def gemm(a, b, out, req, trans_a=False, trans_b=False, alpha=1.0):
    """out (req)= alpha * op(a) @ op(b), op transposing the last two axes when asked.

    ``a``, ``b`` and ``out`` are C-contiguous with the same leading (batch) axes, or ``a``
    and ``b`` 2-D.  float32/float64 run the BLAS kernel (:func:`mxref._kernels.gemm.gemm`),
    which reads the transposes in place and accumulates for 'add' (beta = 1) without a
    temporary; other dtypes, broadcasting batches and an ``out`` overlapping an input use
    NumPy's matmul.
    """
    if req == 'null':
        return
    try:
        if _gemm_kernel.gemm(a, b, out, trans_a, trans_b, alpha, 1.0 if req == 'add' else 0.0):
            return
    except ValueError as err:
        raise MXNetValueError(str(err)) from None
    a = a.swapaxes(-1, -2) if trans_a else a
    b = b.swapaxes(-1, -2) if trans_b else b
    if req == 'write' and alpha == 1.0:
        np.matmul(a, b, out=out)
    else:
        value = np.matmul(a, b)
        store(out, value if alpha == 1.0 else alpha * value, req)


# ----------------------------------------------------------------------------------------------
# convolution (im2col + GEMM; see mxref/_kernels/conv.pyx for the layouts)
# ----------------------------------------------------------------------------------------------
_CONV_CHUNK_BYTES = 8 << 20         # im2col matrix per batch chunk: about the size of the L3
_scratch_local = threading.local()


def _scratch(slot, shape, dtype):
    """A reusable work buffer of ``shape`` (contents undefined), one per ``slot`` name and
    Python thread (the kernels release the GIL, so two threads may run them at once).

    Reusing the memory between calls spares the page faults of a fresh allocation of
    several MB on every layer of every batch.
    """
    dtype = np.dtype(dtype)
    count = int(np.prod(shape, dtype=np.int64))
    buffers = _scratch_local.__dict__
    held = buffers.get(slot)
    if held is None or held.size < count * dtype.itemsize:
        held = buffers[slot] = np.empty(max(count * dtype.itemsize, 64), np.uint8)
    return held[:count * dtype.itemsize].view(dtype).reshape(shape)


def _conv_chunks(batch, col_rows, positions, itemsize):
    """Yield (start, stop) over the batch so one chunk's im2col matrix stays near
    ``_CONV_CHUNK_BYTES``."""
    per_image = max(1, col_rows * positions * itemsize)
    step = max(1, min(batch, _CONV_CHUNK_BYTES // per_image))
    for start in range(0, batch, step):
        yield start, min(batch, start + step)


def _check_conv(fn, x, w, y, num_group):
    if x.dtype not in _BLAS_TYPES or w.dtype != x.dtype or y.dtype != x.dtype:
        raise MXNetValueError('%s: float32 or float64 buffers of one dtype expected, got '
                              '%s, %s, %s' % (fn, x.dtype, w.dtype, y.dtype))
    if x.ndim != 4 or w.ndim != 4 or y.ndim != 4 or x.shape[1] != w.shape[1] * num_group:
        raise MXNetValueError('%s: shapes x %s, w %s, y %s do not fit NCHW with num_group=%d'
                              % (fn, x.shape, w.shape, y.shape, num_group))


def conv2d_forward(x, w, b, out, req, stride, pad, dilate, num_group=1):
    """out (req)= the 2-D convolution of x with w, plus b.

    ``x`` (N, C, H, W), ``w`` (F, C/num_group, KH, KW), ``b`` (F,) or None, ``out``
    (N, F, OH, OW) with OH = (H + 2·pad − dilate·(KH − 1) − 1) // stride + 1; ``stride``,
    ``pad``, ``dilate`` are pairs.  Per batch chunk: im2col, one GEMM per group, then the
    result moved to NCHW with the bias added (and accumulated for 'add').
    """
    if req == 'null':
        return
    _check_conv('conv2d_forward', x, w, out, num_group)
    n, c = x.shape[:2]
    f, cg, kh, kw = w.shape
    fg = f // num_group
    positions = out.shape[2] * out.shape[3]
    rows_g = cg * kh * kw
    w2 = w.reshape(f, rows_g)
    out3 = out.reshape(n, f, positions)
    for start, stop in _conv_chunks(n, c * kh * kw, positions, x.itemsize):
        count = stop - start
        col = _scratch('col', (c * kh * kw, count * positions), x.dtype)
        _conv_kernel.im2col(x[start:stop], col, kh, kw, stride[0], stride[1], pad[0], pad[1],
                            dilate[0], dilate[1])
        y2 = _scratch('gemm_out', (f, count * positions), x.dtype)
        for g in range(num_group):
            gemm(w2[g * fg:(g + 1) * fg], col[g * rows_g:(g + 1) * rows_g],
                 y2[g * fg:(g + 1) * fg], 'write')
        _conv_kernel.fnp_to_nfp(y2.reshape(f, count, positions), out3[start:stop], b,
                                req == 'add')


def conv2d_backward_data(dy, w, dx, req, stride, pad, dilate, num_group=1):
    """dx (req)= the gradient of :func:`conv2d_forward` with respect to x.

    Per batch chunk: dy moved to (F, N·OH·OW), dcol = w2ᵀ · dy2 per group, then col2im
    scatter-adds dcol onto dx.
    """
    if req == 'null':
        return
    _check_conv('conv2d_backward_data', dx, w, dy, num_group)
    n, c = dx.shape[:2]
    f, cg, kh, kw = w.shape
    fg = f // num_group
    positions = dy.shape[2] * dy.shape[3]
    rows_g = cg * kh * kw
    w2 = w.reshape(f, rows_g)
    dy3 = dy.reshape(n, f, positions)
    for start, stop in _conv_chunks(n, c * kh * kw, positions, dx.itemsize):
        count = stop - start
        dy2 = _scratch('gemm_out', (f, count, positions), dy.dtype)
        _conv_kernel.nfp_to_fnp(dy3[start:stop], dy2)
        dy2 = dy2.reshape(f, count * positions)
        dcol = _scratch('col', (c * kh * kw, count * positions), dx.dtype)
        for g in range(num_group):
            gemm(w2[g * fg:(g + 1) * fg], dy2[g * fg:(g + 1) * fg],
                 dcol[g * rows_g:(g + 1) * rows_g], 'write', trans_a=True)
        _conv_kernel.col2im(dcol, dx[start:stop], kh, kw, stride[0], stride[1], pad[0], pad[1],
                            dilate[0], dilate[1], req == 'add')


def conv2d_backward_weight(dy, x, dw, req, stride, pad, dilate, num_group=1):
    """dw (req)= the gradient of :func:`conv2d_forward` with respect to w.

    Per batch chunk: im2col of x, dy moved to (F, N·OH·OW), dw2 (+)= dy2 · colᵀ per group
    (the first chunk writes unless req is 'add', later chunks add).
    """
    if req == 'null':
        return
    _check_conv('conv2d_backward_weight', x, dw, dy, num_group)
    n, c = x.shape[:2]
    f, cg, kh, kw = dw.shape
    fg = f // num_group
    positions = dy.shape[2] * dy.shape[3]
    rows_g = cg * kh * kw
    dw2 = dw.reshape(f, rows_g)
    dy3 = dy.reshape(n, f, positions)
    if n == 0:
        store(dw, 0, req)
        return
    for start, stop in _conv_chunks(n, c * kh * kw, positions, x.itemsize):
        count = stop - start
        col = _scratch('col', (c * kh * kw, count * positions), x.dtype)
        _conv_kernel.im2col(x[start:stop], col, kh, kw, stride[0], stride[1], pad[0], pad[1],
                            dilate[0], dilate[1])
        dy2 = _scratch('gemm_out', (f, count, positions), dy.dtype)
        _conv_kernel.nfp_to_fnp(dy3[start:stop], dy2)
        dy2 = dy2.reshape(f, count * positions)
        chunk_req = 'add' if (start > 0 or req == 'add') else 'write'
        for g in range(num_group):
            gemm(dy2[g * fg:(g + 1) * fg], col[g * rows_g:(g + 1) * rows_g],
                 dw2[g * fg:(g + 1) * fg], chunk_req, trans_b=True)


def conv2d_backward_bias(dy, db, req):
    """db (req)= Σ dy over the batch and the spatial axes (dy is (N, F, ...))."""
    if req == 'null':
        return
    n, f = dy.shape[:2]
    dy3 = dy.reshape(n, f, -1) if dy.size else dy.reshape(n, f, 0)
    if dy.dtype in _BLAS_TYPES and db.dtype == dy.dtype:
        _conv_kernel.bias_grad(dy3, db, req == 'add')
    else:
        store(db, dy3.sum(axis=(0, 2)), req)


# ----------------------------------------------------------------------------------------------
# pooling (mxref/_kernels/pool.pyx)
# ----------------------------------------------------------------------------------------------
def _planes(buf):
    """(N, C, H, W) seen as (N·C, H, W)."""
    return buf.reshape((buf.shape[0] * buf.shape[1],) + buf.shape[2:])


def pool2d_forward(x, out, req, kernel, stride, pad, pool_type, count_include_pad=True,
                   argmax=None):
    """out (req)= 2-D pooling of x: ``pool_type`` 'max', 'avg' or 'sum' over each window.

    ``x`` (N, C, H, W), ``out`` (N, C, OH, OW) (OH from the pooling convention, chosen by
    the caller); ``kernel``, ``stride``, ``pad`` are pairs.  Windows are clipped to the input;
    'avg' divides by the window size clipped to the padded input when ``count_include_pad``,
    else by the number of input elements it covers.  For 'max', ``argmax`` (an int32 buffer
    shaped like ``out``, or None) receives the flat index h·W + w of each maximum, which
    :func:`pool2d_backward` uses.
    """
    if req == 'null':
        return
    if x.dtype not in _BLAS_TYPES or out.dtype != x.dtype:
        raise MXNetValueError('pool2d_forward: float32 or float64 buffers expected, got %s, %s'
                              % (x.dtype, out.dtype))
    args = (kernel[0], kernel[1], stride[0], stride[1], pad[0], pad[1])
    if pool_type == 'max':
        _pool_kernel.max_forward(_planes(x), _planes(out),
                                 None if argmax is None else _planes(argmax), *args,
                                 accumulate=req == 'add')
    elif pool_type in ('avg', 'sum'):
        _pool_kernel.sum_forward(_planes(x), _planes(out), *args, average=pool_type == 'avg',
                                 count_include_pad=count_include_pad, accumulate=req == 'add')
    else:
        raise MXNetValueError("pool2d_forward: pool_type must be 'max', 'avg' or 'sum', got %r"
                              % (pool_type,))


def pool2d_backward(dy, argmax, dx, req, kernel, stride, pad, pool_type,
                    count_include_pad=True):
    """dx (req)= the gradient of :func:`pool2d_forward` given dy (N, C, OH, OW).

    'max' sends each dy to the position ``argmax`` recorded in the forward pass; 'avg' and
    'sum' spread it over the window (divided as in the forward pass for 'avg').  ``argmax``
    is only read for 'max'.
    """
    if req == 'null':
        return
    if pool_type == 'max':
        if argmax is None:
            raise MXNetValueError('pool2d_backward: max pooling needs the argmax buffer '
                                  'written by pool2d_forward')
        _pool_kernel.max_backward(_planes(dy), _planes(argmax), _planes(dx),
                                  accumulate=req == 'add')
    else:
        _pool_kernel.sum_backward(_planes(dy), _planes(dx), kernel[0], kernel[1], stride[0],
                                  stride[1], pad[0], pad[1], average=pool_type == 'avg',
                                  count_include_pad=count_include_pad, accumulate=req == 'add')


# ----------------------------------------------------------------------------------------------
# moving data around
# ----------------------------------------------------------------------------------------------
def transpose(x, axes, out, req):
    """out (req)= x with its axes permuted (``axes[i]`` is the input axis of output axis i)."""
    store(out, np.transpose(x, axes), req)


def strided_slice(x, begin, end, step, out, req):
    """out (req)= x[begin:end:step] per axis (begin/end/step are full-length tuples)."""
    store(out, x[tuple(slice(b, e, s) for b, e, s in zip(begin, end, step))], req)


def strided_slice_backward(dy, begin, end, step, dx, req):
    """dx (req)= zeros with dy scattered into the slice [begin:end:step]."""
    if req == 'null':
        return
    key = tuple(slice(b, e, s) for b, e, s in zip(begin, end, step))
    if req == 'write':
        dx.fill(0)
    dx[key] += dy


def concat(xs, axis, out, req):
    """out (req)= the buffers ``xs`` joined along ``axis``."""
    store(out, np.concatenate(xs, axis=axis), req)


def split(x, axis, outs, reqs):
    """outs[i] (reqs[i])= the i-th piece of x cut along ``axis`` to the pieces' own sizes."""
    start = 0
    for out, req in zip(outs, reqs):
        size = out.shape[axis] if out.ndim == x.ndim else 1
        piece = np.take(x, np.arange(start, start + size), axis=axis)
        store(out, piece.reshape(out.shape), req)
        start += size


def tile(x, reps, out, req):
    """out (req)= x repeated ``reps`` times along each axis (NumPy's tile)."""
    store(out, np.tile(x, reps), req)


def repeat(x, repeats, axis, out, req):
    """out (req)= each element of x repeated ``repeats`` times along ``axis`` (None: flattened)."""
    store(out, np.repeat(x, repeats, axis=axis), req)


def take(a, indices, axis, mode, out, req):
    """out (req)= a[..., indices, ...] along ``axis``; mode 'clip' or 'wrap' for bad indices."""
    idx = _fix_indices(indices, a.shape[axis], mode)
    store(out, np.take(a, idx, axis=axis), req)


def take_backward(dy, indices, axis, mode, da, req):
    """da (req)= zeros with dy scatter-added at ``indices`` along ``axis`` (repeats accumulate)."""
    if req == 'null':
        return
    idx = _fix_indices(indices, da.shape[axis], mode).ravel()
    grad = np.zeros(da.shape, dtype=da.dtype) if req == 'write' else da
    moved = np.moveaxis(grad, axis, 0)
    dy_moved = np.moveaxis(dy.reshape(da.shape[:axis] + (idx.size,) + da.shape[axis + 1:]), axis, 0)
    np.add.at(moved, idx, dy_moved)
    if req == 'write':
        da[...] = grad


def _fix_indices(indices, size, mode):
    """Integer indices (MXNet passes them as floats: they truncate) clipped or wrapped into
    range; ``mode='raise'`` rejects any index outside [0, size)."""
    idx = np.asarray(indices).astype(np.int64)
    if mode == 'raise':
        bad = (idx < 0) | (idx >= size)
        if bad.any():
            raise MXNetIndexError('take: index %d is out of range for an axis of size %d '
                                  "(mode='raise')" % (idx[bad].flat[0], size))
        return idx
    return np.mod(idx, size) if mode == 'wrap' else np.clip(idx, 0, size - 1)


def pick(x, index, axis, mode, out, req):
    """out (req)= x[..., index[...], ...]: one element along ``axis`` per position."""
    idx = _fix_indices(index, x.shape[axis], mode).reshape(
        x.shape[:axis] + (1,) + x.shape[axis + 1:])
    store(out, np.take_along_axis(x, idx, axis=axis).reshape(out.shape), req)


def pick_backward(dy, index, axis, mode, dx, req):
    """dx (req)= zeros with dy placed at the picked positions."""
    if req == 'null':
        return
    idx = _fix_indices(index, dx.shape[axis], mode).reshape(
        dx.shape[:axis] + (1,) + dx.shape[axis + 1:])
    grad = np.zeros(dx.shape, dtype=dx.dtype)
    np.put_along_axis(grad, idx, dy.reshape(idx.shape), axis=axis)
    store(dx, grad, req)


def one_hot(indices, depth, on_value, off_value, out):
    """out[..., k] = on_value where k == indices[...], else off_value (out-of-range: all off)."""
    out.fill(off_value)
    idx = np.asarray(indices).astype(np.int64).ravel()
    flat = out.reshape(-1, depth)
    valid = (idx >= 0) & (idx < depth)
    flat[np.nonzero(valid)[0], idx[valid]] = on_value


# ----------------------------------------------------------------------------------------------
# softmax family
# ----------------------------------------------------------------------------------------------
def _lines(shape, axis):
    """(outer, n, inner): the shape seen as lines along ``axis``."""
    return math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1:])


def _kernel_ready(*bufs):
    """True when every buffer is a non-empty float32/float64 array of the first one's dtype."""
    dtype = bufs[0].dtype
    return dtype in _BLAS_TYPES and bufs[0].size > 0 and all(b.dtype == dtype for b in bufs)


def softmax(x, axis, out, req, temperature=1.0, log=False):
    """out (req)= softmax (or log-softmax) of x / temperature along ``axis``.

    float32/float64 run the Cython kernel (:func:`mxref._kernels.softmax.softmax`: three
    sweeps over each line in cache); other types use the NumPy formula.
    """
    if req == 'null':
        return
    if _kernel_ready(x, out):
        view = _lines(x.shape, axis)
        target = out if req == 'write' else np.empty_like(x)
        _softmax_kernel.softmax(x.reshape(view), target.reshape(view), temperature, log)
        if req == 'add':
            out += target
        return
    z = x if temperature == 1.0 else x / temperature
    z = z - np.max(z, axis=axis, keepdims=True)
    if log:
        value = z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))
    else:
        e = np.exp(z)
        value = e / np.sum(e, axis=axis, keepdims=True)
    store(out, value, req)


def softmax_backward(y, dy, axis, dx, req, temperature=1.0, log=False):
    """dx (req)= gradient of softmax (from its output y):  y * (dy - sum(dy * y)) / T,
    or for log-softmax:  (dy - exp(y) * sum(dy)) / T.

    float32/float64 run :func:`mxref._kernels.softmax.softmax_backward` (two sweeps per
    line); other types use NumPy.
    """
    if req == 'null':
        return
    if _kernel_ready(y, dy, dx):
        view = _lines(y.shape, axis)
        _softmax_kernel.softmax_backward(y.reshape(view), dy.reshape(view), dx.reshape(view),
                                         temperature, log, req == 'add')
        return
    if log:
        value = dy - np.exp(y) * np.sum(dy, axis=axis, keepdims=True)
    else:
        value = y * (dy - np.sum(dy * y, axis=axis, keepdims=True))
    store(dx, value if temperature == 1.0 else value / temperature, req)


# ----------------------------------------------------------------------------------------------
# random numbers
# ----------------------------------------------------------------------------------------------
def seed(seed_state):
    """Restart the CPU generator from ``seed_state``."""
    global _rng
    _rng = np.random.default_rng(seed_state)


def random_uniform(low, high, out):
    out[...] = _rng.uniform(low, high, size=out.shape)


def random_normal(loc, scale, out):
    out[...] = _rng.normal(loc, scale, size=out.shape)


def random_randint(low, high, out):
    out[...] = _rng.integers(low, high, size=out.shape)


def random_generator():
    """The CPU's NumPy generator (restarted by :func:`seed`), for the samplers that run on the
    CPU only (gamma, Poisson, ..., ``_sample_*``)."""
    return _rng


def random_shuffle_rows(x, out):
    """out = the rows of x in a random order."""
    out[...] = x[_rng.permutation(x.shape[0])]


def softmax_output_grad(prob, label, dx, req, grad_scale=1.0, ignore_label=-1.0,
                        use_ignore=False, normalization='null', smooth_alpha=0.0,
                        head_grad=None):
    """dx (req)= (prob − target(label)) · grad_scale / N, the SoftmaxOutput gradient.

    ``prob`` is (n, k) with ``label`` (n,), or (n, k, s) with ``label`` (n, s); the class axis
    is 1.  The target is one-hot at trunc(label) (labels outside [0, k) match no class),
    smoothed by ``smooth_alpha``; with ``use_ignore`` the positions labelled ``ignore_label``
    get zero gradient.  N follows MXNet: 'null' → 1 (s for 3-D), 'batch' → label count
    (n·s for 3-D), 'valid' → labels not equal to ``ignore_label`` (at least 1).
    """
    if req == 'null':
        return
    n, k = prob.shape[:2]
    spatial = prob.size // (n * k) if n * k else 0
    ignored = None
    if normalization == 'batch':
        divisor = label.size
    elif normalization == 'valid':
        ignored = np.trunc(label) == np.trunc(ignore_label)
        divisor = max(1, int(label.size - np.count_nonzero(ignored)))
    else:
        divisor = spatial if prob.ndim == 3 else 1
    if not smooth_alpha and head_grad is None and _kernel_ready(prob, dx):
        # one pass: dx = (prob − onehot) · grad_scale / N, zero rows for ignored labels
        lab = np.ascontiguousarray(label, dtype=prob.dtype).reshape(n, spatial)
        _softmax_kernel.softmax_output_grad(prob.reshape(n, k, spatial), lab,
                                            dx.reshape(n, k, spatial), grad_scale / divisor,
                                            ignore_label, use_ignore, req == 'add')
        return
    classes = np.arange(k).reshape((1, k) + (1,) * (prob.ndim - 2))
    lab = np.trunc(np.expand_dims(label, 1))
    target = (lab == classes).astype(prob.dtype)
    if smooth_alpha:
        target = target * (1 - smooth_alpha) + (1 - target) * (smooth_alpha / (k - 1))
    grad = prob - target
    if head_grad is not None:
        grad *= head_grad
    if use_ignore:
        grad *= ~(lab == np.trunc(ignore_label))
    store(dx, grad * np.asarray(grad_scale / divisor, dtype=prob.dtype), req)


# ----------------------------------------------------------------------------------------------
# optimizer updates: fused Cython kernels (mxref/_kernels/optimizer.pyx), in place; the GPU
# has its own, and both fall back to the same formulas in the expression language
# ----------------------------------------------------------------------------------------------
def _clipped(expr, clip_gradient):
    """``expr`` clipped to [-clip_gradient, clip_gradient] (no clipping when None or <= 0)."""
    if clip_gradient is None or clip_gradient <= 0:
        return '(%s)' % expr
    return 'fmin(fmax(%s, -clip_gradient), clip_gradient)' % expr


def _clip_bound(clip_gradient):
    """The kernels' clip argument: <= 0 for no clipping."""
    return -1.0 if clip_gradient is None else float(clip_gradient)


def sgd_update(weight, grad, lr, wd=0.0, rescale_grad=1.0, clip_gradient=None):
    """weight = weight * (1 - lr * wd) - lr * clip(rescale_grad * grad), in place (MXNet's
    ``sgd_update``).

    One pass of the Cython kernel for contiguous float32/float64 buffers; other buffers
    take the elementwise expression.

    >>> w, g = np.ones(2, np.float32), np.full(2, 4.0, np.float32)
    >>> sgd_update(w, g, lr=0.5, rescale_grad=0.25, clip_gradient=0.5)
    >>> w
    array([0.75, 0.75], dtype=float32)
    """
    if _optimizer_kernel.sgd_update(weight, grad, lr, wd, rescale_grad,
                                    _clip_bound(clip_gradient)):
        return
    G = _clipped('rescale_grad * grad', clip_gradient)
    elementwise('weight * (1 - lr * wd) - lr * %s' % G, weight, 'write', weight=weight,
                grad=grad, lr=lr, wd=wd, rescale_grad=rescale_grad,
                clip_gradient=clip_gradient or 0.0)


def sgd_mom_update(weight, grad, mom, lr, wd=0.0, momentum=0.0, rescale_grad=1.0,
                   clip_gradient=None):
    """MXNet's ``sgd_mom_update``, in place.

    The update::

        mom    = momentum * mom - lr * wd * weight - lr * clip(rescale_grad * grad)
        weight = weight + mom

    One pass of the Cython kernel for contiguous float32/float64 buffers; other buffers take
    the elementwise expressions.

    >>> w, g, m = np.ones(2, np.float32), np.ones(2, np.float32), np.zeros(2, np.float32)
    >>> sgd_mom_update(w, g, m, lr=0.1, momentum=0.9)
    >>> sgd_mom_update(w, g, m, lr=0.1, momentum=0.9)
    >>> w.round(4), m.round(4)
    (array([0.71, 0.71], dtype=float32), array([-0.19, -0.19], dtype=float32))
    """
    if _optimizer_kernel.sgd_mom_update(weight, grad, mom, lr, wd, momentum, rescale_grad,
                                        _clip_bound(clip_gradient)):
        return
    G = _clipped('rescale_grad * grad', clip_gradient)
    elementwise('momentum * mom - lr * wd * weight - lr * %s' % G, mom, 'write', mom=mom,
                weight=weight, grad=grad, momentum=momentum, lr=lr, wd=wd,
                rescale_grad=rescale_grad, clip_gradient=clip_gradient or 0.0)
    elementwise('weight + mom', weight, 'write', weight=weight, mom=mom)


def adam_update(weight, grad, mean, var, lr, beta1=0.9, beta2=0.999, epsilon=1e-8, wd=0.0,
                rescale_grad=1.0, clip_gradient=None):
    """MXNet's ``adam_update`` (``lr`` already holds the bias correction), in place.

    The update::

        G      = clip(rescale_grad * grad + wd * weight)
        mean   = beta1 * mean + (1 - beta1) * G
        var    = beta2 * var + (1 - beta2) * G * G
        weight = weight - lr * mean / (sqrt(var) + epsilon)

    >>> w, g = np.ones(2, np.float32), np.full(2, 0.5, np.float32)
    >>> m, v = np.zeros(2, np.float32), np.zeros(2, np.float32)
    >>> adam_update(w, g, m, v, lr=0.1)
    >>> m, w.round(4)
    (array([0.05, 0.05], dtype=float32), array([0.6838, 0.6838], dtype=float32))
    """
    if _optimizer_kernel.adam_update(weight, grad, mean, var, lr, beta1, beta2, epsilon, wd,
                                     rescale_grad, _clip_bound(clip_gradient)):
        return
    G = _clipped('rescale_grad * grad + wd * weight', clip_gradient)
    scalars = dict(rescale_grad=rescale_grad, wd=wd, clip_gradient=clip_gradient or 0.0)
    elementwise('beta1 * mean + (1 - beta1) * %s' % G, mean, 'write', mean=mean, weight=weight,
                grad=grad, beta1=beta1, **scalars)
    elementwise('beta2 * var + (1 - beta2) * %s * %s' % (G, G), var, 'write', var=var,
                weight=weight, grad=grad, beta2=beta2, **scalars)
    elementwise('weight - lr * mean / (sqrt(var) + epsilon)', weight, 'write', weight=weight,
                mean=mean, var=var, lr=lr, epsilon=epsilon)
