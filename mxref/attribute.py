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


class AttrScope:
    """Holds string attributes; nested scopes add to (and override) the outer ones."""
    _state = threading.local()

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
        self._old_scope = AttrScope.current()
        merged = dict(self._old_scope._attr)
        merged.update(self._attr)
        self._attr = merged
        AttrScope._state.value = self
        return self

    def __exit__(self, *exc):
        AttrScope._state.value = self._old_scope

    @staticmethod
    def current():
        """The active scope (an empty one outside any ``with`` block)."""
        scope = getattr(AttrScope._state, 'value', None)
        if scope is None:
            scope = AttrScope._state.value = AttrScope()
        return scope
