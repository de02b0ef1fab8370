"""MXNet's two-operand helpers of ``mx.nd``: ``maximum(x, 0)``, ``power(2, x)``, ``add(a, b)``...

Each takes NDArrays or numbers in either position and picks the operator: the broadcasting
one for two arrays, the ``_*_scalar`` one for an array and a number (its reflected form when
the number comes first), plain Python for two numbers.

>>> import mxref as mx
>>> mx.nd.maximum(mx.nd.array([-1, 2]), 0).asnumpy()
array([0., 2.], dtype=float32)
>>> mx.nd.power(2, mx.nd.array([1, 3])).asnumpy()
array([2., 8.], dtype=float32)
"""
import operator

import numpy as np

from ..base import MXNetTypeError, numeric_types
from .ndarray import NDArray, invoke, _is_int

__all__ = ['add', 'subtract', 'multiply', 'divide', 'true_divide', 'modulo', 'power',
           'maximum', 'minimum', 'hypot', 'equal', 'not_equal', 'greater', 'greater_equal',
           'lesser', 'lesser_equal', 'logical_and', 'logical_or', 'logical_xor']

# name: (array-array op, array-number op, number-array op, two numbers)
BINARY_HELPERS = {
    'add': ('broadcast_add', '_plus_scalar', '_plus_scalar', operator.add),
    'subtract': ('broadcast_sub', '_minus_scalar', '_rminus_scalar', operator.sub),
    'multiply': ('broadcast_mul', '_mul_scalar', '_mul_scalar', operator.mul),
    'divide': ('broadcast_div', '_div_scalar', '_rdiv_scalar', operator.truediv),
    'true_divide': ('broadcast_div', '_div_scalar', '_rdiv_scalar', operator.truediv),
    'modulo': ('broadcast_mod', '_mod_scalar', '_rmod_scalar', operator.mod),
    'power': ('broadcast_power', '_power_scalar', '_rpower_scalar', operator.pow),
    'maximum': ('broadcast_maximum', '_maximum_scalar', '_maximum_scalar', max),
    'minimum': ('broadcast_minimum', '_minimum_scalar', '_minimum_scalar', min),
    'hypot': ('broadcast_hypot', '_hypot_scalar', '_hypot_scalar', np.hypot),
    'equal': ('broadcast_equal', '_equal_scalar', '_equal_scalar', operator.eq),
    'not_equal': ('broadcast_not_equal', '_not_equal_scalar', '_not_equal_scalar', operator.ne),
    'greater': ('broadcast_greater', '_greater_scalar', '_lesser_scalar', operator.gt),
    'greater_equal': ('broadcast_greater_equal', '_greater_equal_scalar',
                      '_lesser_equal_scalar', operator.ge),
    'lesser': ('broadcast_lesser', '_lesser_scalar', '_greater_scalar', operator.lt),
    'lesser_equal': ('broadcast_lesser_equal', '_lesser_equal_scalar', '_greater_equal_scalar',
                     operator.le),
    'logical_and': ('broadcast_logical_and', '_logical_and_scalar', '_logical_and_scalar',
                    lambda a, b: float(bool(a) and bool(b))),
    'logical_or': ('broadcast_logical_or', '_logical_or_scalar', '_logical_or_scalar',
                   lambda a, b: float(bool(a) or bool(b))),
    'logical_xor': ('broadcast_logical_xor', '_logical_xor_scalar', '_logical_xor_scalar',
                    lambda a, b: float(bool(a) != bool(b))),
}


def _make(name, array_op, scalar_op, reverse_op, python_op):
    def helper(lhs, rhs):
        if isinstance(lhs, NDArray) and isinstance(rhs, NDArray):
            return invoke(array_op, [lhs, rhs], {})
        if isinstance(lhs, NDArray) and isinstance(rhs, numeric_types):
            return invoke(scalar_op, [lhs], {'scalar': rhs, 'is_int': _is_int(rhs)})
        if isinstance(rhs, NDArray) and isinstance(lhs, numeric_types):
            return invoke(reverse_op, [rhs], {'scalar': lhs, 'is_int': _is_int(lhs)})
        if isinstance(lhs, numeric_types) and isinstance(rhs, numeric_types):
            return python_op(lhs, rhs)
        raise MXNetTypeError('mx.nd.%s: operands must be NDArrays or numbers, got %s and %s'
                             % (name, type(lhs).__name__, type(rhs).__name__))
    helper.__name__ = name
    helper.__doc__ = ('``%s`` of two NDArrays (with broadcasting), or of an NDArray and a '
                      'number in either order (``%s`` / ``%s``).' % (array_op, scalar_op,
                                                                      reverse_op))
    return helper


for _name, _ops in BINARY_HELPERS.items():
    globals()[_name] = _make(_name, *_ops)
