"""Operators over padded batches of sequences: ``SequenceMask``, ``SequenceLast``,
``SequenceReverse``, and ``reverse`` (flip along axes).

A padded batch holds sequences of different lengths in one array, time along ``axis``
(``(T, N, ...)`` for ``axis=0``, ``(N, T, ...)`` for ``axis=1``); the optional input
``sequence_length`` (shape ``(N,)``, used when ``use_sequence_length=True``) says how many
steps of each sequence are real.  Lengths arrive as floats, as in MXNet, and are truncated to
integers.

The three sequence operators only move or mask elements, so each is written as one gather
(``take`` over the rows of the array seen as ``(T·N, rest)``) or one elementwise ``where``;
the row indices and the mask are worked out on the host from the N lengths.  Their gradients
are the matching scatter (``take_backward``) or the same mask, and none flows to the lengths.
"""
import numpy as np

from .base import Operator, register, shape_str
from .params import Param

__all__ = ['SequenceMask', 'SequenceLast', 'SequenceReverse', 'Reverse']


def _size(shape):
    return int(np.prod(shape, dtype=np.int64))


class _SequenceOperator(Operator):
    """What the three sequence operators share: the optional ``sequence_length`` input,
    shape checks, and reading the lengths."""
    params = (Param('use_sequence_length', 'bool', False,
                    doc='if False, every sequence is taken to fill the whole time axis'),
              Param('axis', 'int', 0, doc='the time axis: 0 for (T, N, ...), 1 for (N, T, ...)'))
    allowed_axes = (0, 1)

    def setup(self):
        if self.axis not in self.allowed_axes:
            self.fail('axis must be %s, got %d'
                      % (' or '.join(str(a) for a in self.allowed_axes), self.axis))

    def list_arguments(self):
        return ['data', 'sequence_length'] if self.use_sequence_length else ['data']

    def _check_shapes(self, in_shapes):
        """Validate the data rank and fill the lengths' shape (N,); return the filled shapes."""
        data = in_shapes[0]
        shapes = list(in_shapes)
        if data is None:
            return shapes
        if len(data) < 2:
            self.fail('data must have at least 2 dimensions (time and batch), got %s'
                      % shape_str(data))
        if self.use_sequence_length:
            batch = (data[1 - self.axis],)
            if shapes[1] is not None and tuple(shapes[1]) != batch:
                self.fail('sequence_length must have shape %s (one length per sequence), got %s'
                          % (shape_str(batch), shape_str(shapes[1])))
            shapes[1] = batch
        return shapes

    def infer_type(self, in_types):
        dtype = in_types[0]
        types = [dtype] + ([in_types[1] if in_types[1] is not None else dtype]
                           if self.use_sequence_length else [])
        return types, [dtype], []

    def _lengths(self, in_data, lowest):
        """The lengths as host integers, checked to lie in [lowest, T]; all T without them."""
        data = in_data[0]
        steps, batch = data.shape[self.axis], data.shape[1 - self.axis]
        if not self.use_sequence_length:
            return np.full(batch, steps, dtype=np.int64)
        lengths = self.B.to_numpy(in_data[1]).astype(np.int64)
        bad = (lengths < lowest) | (lengths > steps)
        if bad.any():
            self.fail('sequence_length must lie in [%d, %d] (the time axis has %d steps), got %s'
                      % (lowest, steps, steps, lengths[bad][0]))
        return lengths

    def _rows(self, buf):
        """``buf`` seen as (T·N, rest): one row per (time, sequence) pair, in storage order."""
        return self.B.reshape(buf, (buf.shape[0] * buf.shape[1], _size(buf.shape[2:])))

    def _row_index(self, time, seq, shape):
        """Row number in :meth:`_rows` of step ``time`` of sequence ``seq`` (arrays)."""
        return time * shape[1] + seq if self.axis == 0 else seq * shape[1] + time

    def _no_length_gradient(self, req, in_data, in_grad):
        if self.use_sequence_length:
            self.B.elementwise('0 * l', in_grad[1], req[1], l=in_data[1])


@register
class SequenceMask(_SequenceOperator):
    """Sets the steps past each sequence's length to ``value``:
    ``y[t, n] = x[t, n] if t < length[n] else value`` (time along ``axis``).
    Gradient: ``dx = dy`` at the kept steps, 0 at the masked ones."""
    op_name = 'SequenceMask'
    params = _SequenceOperator.params + (Param('value', 'float', 0.0,
                                               doc='the value put at masked steps'),)

    def infer_shape(self, in_shapes):
        shapes = self._check_shapes(in_shapes)
        return shapes, [None if shapes[0] is None else tuple(shapes[0])], []

    def _mask(self, in_data):
        """A (T, N) or (N, T) buffer, 1 at kept steps, broadcastable against the data."""
        data = in_data[0]
        lengths = self._lengths(in_data, 0)
        steps = np.arange(data.shape[self.axis])
        keep = steps[:, None] < lengths[None, :]
        if self.axis == 1:
            keep = keep.T
        keep = keep.reshape(keep.shape + (1,) * (data.ndim - 2))
        return self.B.from_numpy(keep, data.dtype)

    def forward(self, is_train, req, in_data, out_data, aux):
        if not self.use_sequence_length:
            self.B.store(out_data[0], in_data[0], req[0])
            return
        self.B.elementwise('where(m != 0, x, v)', out_data[0], req[0], m=self._mask(in_data),
                           x=in_data[0], v=self.value)

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        if not self.use_sequence_length:
            self.B.store(in_grad[0], out_grad[0], req[0])
        else:
            self.B.elementwise('dy * m', in_grad[0], req[0], dy=out_grad[0],
                               m=self._mask(in_data))
        self._no_length_gradient(req, in_data, in_grad)


