"""``mx.nd.random``: arrays of random numbers drawn on the array's device.

>>> import mxref as mx
>>> mx.random.seed(42)
>>> mx.nd.random.uniform(0, 1, shape=(2,)).shape
(2,)
"""
import numpy as np

from .. import backend
from ..base import MXNetValueError
from ..context import current_context
from .ndarray import NDArray, _shape

__all__ = ['uniform', 'normal', 'randn', 'randint', 'shuffle']


def _target(shape, dtype, ctx, out, default_dtype=np.float32):
    if out is not None:
        return out
    ctx = ctx or current_context()
    shape = _shape(1 if shape is None else shape)
    dtype = np.dtype(default_dtype if dtype is None else dtype)
    return NDArray(backend.get(ctx).empty(shape, dtype), ctx)


def _scalar(value, name, function):
    if isinstance(value, NDArray):
        raise MXNetValueError('mx.nd.random.%s: %s must be a number (per-element parameters '
                              'are not supported), got an NDArray' % (function, name))
    return float(value)


def uniform(low=0, high=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples from the uniform distribution on [low, high)."""
    low, high = _scalar(low, 'low', 'uniform'), _scalar(high, 'high', 'uniform')
    if high < low:
        raise MXNetValueError('mx.nd.random.uniform: high (%g) must be >= low (%g)' % (high, low))
    out = _target(shape, dtype, ctx, out)
    out.backend.random_uniform(low, high, out.handle)
    return out


def normal(loc=0, scale=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples from the normal distribution N(loc, scale²)."""
    loc, scale = _scalar(loc, 'loc', 'normal'), _scalar(scale, 'scale', 'normal')
    if scale < 0:
        raise MXNetValueError('mx.nd.random.normal: scale must be >= 0, got %g' % scale)
    out = _target(shape, dtype, ctx, out)
    out.backend.random_normal(loc, scale, out.handle)
    return out


def randn(*shape, **kwargs):
    """Standard normal samples of the given shape: ``randn(2, 3)``."""
    return normal(kwargs.pop('loc', 0), kwargs.pop('scale', 1), shape=shape or (1,), **kwargs)


def randint(low, high, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Integers drawn uniformly from [low, high) (int32 by default)."""
    if int(high) <= int(low):
        raise MXNetValueError('mx.nd.random.randint: high (%d) must be > low (%d)' % (high, low))
    out = _target(shape, dtype, ctx, out, default_dtype=np.int32)
    out.backend.random_randint(int(low), int(high), out.handle)
    return out


def shuffle(data, **kwargs):
    """A copy of ``data`` with its rows (first axis) in random order."""
    out = NDArray(data.backend.empty(data.shape, data.handle.dtype), data.context)
    data.backend.random_shuffle_rows(data.handle, out.handle)
    return out
