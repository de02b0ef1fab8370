"""``mx.nd``: NDArray, its creation functions, file I/O, and one function per operator.

The operator functions (``mx.nd.FullyConnected``, ``mx.nd.exp``, ...) are made from the
operator registry when this package is imported; names starting with ``_`` live in
``mx.nd._internal``.
"""
import sys
import types

from ..operator.calling import make_function, public_names
from .ndarray import (NDArray, invoke, array, empty, zeros, ones, full, arange, waitall,
                      from_buffer, concatenate, moveaxis, _call_function)
from .serialization import save, load, load_frombuffer
from . import random
from .binary import *                 # noqa: F401,F403  (maximum, power, add, ...)
from . import binary


def _nd_implementation(op_cls, name, args, kwargs):
    return _call_function(name, args, kwargs)


def _install():
    module = sys.modules[__name__]
    internal = types.ModuleType(__name__ + '._internal', 'Operators whose names start with _.')
    op = types.ModuleType(__name__ + '.op', 'Every operator function of mx.nd.')
    public, private = public_names()
    for name in public + private:
        function = make_function(name, _nd_implementation, 'NDArray')
        function.__module__ = __name__
        setattr(op, name, function)
        if name.startswith('_'):
            setattr(internal, name, function)
        elif not hasattr(module, name) or name in ('zeros_like', 'ones_like'):
            setattr(module, name, function)
    sys.modules[internal.__name__] = internal
    sys.modules[op.__name__] = op
    return internal, op


_internal, op = _install()
