"""Operators: one class each, registered by MXNet name.  ``mx.nd.<Op>`` and ``mx.sym.<Op>``
are generated from this registry (see :mod:`mxref.operator.calling`)."""
from .base import Operator, register, get, registered_names
from .params import Param, REQUIRED
from . import elemwise, nn, loss, norm, reduce, shape, init, conv, sequence, sample
from . import ordering

__all__ = ['Operator', 'Param', 'REQUIRED', 'register', 'get', 'registered_names']
