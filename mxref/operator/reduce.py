"""Reductions (sum, mean, prod, max, min, norm, argmax, argmin) and matrix products (dot,
batch_dot)."""
import numpy as np

from .base import Operator, register, shape_str
from .params import Param

__all__ = ['Reduce', 'Norm', 'ArgReduce', 'Dot', 'BatchDot', 'reduce_axes']


def reduce_axes(op, ndim, axis, exclude):
    """The sorted tuple of axes ``axis`` names (all for None/()), or all others if ``exclude``."""
    if axis is None or axis == ():
        axes = tuple(range(ndim))
        return () if exclude else axes
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    normalised = []
    for a in axes:
        if not -ndim <= a < ndim:
            op.fail('axis %d is out of range for an input of %d dimensions' % (a, ndim))
        normalised.append(a % ndim)
    if len(set(normalised)) != len(normalised):
        op.fail('axis %s lists an axis twice' % (axis,))
    if exclude:
        return tuple(i for i in range(ndim) if i not in normalised)
    return tuple(sorted(normalised))


def reduced_shape(shape, axes, keepdims):
    if keepdims:
        return tuple(1 if i in axes else n for i, n in enumerate(shape))
    out = tuple(n for i, n in enumerate(shape) if i not in axes)
    return out


# kind: (gradient formula with x, y (kept dims), dy (kept dims), n = elements reduced)
REDUCE_GRADS = {
    'sum': 'dy',
    'mean': 'dy / n',
    'prod': 'dy * y / x',
    'max': 'dy * (x == y)',
    'min': 'dy * (x == y)',
    'nansum': 'dy * (x == x)',
    'nanprod': 'where(x == x, dy * y / x, 0)',
}


class Reduce(Operator):
    """Reduces over ``axis`` (all axes when None/()), or over all others with ``exclude``."""
    params = (Param('axis', 'axis', None), Param('keepdims', 'bool', False),
              Param('exclude', 'bool', False))
    kind = None

    def infer_shape(self, in_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None], []
        axes = reduce_axes(self, len(data), self.axis, self.exclude)
        out = reduced_shape(data, axes, self.keepdims)
        return in_shapes, [out if out else (1,)], []

    def forward(self, is_train, req, in_data, out_data, aux):
        x = in_data[0]
        axes = reduce_axes(self, x.ndim, self.axis, self.exclude)
        self.B.reduce(self.kind, x, axes, out_data[0], req[0])

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        B, x = self.B, in_data[0]
        axes = reduce_axes(self, x.ndim, self.axis, self.exclude)
        kept = reduced_shape(x.shape, axes, True)
        count = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
        B.elementwise(REDUCE_GRADS[self.kind], in_grad[0], req[0], x=x,
                      y=B.reshape(out_data[0], kept), dy=B.reshape(out_grad[0], kept), n=count)


for _kind, _aliases in (('sum', ('sum_axis',)), ('mean', ()), ('prod', ()), ('max', ('max_axis',)),
                        ('min', ('min_axis',)), ('nansum', ()), ('nanprod', ())):
    register(type(_kind, (Reduce,), {
        'op_name': _kind, 'aliases': _aliases, 'kind': _kind, '__module__': __name__,
        '__doc__': ('The %s of the elements over ``axis``.\n\nGradient: ``dx = %s`` (y and '
                    'dy broadcast back over the reduced axes).\n\nParameters\n----------\n'
                    'data : NDArray or Symbol\naxis : int, tuple or None\nkeepdims : bool\n'
                    'exclude : bool\n' % (_kind, REDUCE_GRADS[_kind]))}))


