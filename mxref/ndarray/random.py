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
from .ndarray import NDArray, _shape, _call_function

__all__ = ['uniform', 'normal', 'randn', 'randint', 'shuffle', 'exponential', 'gamma', 'poisson',
           'negative_binomial', 'generalized_negative_binomial', 'multinomial']


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


def _per_element(function, sampler, params, shape, dtype, out, kwargs):
    """NDArray parameters: one distribution per element, through ``_sample_<function>``;
    None when the parameters are numbers."""
    arrays = [isinstance(p, NDArray) for p in params.values()]
    if not any(arrays):
        return None
    if not all(arrays):
        raise MXNetValueError('mx.nd.random.%s: the distribution parameters must all be '
                              'NDArrays or all numbers, got %s'
                              % (function, ', '.join('%s %s' % (k, type(v).__name__)
                                                     for k, v in params.items())))
    attrs = dict(kwargs, out=out)
    if shape is not None:
        attrs['shape'] = shape
    if dtype is not None:
        attrs['dtype'] = dtype
    return _call_function(sampler, list(params.values()), attrs)


def _scalar_sampler(op_name, params, shape, dtype, ctx, out, kwargs):
    """Numbers as parameters: a ``_random_*`` operator, of shape (1,) unless ``shape`` or
    ``out`` says otherwise (``out`` also gives the context and type)."""
    attrs = dict(params, **kwargs)
    if out is not None:
        shape = out.shape if shape is None else shape
        dtype = out.dtype if dtype is None else dtype
        ctx = out.context
    attrs['shape'] = 1 if shape is None else shape
    if dtype is not None:
        attrs['dtype'] = np.dtype(dtype).name
    attrs['ctx'] = str(ctx or current_context())
    return _call_function(op_name, [], dict(attrs, out=out))


def uniform(low=0, high=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples from the uniform distribution on [low, high); NDArray bounds draw one
    distribution per element (``_sample_uniform``, output shape ``low.shape + shape``)."""
    sampled = _per_element('uniform', '_sample_uniform', {'low': low, 'high': high}, shape,
                           dtype, out, kwargs)
    if sampled is not None:
        return sampled
    low, high = _scalar(low, 'low', 'uniform'), _scalar(high, 'high', 'uniform')
    if high < low:
        raise MXNetValueError('mx.nd.random.uniform: high (%g) must be >= low (%g)' % (high, low))
    out = _target(shape, dtype, ctx, out)
    out.backend.random_uniform(low, high, out.handle)
    return out


def normal(loc=0, scale=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples from the normal distribution N(loc, scale²); NDArray parameters draw one
    distribution per element (``_sample_normal``)."""
    sampled = _per_element('normal', '_sample_normal', {'mu': loc, 'sigma': scale}, shape,
                           dtype, out, kwargs)
    if sampled is not None:
        return sampled
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
    """A copy of ``data`` with its rows (first axis) in random order (``_shuffle``)."""
    return _call_function('_shuffle', [data], kwargs)


def _distribution(function, op_name, params, shape, dtype, ctx, out, kwargs):
    sampled = _per_element(function, '_sample_' + function, params, shape, dtype, out, kwargs)
    if sampled is not None:
        return sampled
    return _scalar_sampler(op_name, params, shape, dtype, ctx, out, kwargs)


def exponential(scale=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples from the exponential distribution of mean ``scale`` (rate ``lam = 1 / scale``
    of ``_random_exponential``; an NDArray ``scale``: ``_sample_exponential``)."""
    return _distribution('exponential', '_random_exponential', {'lam': 1.0 / scale}, shape,
                         dtype, ctx, out, kwargs)


def gamma(alpha=1, beta=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples from the gamma distribution of shape ``alpha`` and scale ``beta``."""
    return _distribution('gamma', '_random_gamma', {'alpha': alpha, 'beta': beta}, shape,
                         dtype, ctx, out, kwargs)


def poisson(lam=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples from the Poisson distribution of rate ``lam`` (as floats)."""
    return _distribution('poisson', '_random_poisson', {'lam': lam}, shape, dtype, ctx, out,
                         kwargs)


def negative_binomial(k=1, p=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples the failures before the k-th success of trials succeeding with probability p."""
    return _distribution('negative_binomial', '_random_negative_binomial', {'k': k, 'p': p},
                         shape, dtype, ctx, out, kwargs)


def generalized_negative_binomial(mu=1, alpha=1, shape=None, dtype=None, ctx=None, out=None,
                                  **kwargs):
    """Samples from the negative binomial distribution of mean ``mu`` and dispersion
    ``alpha``."""
    return _distribution('generalized_negative_binomial',
                         '_random_generalized_negative_binomial', {'mu': mu, 'alpha': alpha},
                         shape, dtype, ctx, out, kwargs)


def multinomial(data, shape=None, get_prob=False, out=None, dtype='int32', **kwargs):
    """Category indices drawn from the distributions on the last axis of ``data``
    (``_sample_multinomial``); with ``get_prob`` also their log-probabilities."""
    attrs = dict(kwargs, get_prob=get_prob, dtype=dtype, out=out)
    if shape is not None:
        attrs['shape'] = shape
    return _call_function('_sample_multinomial', [data], attrs)
