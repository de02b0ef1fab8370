"""``mx.sym.random``: symbols that draw random numbers, as in MXNet 1.9.

Each function builds one node of a sampling operator, with no inputs, drawn again at every
forward and seeded by ``mx.random.seed``: ``uniform`` and ``normal`` build ``_random_uniform``
and ``_random_normal``, ``randint`` builds ``_random_randint``, ``randn`` is ``normal`` with
the shape given positionally.  The node's JSON matches MXNet's: the distribution's
parameters are always written, ``shape`` and ``dtype`` when given.

>>> import mxref as mx
>>> noise = mx.sym.random.normal(0, 0.5, shape=(2, 3), name='noise')
>>> noise.infer_shape()[1]
[(2, 3)]

MXNet also accepts Symbols as the parameters (one distribution per element, its
``_sample_*`` operators); mxref does not have those operators, and says so.
"""
from ..base import MXNetValueError
from .symbol import Symbol, create_symbol

__all__ = ['uniform', 'normal', 'randn', 'randint']


def _node(function, op_name, params, shape, dtype, kwargs):
    for key, value in params.items():
        if isinstance(value, Symbol):
            raise MXNetValueError(
                'mx.sym.random.%s: %s must be a number, got a Symbol (per-element parameters '
                "need MXNet's _sample_%s operator, which mxref does not implement)"
                % (function, key, function))
    attrs = dict(params)
    if shape is not None:
        attrs['shape'] = shape
    if dtype is not None:
        attrs['dtype'] = dtype
    attrs.update(kwargs)
    return create_symbol(op_name, (), attrs)


def uniform(low=0, high=1, shape=None, dtype=None, **kwargs):
    """Samples from the uniform distribution on [low, high) (``_random_uniform``); ``dtype``
    float32 (default), float64 or float16.  ``name`` and ``attr`` as for any symbol."""
    return _node('uniform', '_random_uniform', {'low': low, 'high': high}, shape, dtype, kwargs)


def normal(loc=0, scale=1, shape=None, dtype=None, **kwargs):
    """Samples from the normal distribution N(loc, scale²) (``_random_normal``); ``dtype``
    float32 (default), float64 or float16."""
    return _node('normal', '_random_normal', {'loc': loc, 'scale': scale}, shape, dtype, kwargs)


def randn(*shape, **kwargs):
    """Standard normal samples (``loc`` and ``scale`` keywords to change them), the shape
    given positionally: ``randn(2, 3)``."""
    loc, scale = kwargs.pop('loc', 0), kwargs.pop('scale', 1)
    dtype = kwargs.pop('dtype', None)
    return _node('normal', '_random_normal', {'loc': loc, 'scale': scale}, shape or None,
                 dtype, kwargs)


def randint(low, high, shape=None, dtype=None, **kwargs):
    """Integers drawn uniformly from [low, high) (``_random_randint``); ``dtype`` int32
    (default) or int64."""
    return _node('randint', '_random_randint', {'low': low, 'high': high}, shape, dtype, kwargs)
