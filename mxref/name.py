"""Automatic names for symbols: ``fullyconnected0``, ``_plus1``, and ``mx.name.Prefix``.

When an operator is applied without ``name=``, the current :class:`NameManager` makes one
from a hint (the operator's name in lower case) and a counter per hint.

>>> import mxref as mx
>>> with mx.name.NameManager():
...     a = mx.sym.Variable('a')
...     print((a + a).name, (a + a).name)
_plus0 _plus1
>>> with mx.name.Prefix('mlp_'):
...     print(mx.sym.FullyConnected(a, num_hidden=2, name='fc1').name)
mlp_fc1
"""
import threading

from .base import ScopedDefault

__all__ = ['NameManager', 'Prefix']


class NameManager(metaclass=ScopedDefault):
    """Hands out unique names ``hint + counter``; use it as a ``with`` block to start afresh."""
    _current = threading.local()

    def __init__(self):
        self._counter = {}
        self._old_manager = None

    def get(self, name, hint):
        """Return ``name`` if given, else the next ``hint<N>`` (the counter is per hint)."""
        if name:
            return name
        count = self._counter.get(hint, 0)
        self._counter[hint] = count + 1
        return '%s%d' % (hint, count)

    def __enter__(self):
        self._old_manager = NameManager._active()
        NameManager._current.value = self
        return self

    def __exit__(self, *exc):
        NameManager._current.value = self._old_manager

    @staticmethod
    def _active():
        manager = getattr(NameManager._current, 'value', None)
        if manager is None:
            manager = NameManager._current.value = NameManager()
        return manager


class Prefix(NameManager):
    """A name manager that puts ``prefix`` in front of every name, given or automatic."""

    def __init__(self, prefix):
        super().__init__()
        self._prefix = prefix

    def get(self, name, hint):
        return self._prefix + super().get(name, hint)
