"""``mx.sym`` / ``mx.symbol``: Symbol, Variable, Group, load, chain, ``mx.sym.random``, and one
function per operator.

The operator functions are generated from the operator registry at import; names starting
with ``_`` live in ``mx.sym._internal``.
"""
import builtins
import sys
import types

from ..operator.calling import make_function, public_names
from .symbol import (Symbol, Variable, var, Group, load, load_json, create_symbol)
from .chaining import chain


def _sym_implementation(op_cls, name, args, kwargs):
    return create_symbol(name, args, kwargs)


def _install():
    module = sys.modules[__name__]
    internal = types.ModuleType(__name__ + '._internal', 'Operators whose names start with _.')
    op = types.ModuleType(__name__ + '.op', 'Every operator function of mx.sym.')
    public, private = public_names()
    for name in public + private:
        function = make_function(name, _sym_implementation, 'Symbol')
        function.__module__ = __name__
        setattr(op, name, function)
        if name.startswith('_'):
            setattr(internal, name, function)
        elif not hasattr(module, name):
            setattr(module, name, function)
    sys.modules[internal.__name__] = internal
    sys.modules[op.__name__] = op
    return internal, op


_internal, op = _install()
from . import random                # noqa: E402  (mx.sym.random, after the operators)


def zeros(shape, dtype=None, **kwargs):
    """A symbol of zeros; a 0 in ``shape`` is inferred from how the output is used."""
    return _internal._zeros(shape=shape, dtype='float32' if dtype is None else dtype, **kwargs)


def ones(shape, dtype=None, **kwargs):
    """A symbol of ones; a 0 in ``shape`` is inferred from how the output is used."""
    return _internal._ones(shape=shape, dtype='float32' if dtype is None else dtype, **kwargs)


def full(shape, val, dtype=None, **kwargs):
    """A symbol filled with ``val``."""
    return _internal._full(shape=shape, value=val, dtype='float32' if dtype is None else dtype,
                           **kwargs)


def arange(start, stop=None, step=1.0, repeat=1, infer_range=False, name=None, dtype=None):
    """Evenly spaced values in [start, stop), each repeated ``repeat`` times."""
    return _internal._arange(start=start, stop=stop, step=step, repeat=repeat,
                             infer_range=infer_range, name=name,
                             dtype='float32' if dtype is None else dtype)


def _symbol_binary(name, array_op, scalar_op, python_op):
    """A helper taking symbols or numbers in either order (MXNet's ``mx.sym.maximum``...)."""
    def helper(left, right):
        if isinstance(left, Symbol) and isinstance(right, Symbol):
            return create_symbol(array_op, (left, right), {})
        if isinstance(left, Symbol):
            return create_symbol(scalar_op, (left,), {'scalar': right})
        if isinstance(right, Symbol):
            reflected = {'_PowerScalar': '_RPowerScalar'}.get(scalar_op, scalar_op)
            return create_symbol(reflected, (right,), {'scalar': left})
        return python_op(left, right)
    helper.__name__ = name
    helper.__doc__ = ('``%s`` of two symbols (same shape), or of a symbol and a number in '
                      'either order (``%s``).' % (array_op, scalar_op))
    return helper


maximum = _symbol_binary('maximum', '_Maximum', '_MaximumScalar', builtins.max)
minimum = _symbol_binary('minimum', '_Minimum', '_MinimumScalar', builtins.min)
pow = power = _symbol_binary('pow', '_Power', '_PowerScalar', lambda a, b: a ** b)
hypot = _symbol_binary('hypot', '_Hypot', '_HypotScalar', lambda a, b: (a * a + b * b) ** 0.5)
