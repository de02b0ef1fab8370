"""Devices: ``mx.cpu()``, ``mx.gpu(i)`` and the default context.

A :class:`Context` only names a device.  Which code runs on it is decided in one place,
:func:`mxref.backend.get`, so nothing here imports a GPU library: ``mx.gpu(0)`` can be written
on any machine, and the error about a missing GPU comes when an array is first put on it.

>>> import mxref as mx
>>> mx.cpu()
cpu(0)
>>> with mx.Context('cpu', 1):
...     mx.current_context()
cpu(1)
"""
import threading

from .base import MXNetValueError

__all__ = ['Context', 'cpu', 'gpu', 'cpu_pinned', 'current_context', 'num_gpus']


class Context:
    """A device on which arrays live and operators run.

    Parameters
    ----------
    device_type : {'cpu', 'gpu', 'cpu_pinned', 'cpu_shared'} or Context
    device_id : int, default 0
    """
    devtype2str = {1: 'cpu', 2: 'gpu', 3: 'cpu_pinned', 5: 'cpu_shared'}
    devstr2type = {name: code for code, name in devtype2str.items()}
    _default = threading.local()

    def __init__(self, device_type, device_id=0):
        if isinstance(device_type, Context):
            device_type, device_id = device_type.device_type, device_type.device_id
        if device_type not in self.devstr2type:
            raise MXNetValueError("Context: device_type must be one of %s, got %r"
                                  % (sorted(self.devstr2type), device_type))
        if int(device_id) < 0:
            raise MXNetValueError("Context: device_id must be >= 0, got %r" % (device_id,))
        self.device_type = device_type
        self.device_id = int(device_id)

    @property
    def device_typeid(self):
        """MXNet's integer code of the device type (1 cpu, 2 gpu, 3 cpu_pinned)."""
        return self.devstr2type[self.device_type]

    def __hash__(self):
        return hash((self.device_type, self.device_id))

    def __eq__(self, other):
        return (isinstance(other, Context) and self.device_type == other.device_type
                and self.device_id == other.device_id)

    def __ne__(self, other):
        return not self == other

    def __repr__(self):
        return '%s(%d)' % (self.device_type, self.device_id)

    __str__ = __repr__

    def __enter__(self):
        # the contexts to go back to are kept per thread: one Context object may be entered
        # by several threads at once (a cached operator's, say)
        stack = Context._default.__dict__.setdefault('stack', [])
        stack.append(current_context())
        Context._default.value = self
        return self

    def __exit__(self, *exc):
        Context._default.value = Context._default.stack.pop()

    def empty_cache(self):
        """Release cached device memory (a no-op on the CPU)."""
        from . import backend
        backend.get(self).empty_cache()


def cpu(device_id=0):
    """The CPU context.  ``device_id`` is kept for MXNet compatibility; all CPU ids share memory."""
    return Context('cpu', device_id)


def cpu_pinned(device_id=0):
    """Page-locked host memory; in mxref it behaves like :func:`cpu`."""
    return Context('cpu_pinned', device_id)


def gpu(device_id=0):
    """The GPU context number ``device_id``.  Needs PyCUDA (``pip install -e '.[gpu]'``)."""
    return Context('gpu', device_id)


def current_context():
    """The context used when none is given: ``cpu(0)`` unless a ``with ctx:`` block is active."""
    return getattr(Context._default, 'value', None) or Context('cpu', 0)


def num_gpus():
    """How many CUDA devices PyCUDA can see (0 without PyCUDA or without a driver)."""
    from . import backend
    return backend.num_gpus()
