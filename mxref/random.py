"""``mx.random``: seeding every device's generator, and the samplers of ``mx.nd.random``.

>>> import mxref as mx
>>> mx.random.seed(1); a = mx.nd.random.uniform(shape=(3,)).asnumpy()
>>> mx.random.seed(1); b = mx.nd.random.uniform(shape=(3,)).asnumpy()
>>> bool((a == b).all())
True
"""
import numpy as np

from . import backend
from .base import MXNetValueError
from .context import Context
from .ndarray.random import (uniform, normal, randn, randint, shuffle, exponential, gamma,
                             poisson, negative_binomial, generalized_negative_binomial,
                             multinomial)

__all__ = ['seed', 'uniform', 'normal', 'randn', 'randint', 'shuffle', 'exponential', 'gamma',
           'poisson', 'negative_binomial', 'generalized_negative_binomial', 'multinomial']


def seed(seed_state, ctx='all'):
    """Seed the random generators of all devices (``ctx='all'``) or of one context.

    ``seed_state`` is a Python or NumPy integer (MXNet 1.9.1 takes ``int`` and
    ``np.int32``/``np.int64``; mxref takes every NumPy integer type).  MXNet hands it to C as
    an ``int``, so a negative seed is valid too: it is used modulo 2**32.

    >>> import numpy as np, mxref as mx
    >>> mx.random.seed(np.int64(7)); a = mx.nd.random.uniform(shape=(2,)).asnumpy()
    >>> mx.random.seed(7); b = mx.nd.random.uniform(shape=(2,)).asnumpy()
    >>> bool((a == b).all())
    True
    """
    if not isinstance(seed_state, (int, np.integer)):       # bool is an int, as in MXNet
        raise MXNetValueError('mx.random.seed: seed_state must be an integer (int or a NumPy '
                              'integer), got %r of type %s'
                              % (seed_state, type(seed_state).__name__))
    seed_state = int(seed_state)
    if seed_state < 0:
        seed_state %= 2 ** 32       # the C int's bit pattern, which NumPy's generators accept
    if ctx == 'all':
        backend.get(Context('cpu')).seed(seed_state)
        for device_id in range(backend.num_gpus()):
            backend.get(Context('gpu', device_id)).seed(seed_state)
    else:
        backend.get(ctx).seed(seed_state)
