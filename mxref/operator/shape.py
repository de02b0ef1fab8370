"""Operators that move data without arithmetic: reshape, transpose, slicing, joining,
splitting, tiling, gathering (take, pick, one_hot, Embedding's cousin) and where."""
import numpy as np

from ..base import MXNetValueError
from .base import Operator, register, shape_str, merge_shapes
from .nn import flat2d
from .params import Param

__all__ = ['infer_reshape', 'Reshape', 'Flatten', 'Transpose', 'SwapAxis', 'ExpandDims',
           'Squeeze', 'Slice', 'SliceAxis', 'Concat', 'Stack', 'SliceChannel', 'Tile',
           'Repeat', 'Take', 'Pick', 'OneHot', 'Where']


def _size(shape):
    return int(np.prod(shape, dtype=np.int64))


def _without(shape, axis):
    """``shape`` with the size along ``axis`` replaced by 0 (unknown)."""
    return _with(shape, axis, 0)


def _with(shape, axis, size):
    """``shape`` with ``size`` along ``axis``."""
    return tuple(shape[:axis]) + (size,) + tuple(shape[axis + 1:])


def infer_reshape(src, spec, reverse=False, who='Reshape', partial=False):
    """The output shape of MXNet's ``reshape(shape=spec)`` applied to shape ``src``.

    Codes in ``spec``: ``0`` copies the input dimension, ``-1`` is inferred from the rest,
    ``-2`` copies all remaining input dimensions, ``-3`` merges two consecutive input
    dimensions, ``-4, a, b`` splits one input dimension into ``a·b`` (one may be -1).
    ``reverse`` applies the codes from the right.  With ``partial``, a 0 in ``src`` is an
    unknown size; output sizes that depend on one are 0 (unknown) too.

    >>> infer_reshape((0, 3, 2), (-1, 6), partial=True)
    (0, 6)
    >>> infer_reshape((2, 3, 4), (-4, 1, 2, -3))
    (1, 2, 12)
    >>> infer_reshape((2, 3, 4), (0, -1))
    (2, 12)
    """
    src, spec = tuple(src), tuple(spec)
    if reverse:
        return tuple(reversed(infer_reshape(tuple(reversed(src)), tuple(reversed(spec)),
                                            False, who, partial)))
    unknown = partial and 0 in src      # then a size computed from an unknown one is 0 too

    def bad(message):
        raise MXNetValueError('%s: cannot reshape %s to %s: %s' % (who, src, spec, message))

    out, infer_at, i, j = [], None, 0, 0
    while j < len(spec):
        code = spec[j]
        if code == 0:
            if i >= len(src):
                bad('0 refers past the last input dimension')
            out.append(src[i])
            i += 1
        elif code == -1:
            if infer_at is not None:
                bad('only one dimension can be -1')
            infer_at = len(out)
            out.append(1)
            i += 1
        elif code == -2:
            out.extend(src[i:])
            i = len(src)
        elif code == -3:
            if i + 1 >= len(src):
                bad('-3 needs two input dimensions')
            out.append(src[i] * src[i + 1])
            i += 2
        elif code == -4:
            if j + 2 >= len(spec) or i >= len(src):
                bad('-4 must be followed by two sizes and refer to an input dimension')
            first, second = spec[j + 1], spec[j + 2]
            total = src[i]
            if first == -1 and second == -1:
                bad('-4 allows at most one -1')
            first = total // second if first == -1 else first
            second = total // first if second == -1 else second
            if first * second != total and not (unknown and total == 0):
                bad('%d x %d does not split dimension %d' % (first, second, total))
            out.extend((first, second))
            i += 1
            j += 2
        elif code > 0:
            out.append(code)
            i += 1
        else:
            bad('unknown code %d' % code)
        j += 1
    if unknown:
        if infer_at is not None:
            out[infer_at] = 0
        return tuple(out)
    if infer_at is not None:
        rest = _size(out)
        if rest == 0 or _size(src) % rest:
            bad('the -1 dimension cannot be inferred')
        out[infer_at] = _size(src) // rest
    if _size(out) != _size(src):
        bad('sizes differ (%d elements vs %d)' % (_size(src), _size(out)))
    return tuple(out)


class _ReshapeBase(Operator):
    """A copy of the input with a new shape; the gradient is dy with the input's shape."""

    def forward(self, is_train, req, in_data, out_data, aux):
        self.B.store(out_data[0], self.B.reshape(in_data[0], out_data[0].shape), req[0])

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        self.B.store(in_grad[0], self.B.reshape(out_grad[0], in_grad[0].shape), req[0])

    def new_shape(self, data):
        raise NotImplementedError

    def infer_shape(self, in_shapes):
        data = in_shapes[0]
        return in_shapes, [None if data is None else self.new_shape(tuple(data))], []