@register
class SequenceLast(_SequenceOperator):
    """The last real step of each sequence: ``y[n] = x[length[n] - 1, n]`` (time along
    ``axis``; the last step of the axis without lengths).  Output shape: the data's without
    the time axis.  Gradient: dy placed at those steps, 0 elsewhere."""
    op_name = 'SequenceLast'

    def infer_shape(self, in_shapes):
        shapes = self._check_shapes(in_shapes)
        data = shapes[0]
        if data is None:
            return shapes, [None], []
        return shapes, [tuple(d for i, d in enumerate(data) if i != self.axis)], []

    def _per_sequence(self, buf):
        """An output-shaped ``buf`` seen as (N, rest): one row per sequence."""
        return self.B.reshape(buf, (buf.shape[0], _size(buf.shape[1:])))

    def _index(self, in_data):
        shape = in_data[0].shape
        lengths = self._lengths(in_data, 1)
        rows = self._row_index(lengths - 1, np.arange(shape[1 - self.axis]), shape)
        return self.B.from_numpy(rows, in_data[0].dtype)

    def forward(self, is_train, req, in_data, out_data, aux):
        self.B.take(self._rows(in_data[0]), self._index(in_data), 0, 'clip',
                    self._per_sequence(out_data[0]), req[0])

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        self.B.take_backward(self._per_sequence(out_grad[0]), self._index(in_data), 0, 'clip',
                             self._rows(in_grad[0]), req[0])
        self._no_length_gradient(req, in_data, in_grad)


@register
class SequenceReverse(_SequenceOperator):
    """Reverses the real steps of each sequence and leaves the padding in place:
    ``y[t, n] = x[length[n] - 1 - t, n]`` for ``t < length[n]``, else ``x[t, n]``.
    Time must be axis 0, as in MXNet.  Gradient: dy reversed the same way."""
    op_name = 'SequenceReverse'
    allowed_axes = (0,)

    def infer_shape(self, in_shapes):
        shapes = self._check_shapes(in_shapes)
        return shapes, [None if shapes[0] is None else tuple(shapes[0])], []

    def _index(self, in_data):
        """Source row of every output row: a permutation of the T·N rows."""
        shape = in_data[0].shape
        lengths = self._lengths(in_data, 0)
        time = np.arange(shape[0])[:, None]
        source = np.where(time < lengths[None, :], lengths[None, :] - 1 - time, time)
        rows = self._row_index(source, np.arange(shape[1])[None, :], shape)
        return self.B.from_numpy(rows.ravel(), in_data[0].dtype)

    def forward(self, is_train, req, in_data, out_data, aux):
        self.B.take(self._rows(in_data[0]), self._index(in_data), 0, 'clip',
                    self._rows(out_data[0]), req[0])

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        self.B.take_backward(self._rows(out_grad[0]), self._index(in_data), 0, 'clip',
                             self._rows(in_grad[0]), req[0])
        self._no_length_gradient(req, in_data, in_grad)


@register
class Reverse(Operator):
    """Reverses the order of the elements along each axis in ``axis``:
    ``y[..., i, ...] = x[..., n - 1 - i, ...]``.  Gradient: dy reversed the same way."""
    op_name = 'reverse'
    aliases = ('flip',)
    params = (Param('axis', 'axis', doc='the axis or axes to reverse'),)

    def _axes(self, ndim):
        axes = (self.axis,) if isinstance(self.axis, int) else tuple(self.axis or ())
        for a in axes:
            if not -ndim <= a < ndim:
                self.fail('axis %d is out of range for data of %d dimensions' % (a, ndim))
        return {a % ndim for a in axes}

    def _bounds(self, shape):
        """(begin, end, step) per axis for a strided slice that reverses ``self.axis``."""
        axes = self._axes(len(shape))
        begin = tuple(n - 1 if i in axes else 0 for i, n in enumerate(shape))
        end = tuple(None if i in axes else n for i, n in enumerate(shape))
        step = tuple(-1 if i in axes else 1 for i in range(len(shape)))
        return begin, end, step

    def infer_shape(self, in_shapes):
        data = in_shapes[0]
        if data is not None:
            self._axes(len(data))
        return in_shapes, [None if data is None else tuple(data)], []

    def forward(self, is_train, req, in_data, out_data, aux):
        self.B.strided_slice(in_data[0], *self._bounds(in_data[0].shape), out_data[0], req[0])

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        # Reversing is its own inverse: the gradient is dy reversed.
        self.B.strided_slice(out_grad[0], *self._bounds(out_grad[0].shape), in_grad[0], req[0])
