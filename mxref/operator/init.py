"""Operators without inputs that create arrays: ``_zeros``, ``_ones``, ``_full``, ``_arange``.

In a symbol their shape may hold 0 for a dimension to be inferred from how the output is used
(``mx.sym.zeros((0, 256))`` as an RNN's initial state takes the batch size of the data).
"""
import numpy as np

from .base import Operator, register
from .params import Param

__all__ = ['Fill', 'Arange']


class Fill(Operator):
    """An array of ``shape`` filled with one value; no inputs, no gradient."""
    arguments = ()
    params = (Param('shape', 'shape', ()), Param('ctx', 'str', ''),
              Param('dtype', 'dtype', np.dtype(np.float32)))
    value = 0.0

    def infer_shape(self, in_shapes):
        return [], [tuple(self.shape) if self.shape else None], []

    def infer_type(self, in_types):
        return [], [self.dtype], []

    def forward(self, is_train, req, in_data, out_data, aux):
        self.B.store(out_data[0], self.value, req[0])

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        pass


@register
class Zeros(Fill):
    """An array of zeros."""
    op_name = '_zeros'


@register
class Ones(Fill):
    """An array of ones."""
    op_name = '_ones'
    value = 1.0


@register
class Full(Fill):
    """An array filled with ``value``."""
    op_name = '_full'
    params = Fill.params + (Param('value', 'float'),)


@register
class Arange(Operator):
    """``start, start + step, ...`` below ``stop``, each value repeated ``repeat`` times.

    The count is ``ceil((stop - start) / step)``; the values are computed in the output type,
    so for integers ``start`` and ``step`` truncate first (as MXNet: ``arange(0, 5, 1.5,
    dtype='int32')`` is ``[0, 1, 2, 3]``).
    """
    op_name = '_arange'
    arguments = ()
    params = (Param('start', 'float'), Param('stop', 'float?', None), Param('step', 'float', 1.0),
              Param('repeat', 'int', 1), Param('infer_range', 'bool', False),
              Param('ctx', 'str', ''), Param('dtype', 'dtype', np.dtype(np.float32)))

    def setup(self):
        if self.step == 0:
            self.fail('step must not be 0')
        if self.repeat < 1:
            self.fail('repeat must be at least 1, got %d' % self.repeat)

    def _values(self):
        start, stop = (0.0, self.start) if self.stop is None else (self.start, self.stop)
        count = max(0, int(np.ceil((stop - start) / self.step)))
        kind = self.dtype.type
        values = kind(start) + np.arange(count, dtype=self.dtype) * kind(self.step)
        return np.repeat(values, self.repeat)

    def infer_shape(self, in_shapes):
        return [], [(len(self._values()),)], []

    def infer_type(self, in_types):
        return [], [self.dtype], []

    def forward(self, is_train, req, in_data, out_data, aux):
        self.B.store(out_data[0], self.B.from_numpy(self._values(), self.dtype), req[0])

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        pass
