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

Given Symbols as the parameters, they build MXNet's ``_sample_*`` nodes (one distribution
per element).  ``exponential``, ``gamma``, ``poisson``, ``negative_binomial`` and
``generalized_negative_binomial`` build the other ``_random_*`` / ``_sample_*`` nodes,
``multinomial`` builds ``_sample_multinomial`` (``get_prob=True`` by default, as in MXNet's
``mx.sym.random``) and ``shuffle`` builds ``_shuffle``.
"""
from ..base import MXNetValueError
from .symbol import Symbol, create_symbol

__all__ = ['uniform', 'normal', 'randn', 'randint', 'exponential', 'gamma', 'poisson',
           'negative_binomial', 'generalized_negative_binomial', 'multinomial', 'shuffle']


def _node(function, op_name, params, shape, dtype, kwargs, sampler=None):
    symbols = [isinstance(v, Symbol) for v in params.values()]
    if any(symbols):
        if sampler is None or not all(symbols):
            raise MXNetValueError(
                'mx.sym.random.%s: the distribution parameters must all be Symbols or all '
                'numbers%s, got %s' % (function, '' if sampler else ' (here: numbers)',
                                       ', '.join('%s %s' % (k, type(v).__name__)
                                                 for k, v in params.items())))
        attrs = dict(kwargs)
        if shape is not None:
            attrs['shape'] = shape
        if dtype is not None:
            attrs['dtype'] = dtype
        return create_symbol(sampler, tuple(params.values()), attrs)
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
    return _node('uniform', '_random_uniform', {'low': low, 'high': high}, shape, dtype, kwargs,
                 '_sample_uniform')


def normal(loc=0, scale=1, shape=None, dtype=None, **kwargs):
    """Samples from the normal distribution N(loc, scale²) (``_random_normal``); ``dtype``
    float32 (default), float64 or float16."""
    if isinstance(loc, Symbol) or isinstance(scale, Symbol):
        return _node('normal', '_random_normal', {'mu': loc, 'sigma': scale}, shape, dtype,
                     kwargs, '_sample_normal')
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


def exponential(scale=1, shape=None, dtype=None, **kwargs):
    """Samples from the exponential distribution of mean ``scale``: ``_random_exponential``
    with ``lam = 1 / scale`` (a Symbol ``scale``: ``_sample_exponential`` of ``1 / scale``)."""
    return _node('exponential', '_random_exponential', {'lam': 1.0 / scale}, shape, dtype,
                 kwargs, '_sample_exponential')


def gamma(alpha=1, beta=1, shape=None, dtype=None, **kwargs):
    """Samples from the gamma distribution of shape ``alpha`` and scale ``beta``."""
    return _node('gamma', '_random_gamma', {'alpha': alpha, 'beta': beta}, shape, dtype, kwargs,
                 '_sample_gamma')


def poisson(lam=1, shape=None, dtype=None, **kwargs):
    """Samples from the Poisson distribution of rate ``lam``."""
    return _node('poisson', '_random_poisson', {'lam': lam}, shape, dtype, kwargs,
                 '_sample_poisson')


def negative_binomial(k=1, p=1, shape=None, dtype=None, **kwargs):
    """Samples from the negative binomial distribution (``k`` successes, probability ``p``)."""
    return _node('negative_binomial', '_random_negative_binomial', {'k': k, 'p': p}, shape,
                 dtype, kwargs, '_sample_negative_binomial')


def generalized_negative_binomial(mu=1, alpha=1, shape=None, dtype=None, **kwargs):
    """Samples from the negative binomial distribution of mean ``mu``, dispersion ``alpha``."""
    return _node('generalized_negative_binomial', '_random_generalized_negative_binomial',
                 {'mu': mu, 'alpha': alpha}, shape, dtype, kwargs,
                 '_sample_generalized_negative_binomial')


def multinomial(data, shape=None, get_prob=True, dtype='int32', **kwargs):
    """``_sample_multinomial``: category indices from the distributions on the last axis of
    ``data``; ``get_prob`` is True by default here, as in MXNet's ``mx.sym.random``."""
    attrs = dict(kwargs, get_prob=get_prob, dtype=dtype)
    if shape is not None:
        attrs['shape'] = shape
    return create_symbol('_sample_multinomial', (data,), attrs)


def shuffle(data, **kwargs):
    """``_shuffle``: the rows of ``data`` in a random order."""
    return create_symbol('_shuffle', (data,), kwargs)
