"""Random numbers on the GPU: Philox4x32-10, our own counter-based generator (``random.cu``).

Why not cuRAND (``pycuda.curandom``)?  Its XORWOW generators keep a state per thread that must
be set up by a costly kernel and stored, its availability depends on how PyCUDA was built (the
install script turns cuRAND off where the headers are missing), and its results depend on the
launch configuration.  Philox needs no state: element i of a draw is a pure function of
(seed, draw number, i), so samples are reproducible, independent of the launch and testable on
the host (the test suite checks our Philox against the published known-answer vectors).

Each device has a key (from :func:`seed`) and a draw counter; every call uses the next draw
number as the high half of the Philox counter, so no two draws overlap.
"""
import numpy as np

from ...base import MXNetTypeError
from . import geometry, runtime
from .buffer import View
from .elementwise import new_buffer
from .sources import KERNEL_FILES

__all__ = ['seed', 'random_uniform', 'random_normal', 'random_randint', 'random_shuffle_rows',
           'random_generator',
           'philox_key']

_streams = {}            # device id -> [key0, key1, next draw number]


def philox_key(seed_state):
    """The two 32-bit Philox key words of an integer seed (any size, negative allowed).

    >>> philox_key(0), philox_key(1234)
    ((0, 0), (1234, 0))
    """
    value = int(seed_state) & ((1 << 64) - 1)
    return value & 0xFFFFFFFF, value >> 32


def seed(seed_state):
    """Restart the current GPU's generator from ``seed_state``."""
    key0, key1 = philox_key(seed_state)
    _streams[runtime.current_device()] = [key0, key1, 0]


def _next_draw(device_id):
    state = _streams.setdefault(device_id, [0, 0, 0])
    draw = state[2]
    state[2] += 1
    return state[0], state[1], draw


def _sample(name, out, a, b):
    if out.size == 0:
        return
    if out.dtype not in KERNEL_FILES['random.cu']['real_t']:
        raise MXNetTypeError('%s on the GPU writes %s arrays, got %s'
                             % (name, ', '.join(d.name for d in
                                                KERNEL_FILES['random.cu']['real_t']),
                                out.dtype.name))
    runtime.ensure_current(out.device_id)
    key0, key1, draw = _next_draw(out.device_id)
    kernel = runtime.file_kernel('random.cu', name, out.dtype)
    blocks, threads = geometry.grid_1d(geometry.ceil_div(out.size, 2), runtime.sm_count())
    runtime.launch(kernel, blocks, threads, [out.ptr, out.size, key0, key1, draw, a, b])


def random_uniform(low, high, out):
    """out = samples of U[low, high)."""
    _sample('random_uniform', out, float(low), float(high))


def random_normal(loc, scale, out):
    """out = samples of N(loc, scale²)."""
    _sample('random_normal', out, float(loc), float(scale))


def random_randint(low, high, out):
    """out = integers drawn uniformly from [low, high)."""
    _sample('random_randint', out, int(low), int(high))


def random_generator():
    """The CPU backend's NumPy generator has no GPU twin: the samplers that use it (gamma,
    Poisson, ``_sample_*``, ...) are CPU-only operators, refused on a GPU context."""
    from . import MissingKernelError
    raise MissingKernelError("the GPU backend has no kernel for 'random_generator': the "
                             'samplers drawn by NumPy run on mx.cpu() only')


def random_shuffle_rows(x, out):
    """out = the rows of x in a random order.

    The permutation (n integers) is drawn on the host by NumPy from this device's Philox key
    and draw number, copied over, and the rows are gathered on the GPU.
    """
    if x.shape[0] == 0:
        return
    runtime.ensure_current(out.device_id)
    key0, key1, draw = _next_draw(out.device_id)
    order = np.random.default_rng([key0, key1, draw]).permutation(x.shape[0])
    from .indexing import take
    from .memory import from_numpy
    take(x, from_numpy(order.astype(np.int64)), 0, 'clip', out, 'write')
