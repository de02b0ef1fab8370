"""``mx.random``: seeding every device's generator, and the samplers of ``mx.nd.random``.

>>> import mxref as mx
>>> mx.random.seed(1); a = mx.nd.random.uniform(shape=(3,)).asnumpy()
>>> mx.random.seed(1); b = mx.nd.random.uniform(shape=(3,)).asnumpy()
>>> bool((a == b).all())
True
"""
from . import backend
from .base import MXNetValueError
from .context import Context
from .ndarray.random import uniform, normal, randn, randint, shuffle

__all__ = ['seed', 'uniform', 'normal', 'randn', 'randint', 'shuffle']


def seed(seed_state, ctx='all'):
    """Seed the random generators of all devices (``ctx='all'``) or of one context."""
    if not isinstance(seed_state, int) or isinstance(seed_state, bool):
        raise MXNetValueError('mx.random.seed: seed_state must be an int, got %r' % (seed_state,))
    if ctx == 'all':
        backend.get(Context('cpu')).seed(seed_state)
        for device_id in range(backend.num_gpus()):
            backend.get(Context('gpu', device_id)).seed(seed_state)
    else:
        backend.get(ctx).seed(seed_state)
