"""``mx.AttrScope``: attributes attached to every symbol created inside a ``with`` block.

>>> import mxref as mx
>>> with mx.AttrScope(group='stage1'):
...     x = mx.sym.Variable('x')
>>> x.attr('group')
'stage1'
"""
import threading

from .base import MXNetTypeError

__all__ = ['AttrScope']


class _CurrentProperty(type):
    """Gives the class a ``current`` property (``AttrScope.current``), as MXNet has."""

    @property
    def current(cls):
        """The active scope (an empty one outside any ``with`` block)."""
        return cls._active()

    @current.setter
    def current(cls, scope):
        AttrScope._current.value = scope


class AttrScope(metaclass=_CurrentProperty):
    """Holds string attributes; nested scopes add to (and override) the outer ones."""
    _current = threading.local()

    def __init__(self, **kwargs):
        for key, value in kwargs.items():
            if not isinstance(value, str):
                raise MXNetTypeError("AttrScope: attribute %r must be a string, got %r"
                                     % (key, value))
        self._attr = kwargs
        self._old_scope = None

    def get(self, attr):
        """Merge this scope's attributes under ``attr`` (the explicit ones win)."""
        merged = dict(self._attr)
        if attr:
            merged.update(attr)
        return merged

    def __enter__(self):
        self._old_scope = AttrScope._active()
        merged = dict(self._old_scope._attr)
        merged.update(self._attr)
        self._attr = merged
        AttrScope._current.value = self
        return self

    def __exit__(self, *exc):
        AttrScope._current.value = self._old_scope

    @staticmethod
    def _active():
        scope = getattr(AttrScope._current, 'value', None)
        if scope is None:
            scope = AttrScope._current.value = AttrScope()
        return scope
