"""Operators: one class each, registered by MXNet name.  ``mx.nd.<Op>`` and ``mx.sym.<Op>``
are generated from this registry (see :mod:`mxref.operator.calling`)."""
from .base import Operator, register, get, registered_names
from .params import Param, REQUIRED
from . import elemwise, nn, loss, norm, reduce, shape, init, conv, sequence, sample
from . import deconv, ordering
from . import pad, rnn
from . import roi

__all__ = ['Operator', 'Param', 'REQUIRED', 'register', 'get', 'registered_names']

# MXNet's Python custom operators.  This `register` replaces the one imported from .base above:
# given a string it registers a CustomOpProp, given an Operator class it defers to .base's.
from . import custom
from .custom import CustomOp, CustomOpProp, register
__all__ += ['CustomOp', 'CustomOpProp']