@register
class Norm(Reduce):
    """The L2 (``ord=2``) or L1 norm over ``axis``.
    Gradients: ``dx = dy·x/y`` (L2), ``dx = dy·sign(x)`` (L1)."""
    op_name = 'norm'
    params = (Param('ord', 'int', 2), Param('axis', 'axis', None),
              Param('out_dtype', 'dtype?', None), Param('keepdims', 'bool', False))
    exclude = False

    def infer_type(self, in_types):
        in_types, out_types, aux = super().infer_type(in_types)
        return in_types, [self.out_dtype or out_types[0]], aux

    def setup(self):
        if self.ord not in (1, 2):
            self.fail('ord must be 1 or 2, got %d' % self.ord)

    def forward(self, is_train, req, in_data, out_data, aux):
        x = in_data[0]
        self.B.norm(x, self.ord, reduce_axes(self, x.ndim, self.axis, False), out_data[0], req[0])

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        B, x = self.B, in_data[0]
        kept = reduced_shape(x.shape, reduce_axes(self, x.ndim, self.axis, False), True)
        expr = 'dy * where(y == 0, 0, x / y)' if self.ord == 2 else 'dy * sign(x)'
        B.elementwise(expr, in_grad[0], req[0], x=x, y=B.reshape(out_data[0], kept),
                      dy=B.reshape(out_grad[0], kept))


class ArgReduce(Operator):
    """Index of the largest/smallest element along ``axis`` (the flattened input when None),
    in the input's dtype (float32 indices for float32 data), as MXNet.  No gradient flows
    through an index."""
    params = (Param('axis', 'int?', None), Param('keepdims', 'bool', False))
    kind = None

    def infer_shape(self, in_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None], []
        if 0 in data:
            self.fail('cannot take the index of the extreme of an empty input %s'
                      % shape_str(data))
        if self.axis is None:
            return in_shapes, [(1,) * len(data) if self.keepdims else (1,)], []
        axes = reduce_axes(self, len(data), self.axis, False)
        out = reduced_shape(data, axes, self.keepdims)
        return in_shapes, [out if out else (1,)], []

    def forward(self, is_train, req, in_data, out_data, aux):
        x = in_data[0]
        axis = None if self.axis is None else self.axis % x.ndim
        self.B.argreduce(self.kind, x, axis, out_data[0], req[0])

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        self.B.store(in_grad[0], 0, req[0])


for _kind in ('argmax', 'argmin'):
    register(type(_kind, (ArgReduce,), {'op_name': _kind, 'kind': _kind,
                                        '__module__': __name__, '__doc__': ArgReduce.__doc__}))


