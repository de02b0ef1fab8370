"""``mx.AttrScope``: attributes attached to every symbol created inside a ``with`` block.

>>> import mxref as mx
>>> with mx.AttrScope(group='stage1'):
...     x = mx.sym.Variable('x')
>>> x.attr('group')
'stage1'
"""
import threading

from .base import MXNetTypeError, ScopedDefault

__all__ = ['AttrScope']


class AttrScope(metaclass=ScopedDefault):
    """Holds string attributes; nested scopes add to (and override) the outer ones."""
    _current = threading.local()

    def __init__(self, **kwargs):
        for key, value in kwargs.items():
            if not isinstance(value, str):
                raise MXNetTypeError("AttrScope: attribute %r must be a string, got %r"
                                     % (key, value))
        self._attr = kwargs              # this scope's own attributes
        self._in_effect = dict(kwargs)   # with the enclosing scopes' while entered
        self._old_scope = None

    def get(self, attr):
        """The attributes in effect, updated with ``attr`` (the explicit ones win)."""
        merged = dict(self._in_effect)
        if attr:
            merged.update(attr)
        return merged

    def __enter__(self):
        self._old_scope = AttrScope._active()
        self._in_effect = dict(self._old_scope._in_effect)
        self._in_effect.update(self._attr)
        AttrScope._current.value = self
        return self

    def __exit__(self, *exc):
        AttrScope._current.value = self._old_scope
        self._in_effect = dict(self._attr)

    @staticmethod
    def _active():
        scope = getattr(AttrScope._current, 'value', None)
        if scope is None:
            scope = AttrScope._current.value = AttrScope()
        return scope