@register
class Reshape(_ReshapeBase):
    """Gives the data a new shape with MXNet's special codes (see :func:`infer_reshape`)."""
    op_name = 'Reshape'
    aliases = ('reshape',)
    params = (Param('shape', 'shape', ()), Param('reverse', 'bool', False),
              Param('target_shape', 'shape', ()), Param('keep_highest', 'bool', False))

    accepts_partial = True

    def infer_shape(self, in_shapes, partial=False):
        data = in_shapes[0]
        return in_shapes, [None if data is None else self.new_shape(tuple(data), partial)], []

    def new_shape(self, data, partial=False):
        who = "Reshape '%s'" % self.name
        if self.shape:
            return infer_reshape(data, self.shape, self.reverse, who, partial)
        if not self.target_shape:
            self.fail('either shape or target_shape must be given')
        target = ((data[0],) if self.keep_highest else ()) + tuple(self.target_shape)
        spec = tuple(-1 if d == 0 else d for d in target)
        return infer_reshape(data, spec, False, who, partial)

    def infer_backward(self, what, in_values, out_values):
        """A known output gives the data's one unknown size (as MXNet does): the element
        count divided by the data's known sizes."""
        data, out = in_values[0], out_values[0]
        if what != 'shape' or data is None or out is None or 0 in out or list(data).count(0) != 1:
            return in_values
        known = _size([d for d in data if d])
        if _size(out) % known:
            self.fail('data %s cannot have %d elements, as the output %s does'
                      % (shape_str(data), _size(out), shape_str(out)))
        return [tuple(d or _size(out) // known for d in data)]


@register
class Flatten(_ReshapeBase):
    """Collapses all axes but the first: (n, d1, d2, ...) -> (n, d1·d2·...)."""
    op_name = 'Flatten'
    aliases = ('flatten',)

    def new_shape(self, data):
        if len(data) == 0:
            self.fail('data must have at least one dimension')
        return flat2d(data) if len(data) > 1 else (data[0], 1)


@register
class ExpandDims(_ReshapeBase):
    """Inserts an axis of size 1 at position ``axis``."""
    op_name = 'expand_dims'
    params = (Param('axis', 'int'),)

    def new_shape(self, data):
        ndim = len(data) + 1
        if not -ndim <= self.axis < ndim:
            self.fail('axis %d is out of range for output of %d dimensions' % (self.axis, ndim))
        axis = self.axis % ndim
        return data[:axis] + (1,) + data[axis:]


@register
class Squeeze(_ReshapeBase):
    """Removes axes of size 1 (those in ``axis``, or all of them)."""
    op_name = 'squeeze'
    params = (Param('axis', 'axis', None),)

    def new_shape(self, data):
        if self.axis is None:
            axes = [i for i, n in enumerate(data) if n == 1]
        else:
            axes = [self.check_axis(a, len(data)) for a in ((self.axis,) if isinstance(self.axis, int)
                                            else self.axis)]
            for a in axes:
                if data[a] != 1:
                    self.fail('axis %d has size %d, not 1' % (a, data[a]))
        out = tuple(n for i, n in enumerate(data) if i not in axes)
        return out if out else (1,)


@register
class Transpose(Operator):
    """Permutes the axes: output axis i is input axis ``axes[i]`` (reversed when empty).
    Gradient: dy permuted by the inverse permutation."""
    op_name = 'transpose'
    params = (Param('axes', 'shape', ()),)

    def _axes(self, ndim):
        if not self.axes:
            return tuple(reversed(range(ndim)))
        if len(self.axes) != ndim or sorted(self.check_axis(a, ndim, 'axes entry')
                                            for a in self.axes) != list(range(ndim)):
            self.fail('axes %s is not a permutation of %d axes' % (self.axes, ndim))
        return tuple(a % ndim for a in self.axes)

    def infer_shape(self, in_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None], []
        return in_shapes, [tuple(data[a] for a in self._axes(len(data)))], []

    def forward(self, is_train, req, in_data, out_data, aux):
        self.B.transpose(in_data[0], self._axes(in_data[0].ndim), out_data[0], req[0])

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        axes = self._axes(in_data[0].ndim)
        inverse = tuple(int(i) for i in np.argsort(axes))
        self.B.transpose(out_grad[0], inverse, in_grad[0], req[0])


@register
class SwapAxis(Transpose):
    """Exchanges axes ``dim1`` and ``dim2``."""
    op_name = 'SwapAxis'
    aliases = ('swapaxes',)
    params = (Param('dim1', 'int', 0), Param('dim2', 'int', 0))

    def _axes(self, ndim):
        axes = list(range(ndim))
        for d in (self.dim1, self.dim2):
            if not -ndim <= d < ndim:
                self.fail('axis %d is out of range for %d dimensions' % (d, ndim))
        a, b = self.dim1 % ndim, self.dim2 % ndim
        axes[a], axes[b] = axes[b], axes[a]
        return tuple(axes)


@register
class Slice(Operator):
    """``y = x[begin:end:step]`` per axis (None: the whole axis; axes beyond ``begin``'s length
    are kept whole).  Gradient: dy scattered into zeros at the slice."""
    op_name = 'slice'
    aliases = ('crop',)
    params = (Param('begin', 'tuple'), Param('end', 'tuple'), Param('step', 'tuple', ()))

    def _bounds(self, shape):
        if len(self.begin) != len(self.end) or (self.step and len(self.step) != len(self.begin)):
            self.fail('begin %s, end %s and step %s must have the same length'
                      % (self.begin, self.end, self.step))
        if len(self.begin) > len(shape):
            self.fail('begin %s has more axes than the data %s' % (self.begin, shape_str(shape)))
        begin, end, step = [], [], []
        for axis, size in enumerate(shape):
            if axis < len(self.begin):
                s = self.step[axis] if self.step and self.step[axis] is not None else 1
                if s == 0:
                    self.fail('step cannot be 0')
                b, e, s = slice(self.begin[axis], self.end[axis], s).indices(size)
            else:
                b, e, s = 0, size, 1
            begin.append(b)
            end.append(None if e < 0 else e)
            step.append(s)
        return tuple(begin), tuple(end), tuple(step)

    def infer_shape(self, in_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None], []
        begin, end, step = self._bounds(data)
        out = tuple(len(range(*slice(b, e, s).indices(n)))
                    for b, e, s, n in zip(begin, end, step, data))
        return in_shapes, [out], []

    def forward(self, is_train, req, in_data, out_data, aux):
        self.B.strided_slice(in_data[0], *self._bounds(in_data[0].shape), out_data[0], req[0])

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        self.B.strided_slice_backward(out_grad[0], *self._bounds(in_data[0].shape), in_grad[0],
                                      req[0])


@register
class SliceAxis(Slice):
    """``y = x[..., begin:end, ...]`` along ``axis`` (``end=None``: to the end)."""
    op_name = 'slice_axis'
    params = (Param('axis', 'int'), Param('begin', 'int'), Param('end', 'int?', None))

    def _bounds(self, shape):
        if not -len(shape) <= self.axis < len(shape):
            self.fail('axis %d is out of range for data %s' % (self.axis, shape_str(shape)))
        axis = self.axis % len(shape)
        begin = [0] * len(shape)
        end = list(shape)
        b, e, _ = slice(self.begin, self.end).indices(shape[axis])
        if b >= e:
            self.fail('begin %d and end %s select nothing of axis %d (size %d): slice_axis '
                      'needs begin < end, as in MXNet (slice allows an empty range)'
                      % (self.begin, self.end, axis, shape[axis]))
        begin[axis], end[axis] = b, e
        return tuple(begin), tuple(end), (1,) * len(shape)


@register
class Concat(Operator):
    """Joins ``num_args`` arrays along ``dim``.  Gradient: dy cut back into the pieces."""
    op_name = 'Concat'
    aliases = ('concat',)
    params = (Param('num_args', 'int'), Param('dim', 'int', 1))
    num_args_param = 'num_args'

    def list_arguments(self):
        return ['arg%d' % i for i in range(self.num_args)]

    accepts_partial = True

    def infer_shape(self, in_shapes, partial=False):
        known = [s for s in in_shapes if s is not None]
        if not known or (len(known) < len(in_shapes) and not partial):
            return in_shapes, [None], []
        ndim = len(known[0])
        if not -ndim <= self.dim < ndim:
            self.fail('dim %d is out of range for inputs of %d dimensions' % (self.dim, ndim))
        dim = self.dim % ndim
        if not partial:
            for shape in known:
                if len(shape) != ndim or any(a != b for i, (a, b) in
                                             enumerate(zip(shape, known[0])) if i != dim):
                    self.fail('inputs must agree on every axis but %d, got %s'
                              % (dim, ', '.join(shape_str(s) for s in in_shapes)))
            out = list(known[0])
            out[dim] = sum(s[dim] for s in known)
            return in_shapes, [tuple(out)], []
        # Partial: the inputs share every axis but ``dim`` (merged, 0 where unknown); the
        # output's ``dim`` is their sum once every input's size along it is known.
        common = None
        for i, shape in enumerate(in_shapes):
            if shape is not None:
                common = merge_shapes(common, _without(shape, dim), self, 'arg%d' % i)
        shapes = [_with(common, dim, 0) if s is None else _with(common, dim, s[dim])
                  for s in in_shapes]
        sizes = [s[dim] for s in shapes]
        return shapes, [_with(common, dim, 0 if 0 in sizes else sum(sizes))], []

    def infer_backward(self, what, in_values, out_values):
        """The output gives the shared axes and, when only one input's size along ``dim`` is
        unknown, that size (the output's minus the others')."""
        out = out_values[0]
        if what != 'shape' or out is None or any(s is None for s in in_values):
            return in_values
        dim = self.dim % len(out)
        shapes = [_with(merge_shapes(_without(s, dim), _without(out, dim), self, 'arg%d' % i),
                        dim, s[dim]) for i, s in enumerate(in_values)]
        unknown = [i for i, s in enumerate(shapes) if s[dim] == 0]
        if len(unknown) == 1 and out[dim]:
            rest = out[dim] - sum(s[dim] for s in shapes)
            if rest <= 0:
                self.fail('output has %d along dim %d, the other inputs already %d'
                          % (out[dim], dim, out[dim] - rest))
            shapes[unknown[0]] = _with(shapes[unknown[0]], dim, rest)
        return shapes

    def forward(self, is_train, req, in_data, out_data, aux):
        self.B.concat(in_data, self.dim % in_data[0].ndim, out_data[0], req[0])

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        self.B.split(out_grad[0], self.dim % out_grad[0].ndim, in_grad, req)


@register
class Stack(Operator):
    """Stacks ``num_args`` arrays of one shape along a new axis ``axis``."""
    op_name = 'stack'
    params = (Param('axis', 'int', 0), Param('num_args', 'int'))
    num_args_param = 'num_args'

    def list_arguments(self):
        return ['arg%d' % i for i in range(self.num_args)]

    def _axis(self, ndim):
        if not -(ndim + 1) <= self.axis <= ndim:
            self.fail('axis %d is out of range for inputs of %d dimensions' % (self.axis, ndim))
        return self.axis % (ndim + 1)

    def infer_shape(self, in_shapes):
        in_shapes, outs, _ = Operator.infer_shape(self, in_shapes)
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None], []
        axis = self._axis(len(data))
        return in_shapes, [tuple(data[:axis]) + (len(in_shapes),) + tuple(data[axis:])], []

    def _pieces(self, buffers, ndim):
        axis = self._axis(ndim)
        return [self.B.reshape(b, b.shape[:axis] + (1,) + b.shape[axis:]) for b in buffers], axis

    def forward(self, is_train, req, in_data, out_data, aux):
        pieces, axis = self._pieces(in_data, in_data[0].ndim)
        self.B.concat(pieces, axis, out_data[0], req[0])

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        pieces, axis = self._pieces(in_grad, in_data[0].ndim)
        self.B.split(out_grad[0], axis, pieces, req)


@register
class SliceChannel(Operator):
    """Cuts the data into ``num_outputs`` equal parts along ``axis`` (removing the axis when
    ``squeeze_axis`` and the parts have size 1).  Gradient: the pieces' gradients joined."""
    op_name = 'SliceChannel'
    aliases = ('split',)
    params = (Param('num_outputs', 'int'), Param('axis', 'int', 1),
              Param('squeeze_axis', 'bool', False))

    def list_outputs(self):
        return ['output%d' % i for i in range(self.num_outputs)]

    def infer_shape(self, in_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None] * self.num_outputs, []
        if not -len(data) <= self.axis < len(data):
            self.fail('axis %d is out of range for data %s' % (self.axis, shape_str(data)))
        axis = self.axis % len(data)
        if data[axis] % self.num_outputs:
            self.fail('axis %d of data %s (size %d) does not split into %d equal parts'
                      % (axis, shape_str(data), data[axis], self.num_outputs))
        part = data[axis] // self.num_outputs
        if self.squeeze_axis and part != 1:
            self.fail('squeeze_axis needs parts of size 1, got %d' % part)
        out = (tuple(data[:axis]) + tuple(data[axis + 1:]) if self.squeeze_axis
               else tuple(data[:axis]) + (part,) + tuple(data[axis + 1:]))
        return in_shapes, [out] * self.num_outputs, []

    def _pieces(self, buffers, data_shape):
        axis = self.axis % len(data_shape)
        part = data_shape[axis] // self.num_outputs
        shape = tuple(data_shape[:axis]) + (part,) + tuple(data_shape[axis + 1:])
        return [self.B.reshape(b, shape) for b in buffers], axis

    def forward(self, is_train, req, in_data, out_data, aux):
        pieces, axis = self._pieces(out_data, in_data[0].shape)
        self.B.split(in_data[0], axis, pieces, req)

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        pieces, axis = self._pieces(out_grad, in_data[0].shape)
        self.B.concat(pieces, axis, in_grad[0], req[0])


@register
class Tile(Operator):
    """Repeats the whole array ``reps`` times along each axis (NumPy's ``tile``).
    Gradient: the sum of dy over the copies."""
    op_name = 'tile'
    params = (Param('reps', 'shape'),)

    def _layout(self, data):
        ndim = max(len(data), len(self.reps))
        data = (1,) * (ndim - len(data)) + tuple(data)
        reps = (1,) * (ndim - len(self.reps)) + tuple(self.reps)
        return data, reps

    def infer_shape(self, in_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None], []
        data, reps = self._layout(data)
        return in_shapes, [tuple(d * r for d, r in zip(data, reps))], []

    def forward(self, is_train, req, in_data, out_data, aux):
        self.B.tile(in_data[0], self._layout(in_data[0].shape)[1], out_data[0], req[0])

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        data, reps = self._layout(in_data[0].shape)
        split = tuple(x for pair in zip(reps, data) for x in pair)      # (r0, d0, r1, d1, ...)
        self.B.reduce('sum', self.B.reshape(out_grad[0], split), tuple(range(0, len(split), 2)),
                      in_grad[0], req[0])


@register
class Repeat(Operator):
    """Repeats each element ``repeats`` times along ``axis`` (the flattened array when None).
    Gradient: the sum of dy over each element's copies."""
    op_name = 'repeat'
    params = (Param('repeats', 'int'), Param('axis', 'int?', None))

    def infer_shape(self, in_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None], []
        if self.axis is None:
            return in_shapes, [(_size(data) * self.repeats,)], []
        axis = self.check_axis(self.axis, len(data))
        out = list(data)
        out[axis] *= self.repeats
        return in_shapes, [tuple(out)], []

    def forward(self, is_train, req, in_data, out_data, aux):
        self.B.repeat(in_data[0], self.repeats, self.axis, out_data[0], req[0])

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        shape = in_data[0].shape
        if self.axis is None:
            split, axis = (_size(shape), self.repeats), 1
        else:
            a = self.axis % len(shape)
            split, axis = tuple(shape[:a + 1]) + (self.repeats,) + tuple(shape[a + 1:]), a + 1
        self.B.reduce('sum', self.B.reshape(out_grad[0], split), (axis,), in_grad[0], req[0])


@register
class Take(Operator):
    """Gathers slices of ``a`` along ``axis`` at ``indices``:
    out shape ``a.shape[:axis] + indices.shape + a.shape[axis+1:]``.  ``mode`` 'clip' or
    'wrap' handles out-of-range indices.  Gradient: dy scatter-added back; none for indices."""
    op_name = 'take'
    arguments = ('a', 'indices')
    params = (Param('axis', 'int', 0), Param('mode', 'str', 'clip', choices=('clip', 'wrap', 'raise')))

    def infer_shape(self, in_shapes):
        a, idx = in_shapes
        if a is None or idx is None:
            return in_shapes, [None], []
        axis = self.check_axis(self.axis, len(a))
        return in_shapes, [tuple(a[:axis]) + tuple(idx) + tuple(a[axis + 1:])], []

    def infer_type(self, in_types):
        return [in_types[0], in_types[1]], [in_types[0]], []

    def forward(self, is_train, req, in_data, out_data, aux):
        a = in_data[0]
        self.B.take(a, in_data[1], self.axis % a.ndim, self.mode, out_data[0], req[0])

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        a = in_data[0]
        self.B.take_backward(out_grad[0], in_data[1], self.axis % a.ndim, self.mode,
                             in_grad[0], req[0])
        self.B.store(in_grad[1], 0, req[1])


@register
class Pick(Operator):
    """Picks one element along ``axis`` per position: ``y[i, j] = x[i, index[i, j], j]``.
    Gradient: dy placed at the picked positions; none for the index."""
    op_name = 'pick'
    arguments = ('data', 'index')
    params = (Param('axis', 'int?', -1), Param('keepdims', 'bool', False),
              Param('mode', 'str', 'clip', choices=('clip', 'wrap')))

    def infer_type(self, in_types):
        return [in_types[0], in_types[1]], [in_types[0]], []     # the index may be integer

    def infer_shape(self, in_shapes):
        data, index = in_shapes
        if data is None:
            return in_shapes, [None], []
        axis = self.check_axis(self.axis, len(data))
        kept = tuple(1 if i == axis else n for i, n in enumerate(data))
        out = kept if self.keepdims else tuple(n for i, n in enumerate(data) if i != axis)
        shapes = list(in_shapes)
        if index is None:
            shapes[1] = out
        elif _size(index) != _size(kept):
            self.fail('index shape %s does not match data %s along axis %d'
                      % (shape_str(index), shape_str(data), axis))
        return shapes, [out if out else (1,)], []

    def forward(self, is_train, req, in_data, out_data, aux):
        x = in_data[0]
        self.B.pick(x, in_data[1], self.axis % x.ndim, self.mode, out_data[0], req[0])

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        x = in_data[0]
        self.B.pick_backward(out_grad[0], in_data[1], self.axis % x.ndim, self.mode,
                             in_grad[0], req[0])
        self.B.store(in_grad[1], 0, req[1])


@register
class OneHot(Operator):
    """``y[..., k] = on_value if k == indices[...] else off_value``, k < depth."""
    op_name = 'one_hot'
    arguments = ('indices',)
    params = (Param('depth', 'int'), Param('on_value', 'float', 1.0),
              Param('off_value', 'float', 0.0), Param('dtype', 'dtype', np.dtype(np.float32)))

    def setup(self):
        if self.depth < 0:
            self.fail('depth must be >= 0, got %d' % self.depth)

    def infer_shape(self, in_shapes):
        idx = in_shapes[0]
        return in_shapes, [None if idx is None else tuple(idx) + (self.depth,)], []

    def infer_type(self, in_types):
        return [in_types[0]], [self.dtype], []

    def forward(self, is_train, req, in_data, out_data, aux):
        self.B.one_hot(in_data[0], self.depth, self.on_value, self.off_value, out_data[0])

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        self.B.store(in_grad[0], 0, req[0])


@register
class Where(Operator):
    """``y = x where condition != 0 else y``; a 1-D condition selects whole rows.
    Gradients: ``dx = dy·(c != 0)``, ``dy_ = dy·(c == 0)``, none for the condition."""
    op_name = 'where'
    arguments = ('condition', 'x', 'y')

    def infer_shape(self, in_shapes):
        cond, x, y = in_shapes
        shape = x if x is not None else y
        if shape is None:
            return in_shapes, [None], []
        shapes = [cond, tuple(shape), tuple(shape)]
        if x is not None and y is not None and tuple(x) != tuple(y):
            self.fail('x %s and y %s must have the same shape' % (shape_str(x), shape_str(y)))
        if cond is not None and tuple(cond) != tuple(shape) and tuple(cond) != (shape[0],):
            self.fail('condition %s must have the shape of x %s or be (%d,)'
                      % (shape_str(cond), shape_str(shape), shape[0]))
        if cond is None:
            shapes[0] = tuple(shape)
        return shapes, [tuple(shape)], []

    def infer_type(self, in_types):
        dtype = in_types[1] if in_types[1] is not None else in_types[2]
        return [in_types[0] or dtype, dtype, dtype], [dtype], []

    def _cond(self, cond, ndim):
        return self.B.reshape(cond, cond.shape + (1,) * (ndim - cond.ndim))

    def forward(self, is_train, req, in_data, out_data, aux):
        cond, x, y = in_data
        self.B.elementwise('where(c != 0, x, y)', out_data[0], req[0],
                           c=self._cond(cond, x.ndim), x=x, y=y)

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        cond, x, _ = in_data
        c = self._cond(cond, x.ndim)
        self.B.store(in_grad[0], 0, req[0])
        self.B.elementwise('dy * (c != 0)', in_grad[1], req[1], dy=out_grad[0], c=c)
        self.B.elementwise('dy * (c == 0)', in_grad[2], req[2], dy=out_grad[0], c=c)