# ----------------------------------------------------------------------------------------------
# matrix products
# ----------------------------------------------------------------------------------------------
@register
class Dot(Operator):
    """Matrix product ``y = op(a) · op(b)``, op transposing when asked.

    N-D inputs are seen as matrices: ``a`` as (prod of all but its last axis, last axis), ``b``
    as (first axis, prod of the rest); ``transpose_a`` contracts ``a``'s first axis instead and
    ``transpose_b`` ``b``'s last.  Gradients: ``da = dy · op(b)ᵀ``, ``db = op(a)ᵀ · dy``
    (transposed back when the input was transposed).
    """
    op_name = 'dot'
    arguments = ('lhs', 'rhs')
    params = (Param('transpose_a', 'bool', False), Param('transpose_b', 'bool', False),
              Param('forward_stype', 'str?', None))

    def _matrices(self, lhs, rhs):
        """(a as 2-D, b as 2-D, output shape) for the input shapes."""
        if self.transpose_a:
            a2 = (lhs[0], int(np.prod(lhs[1:], dtype=np.int64)))
            a_free = tuple(lhs[1:])
        else:
            a2 = (int(np.prod(lhs[:-1], dtype=np.int64)), lhs[-1])
            a_free = tuple(lhs[:-1])
        if self.transpose_b:
            b2 = (int(np.prod(rhs[:-1], dtype=np.int64)), rhs[-1])
            b_free = tuple(rhs[:-1])
        else:
            b2 = (rhs[0], int(np.prod(rhs[1:], dtype=np.int64)))
            b_free = tuple(rhs[1:])
        k_a = a2[0] if self.transpose_a else a2[1]
        k_b = b2[1] if self.transpose_b else b2[0]
        if k_a != k_b:
            self.fail('shapes %s and %s do not match (transpose_a=%s, transpose_b=%s)'
                      % (shape_str(lhs), shape_str(rhs), self.transpose_a, self.transpose_b))
        out = a_free + b_free
        return a2, b2, out if out else (1,)

    def infer_shape(self, in_shapes):
        lhs, rhs = in_shapes
        if lhs is None or rhs is None:
            return in_shapes, [None], []
        if len(lhs) == 0 or len(rhs) == 0:
            self.fail('inputs must have at least one dimension')
        return in_shapes, [self._matrices(lhs, rhs)[2]], []

    def forward(self, is_train, req, in_data, out_data, aux):
        B = self.B
        a2, b2, _ = self._matrices(in_data[0].shape, in_data[1].shape)
        a, b = B.reshape(in_data[0], a2), B.reshape(in_data[1], b2)
        rows = a2[1] if self.transpose_a else a2[0]
        cols = b2[0] if self.transpose_b else b2[1]
        B.gemm(a, b, B.reshape(out_data[0], (rows, cols)), req[0],
               trans_a=self.transpose_a, trans_b=self.transpose_b)

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        B = self.B
        a2, b2, _ = self._matrices(in_data[0].shape, in_data[1].shape)
        a, b = B.reshape(in_data[0], a2), B.reshape(in_data[1], b2)
        rows = a2[1] if self.transpose_a else a2[0]
        cols = b2[0] if self.transpose_b else b2[1]
        dy = B.reshape(out_grad[0], (rows, cols))
        da, db = B.reshape(in_grad[0], a2), B.reshape(in_grad[1], b2)
        # y = A·Bm with A = op(a), Bm = op(b):  dA = dy·Bmᵀ, dBm = Aᵀ·dy
        if self.transpose_a:                      # a = Aᵀ: da = (dy·Bmᵀ)ᵀ = Bm·dyᵀ
            B.gemm(b, dy, da, req[0], trans_a=self.transpose_b, trans_b=True)
        else:
            B.gemm(dy, b, da, req[0], trans_b=not self.transpose_b)
        if self.transpose_b:                      # b = Bmᵀ: db = (Aᵀ·dy)ᵀ = dyᵀ·A
            B.gemm(dy, a, db, req[1], trans_a=True, trans_b=self.transpose_a)
        else:
            B.gemm(a, dy, db, req[1], trans_a=not self.transpose_a)


@register
class BatchDot(Operator):
    """Batched matrix product of 3-D arrays: ``y[i] = op(a[i]) · op(b[i])``.
    Gradients as :class:`Dot`, per batch element."""
    op_name = 'batch_dot'
    arguments = ('lhs', 'rhs')
    params = (Param('transpose_a', 'bool', False), Param('transpose_b', 'bool', False),
              Param('forward_stype', 'str?', None))

    def infer_shape(self, in_shapes):
        lhs, rhs = in_shapes
        if lhs is None or rhs is None:
            return in_shapes, [None], []
        if len(lhs) != 3 or len(rhs) != 3:
            self.fail('inputs must be 3-D, got %s and %s' % (shape_str(lhs), shape_str(rhs)))
        m, k = (lhs[2], lhs[1]) if self.transpose_a else (lhs[1], lhs[2])
        k2, n = (rhs[2], rhs[1]) if self.transpose_b else (rhs[1], rhs[2])
        if lhs[0] != rhs[0] or k != k2:
            self.fail('shapes %s and %s do not match (transpose_a=%s, transpose_b=%s)'
                      % (shape_str(lhs), shape_str(rhs), self.transpose_a, self.transpose_b))
        return in_shapes, [(lhs[0], m, n)], []

    def forward(self, is_train, req, in_data, out_data, aux):
        self.B.gemm(in_data[0], in_data[1], out_data[0], req[0],
                    trans_a=self.transpose_a, trans_b=self.transpose_b)

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        B = self.B
        a, b, dy = in_data[0], in_data[1], out_grad[0]
        if self.transpose_a:
            B.gemm(b, dy, in_grad[0], req[0], trans_a=self.transpose_b, trans_b=True)
        else:
            B.gemm(dy, b, in_grad[0], req[0], trans_b=not self.transpose_b)
        if self.transpose_b:
            B.gemm(dy, a, in_grad[1], req[1], trans_a=True, trans_b=self.transpose_a)
        else:
            B.gemm(a, dy, in_grad[1], req[1], trans_a=not self.transpose_a)
