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
import numpy as np

from . import exprs
from .._kernels import require

_softmax_kernel = require('softmax')

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
    ``elementwise('dy * y * (1 - y)', dx, 'write', dy=dy, y=y)``.
    """
    if req == 'null':
        return
    code = _compiled.get(expr)
    if code is None:
        code = _compiled[expr] = compile(expr, '<elementwise %s>' % expr, 'eval')
    with np.errstate(all='ignore'):
        value = eval(code, _namespace, inputs)
    store(out, value, req)


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
    """out (req)= alpha * op(a) @ op(b), op transposing the last two axes when asked."""
    if req == 'null':
        return
    a = a.swapaxes(-1, -2) if trans_a else a
    b = b.swapaxes(-1, -2) if trans_b else b
    if req == 'write' and alpha == 1.0:
        np.matmul(a, b, out=out)
    else:
        value = np.matmul(a, b)
        store(out, value if alpha == 1.0 else alpha * value, req)


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
    """Integer indices (MXNet passes them as floats: they truncate) clipped or wrapped into range."""
    idx = np.asarray(indices).astype(np.int64)
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
    outer = int(np.prod(shape[:axis], dtype=np.int64))
    inner = int(np.prod(shape[axis + 1:], dtype=np.int64))
    return outer, shape[axis], inner


def softmax(x, axis, out, req, temperature=1.0, log=False):
    """out (req)= softmax (or log-softmax) of x / temperature along ``axis``.

    float32/float64 run the Cython kernel (one pass per line after the max); other types use
    the NumPy formula.
    """
    if req == 'null':
        return
    if x.dtype in (np.float32, np.float64) and out.dtype == x.dtype and x.size:
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
    or for log-softmax:  (dy - exp(y) * sum(dy)) / T."""
    if req == 'null':
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
    k = prob.shape[1]
    classes = np.arange(k).reshape((1, k) + (1,) * (prob.ndim - 2))
    lab = np.trunc(np.expand_dims(label, 1))
    target = (lab == classes).astype(prob.dtype)
    if smooth_alpha:
        target = target * (1 - smooth_alpha) + (1 - target) * (smooth_alpha / (k - 1))
    grad = prob - target
    if head_grad is not None:
        grad *= head_grad
    ignored = lab == np.trunc(ignore_label)
    if use_ignore:
        grad *= ~ignored
    spatial = prob.size // (prob.shape[0] * k)
    if normalization == 'batch':
        divisor = label.size
    elif normalization == 'valid':
        divisor = max(1, int(label.size - np.count_nonzero(ignored)))
    else:
        divisor = spatial if prob.ndim == 3 else 1
    store(dx, grad * np.asarray(grad_scale / divisor, dtype=prob.dtype), req)


# ----------------------------------------------------------------------------------------------
# optimizer updates (fused on the GPU; here the same formulas in the expression language)
# ----------------------------------------------------------------------------------------------
def _clipped(expr, clip_gradient):
    """``expr`` clipped to [-clip_gradient, clip_gradient] (no clipping when None or <= 0)."""
    if clip_gradient is None or clip_gradient <= 0:
        return '(%s)' % expr
    return 'fmin(fmax(%s, -clip_gradient), clip_gradient)' % expr


def sgd_update(weight, grad, lr, wd=0.0, rescale_grad=1.0, clip_gradient=None):
    """weight = weight * (1 - lr * wd) - lr * clip(rescale_grad * grad), in place (MXNet's
    ``sgd_update``)."""
    G = _clipped('rescale_grad * grad', clip_gradient)
    elementwise('weight * (1 - lr * wd) - lr * %s' % G, weight, 'write', weight=weight,
                grad=grad, lr=lr, wd=wd, rescale_grad=rescale_grad,
                clip_gradient=clip_gradient or 0.0)


def sgd_mom_update(weight, grad, mom, lr, wd=0.0, momentum=0.0, rescale_grad=1.0,
                   clip_gradient=None):
    """MXNet's ``sgd_mom_update``, in place::

        mom    = momentum * mom - lr * wd * weight - lr * clip(rescale_grad * grad)
        weight = weight + mom
    """
    G = _clipped('rescale_grad * grad', clip_gradient)
    elementwise('momentum * mom - lr * wd * weight - lr * %s' % G, mom, 'write', mom=mom,
                weight=weight, grad=grad, momentum=momentum, lr=lr, wd=wd,
                rescale_grad=rescale_grad, clip_gradient=clip_gradient or 0.0)
    elementwise('weight + mom', weight, 'write', weight=weight, mom=mom)


def adam_update(weight, grad, mean, var, lr, beta1=0.9, beta2=0.999, epsilon=1e-8, wd=0.0,
                rescale_grad=1.0, clip_gradient=None):
    """MXNet's ``adam_update`` (``lr`` already holds the bias correction), in place::

        G      = clip(rescale_grad * grad + wd * weight)
        mean   = beta1 * mean + (1 - beta1) * G
        var    = beta2 * var + (1 - beta2) * G * G
        weight = weight - lr * mean / (sqrt(var) + epsilon)

    >>> import numpy as np
    >>> w, g = np.ones(2, np.float32), np.full(2, 0.5, np.float32)
    >>> m, v = np.zeros(2, np.float32), np.zeros(2, np.float32)
    >>> adam_update(w, g, m, v, lr=0.1)
    >>> m, w.round(4)
    (array([0.05, 0.05], dtype=float32), array([0.6838, 0.6838], dtype=float32))
    """
    G = _clipped('rescale_grad * grad + wd * weight', clip_gradient)
    scalars = dict(rescale_grad=rescale_grad, wd=wd, clip_gradient=clip_gradient or 0.0)
    elementwise('beta1 * mean + (1 - beta1) * %s' % G, mean, 'write', mean=mean, weight=weight,
                grad=grad, beta1=beta1, **scalars)
    elementwise('beta2 * var + (1 - beta2) * %s * %s' % (G, G), var, 'write', var=var,
                weight=weight, grad=grad, beta2=beta2, **scalars)
    elementwise('weight - lr * mean / (sqrt(var) + epsilon)', weight, 'write', weight=weight,
                mean=mean, var=var, lr=lr, epsilon=epsilon)
