"""Ordering operators: ``topk``, ``sort`` and ``argsort``.

They run on the CPU only (``gpu_kernel = False``): on a GPU context they raise an error naming
the operator.

Tie order
---------
MXNet 1.9.1 orders each line with the C++ standard library of its build (GCC's libstdc++):
``std::sort`` when ``8·k > n`` (always for ``sort`` and ``argsort``), else
``std::partial_sort`` for the first k, comparing values only.  Neither is stable, so which of
several equal values comes first (the indices returned, and where ``sort``'s gradient goes)
depends on the steps of those algorithms.  :func:`libstdcxx_order` repeats those steps, so
ties come out in MXNet's order.  A line without equal values (and without NaN) has one
answer whatever the algorithm, and takes NumPy's sort instead, which is much faster.
"""
import numpy as np

from .base import Operator, register, shape_str
from .params import Param

__all__ = ['TopK', 'Sort', 'ArgSort', 'libstdcxx_order']

_INDEX_DTYPES = ('float16', 'float32', 'float64', 'int32', 'int64', 'uint8')
_INSERTION_THRESHOLD = 16           # libstdc++'s _S_threshold


# ----------------------------------------------------------------------------------------------
# libstdc++'s sorting steps, on a list of positions ``a`` compared through ``before(i, j)``
# (true when the element at position i must come before the one at position j)
# ----------------------------------------------------------------------------------------------
def _sift_down(a, first, hole, length, value, before):
    """Move the hole at ``hole`` down to a leaf along the larger children, then put ``value``
    back in on its way up (libstdc++'s __adjust_heap followed by __push_heap)."""
    top = child = hole
    while child < (length - 1) // 2:
        child = 2 * (child + 1)
        if before(a[first + child], a[first + child - 1]):
            child -= 1
        a[first + hole] = a[first + child]
        hole = child
    if length % 2 == 0 and child == (length - 2) // 2:
        child = 2 * (child + 1)
        a[first + hole] = a[first + child - 1]
        hole = child - 1
    parent = (hole - 1) // 2
    while hole > top and before(a[first + parent], value):
        a[first + hole] = a[first + parent]
        hole = parent
        parent = (hole - 1) // 2
    a[first + hole] = value


def _heap_pop_into(a, first, last, result, before):
    """Put the heap's top at ``result`` and the element found there into the heap."""
    value = a[result]
    a[result] = a[first]
    _sift_down(a, first, 0, last - first, value, before)


def _partial_sort(a, first, middle, last, before):
    """The ``middle - first`` first elements of [first, last) in order, through a heap."""
    length = middle - first
    if length >= 2:                                         # make the heap
        parent = (length - 2) // 2
        while True:
            _sift_down(a, first, parent, length, a[first + parent], before)
            if parent == 0:
                break
            parent -= 1
    for i in range(middle, last):                           # keep the best ones in it
        if before(a[i], a[first]):
            _heap_pop_into(a, first, middle, i, before)
    while middle - first > 1:                               # and empty it in order
        middle -= 1
        _heap_pop_into(a, first, middle, middle, before)


def _insert_backwards(a, i, before, lowest):
    """Shift ``a[i]`` left while it comes before its neighbour (never past ``lowest``)."""
    value = a[i]
    j = i - 1
    while j >= lowest and before(value, a[j]):
        a[j + 1] = a[j]
        j -= 1
    a[j + 1] = value


def _insertion_sort(a, first, last, before):
    for i in range(first + 1, last):
        value = a[i]
        if before(value, a[first]):
            a[first + 1:i + 1] = a[first:i]
            a[first] = value
        else:
            _insert_backwards(a, i, before, first)


def _partition(a, first, last, before):
    """Median of three to ``first``, then the unguarded Hoare partition of [first+1, last)
    around it; returns the cut."""
    mid = first + (last - first) // 2
    x, y, z = first + 1, mid, last - 1
    if before(a[x], a[y]):
        pick = y if before(a[y], a[z]) else (z if before(a[x], a[z]) else x)
    else:
        pick = x if before(a[x], a[z]) else (z if before(a[y], a[z]) else y)
    a[first], a[pick] = a[pick], a[first]
    pivot, lo, hi = a[first], first + 1, last
    while True:
        while lo < last and before(a[lo], pivot):
            lo += 1
        hi -= 1
        while hi > first and before(pivot, a[hi]):
            hi -= 1
        if not lo < hi:
            return lo
        a[lo], a[hi] = a[hi], a[lo]
        lo += 1


def _introsort(a, first, last, depth, before):
    while last - first > _INSERTION_THRESHOLD:
        if depth == 0:
            _partial_sort(a, first, last, last, before)
            return
        depth -= 1
        cut = _partition(a, first, last, before)
        _introsort(a, cut, last, depth, before)
        last = cut


def _full_sort(a, before):
    n = len(a)
    if n < 2:
        return
    _introsort(a, 0, n, 2 * (n.bit_length() - 1), before)
    if n > _INSERTION_THRESHOLD:
        _insertion_sort(a, 0, _INSERTION_THRESHOLD, before)
        for i in range(_INSERTION_THRESHOLD, n):
            _insert_backwards(a, i, before, 0)
    else:
        _insertion_sort(a, 0, n, before)


def libstdcxx_order(values, k, ascending):
    """The positions of the first ``k`` elements of ``values`` (a 1-D sequence) in ascending
    or descending order, ties broken as MXNet 1.9.1 breaks them on the CPU: ``std::sort``
    when ``8·k > n``, else ``std::partial_sort``, with GCC's libstdc++ algorithms.

    >>> libstdcxx_order([5., 5., 0., 5.], 4, ascending=False)
    [0, 1, 3, 2]
    >>> libstdcxx_order([1.] * 17, 17, ascending=True)[:4]
    [8, 16, 15, 14]
    """
    v = [x.item() if hasattr(x, 'item') else x for x in values]
    if ascending:
        def before(i, j):
            return v[i] < v[j]
    else:
        def before(i, j):
            return v[i] > v[j]
    a = list(range(len(v)))
    if k * 8 > len(v):
        _full_sort(a, before)
    else:
        _partial_sort(a, 0, k, len(v), before)
    return a[:k]


def order_lines(lines, k, ascending):
    """``(m, k)`` int64 positions of the first k elements of each row of ``lines`` (m, n)."""
    m, n = lines.shape
    out = np.empty((m, k), np.int64)
    if m == 0 or k == 0:
        return out
    ordered = np.sort(lines, axis=1)
    simple = ~(np.any(ordered[:, 1:] == ordered[:, :-1], axis=1)
               | np.any(ordered != ordered, axis=1))            # no ties, no NaN
    if simple.any():
        ranks = np.argsort(lines[simple], axis=1, kind='stable')
        out[simple] = (ranks if ascending else ranks[:, ::-1])[:, :k]
    for row in np.flatnonzero(~simple):
        out[row] = libstdcxx_order(lines[row].tolist(), k, ascending)
    return out


# ----------------------------------------------------------------------------------------------
# the operators
# ----------------------------------------------------------------------------------------------
def _axis_param(doc):
    return Param('axis', 'int?', -1, doc=doc)


class _Ordering(Operator):
    """Shared part: the line geometry along ``axis`` (the flattened input when None)."""
    gpu_kernel = False
    ret_typ = 'value'
    k = 0

    def _axis(self, shape):
        """``axis`` counted from 0, or None; fails when it is out of range."""
        if self.axis is None:
            return None
        ndim = len(shape)
        if not -ndim <= self.axis < ndim:
            self.fail('axis=%d is out of range for data of shape %s: expected %d <= axis < %d'
                      % (self.axis, shape_str(shape), -ndim, ndim))
        return self.axis % ndim

    def _count(self, shape):
        """(elements per line, k resolved: all of them when k <= 0)."""
        axis = self._axis(shape)
        n = int(np.prod(shape, dtype=np.int64)) if axis is None else shape[axis]
        k = n if self.k <= 0 else self.k
        if k > n:
            self.fail('k=%d is larger than the %d elements %s of data %s: expected k <= %d '
                      '(k <= 0 takes them all)'
                      % (self.k, n, 'in all' if axis is None else 'along axis %d' % axis,
                         shape_str(shape), n))
        return n, k

    def _out_shape(self, shape):
        axis = self._axis(shape)
        _, k = self._count(shape)
        if axis is None:
            return (k,)
        return tuple(shape[:axis]) + (k,) + tuple(shape[axis + 1:])

    def _lines(self, x):
        """``x`` as (lines, n) with the ordering axis last, and the shape to undo it."""
        axis = self._axis(x.shape)
        if axis is None:
            return x.reshape(1, -1), None
        moved = np.moveaxis(x, axis, -1)
        lines = int(np.prod(moved.shape[:-1]))   # not -1: NumPy cannot infer it next to a 0
        return np.ascontiguousarray(moved).reshape(lines, x.shape[axis]), moved.shape[:-1]

    def _back(self, lines, moved_shape, axis):
        """Lines (m, k) back to the output layout."""
        if moved_shape is None:
            return lines.reshape(-1)
        return np.moveaxis(lines.reshape(moved_shape + (lines.shape[1],)), -1, axis)

    def _positions(self, x):
        """(positions (m, k) of the chosen elements in each line, lines, moved shape)."""
        lines, moved = self._lines(x)
        _, k = self._count(x.shape)
        return order_lines(lines, k, self.is_ascend), lines, moved

    def _scatter_grad(self, req, dy, index, in_grad):
        """in_grad (req)= dy put back at the positions ``index`` came from; zero elsewhere."""
        if req == 'null':
            return
        x_shape = in_grad.shape
        axis = self._axis(x_shape)
        dy_lines, _ = self._lines(np.asarray(dy))
        idx_lines, _ = self._lines(np.asarray(index).astype(np.int64))
        grad_lines = np.zeros((dy_lines.shape[0], self._count(x_shape)[0]), in_grad.dtype)
        np.put_along_axis(grad_lines, idx_lines, dy_lines, axis=1)
        if axis is None:
            grad = grad_lines.reshape(x_shape)
        else:
            moved = tuple(np.delete(np.array(x_shape), axis)) + (x_shape[axis],)
            grad = np.moveaxis(grad_lines.reshape(moved), -1, axis)
        self.B.store(in_grad, np.ascontiguousarray(grad), req)

    def infer_type(self, in_types):
        dtype = None if in_types[0] is None else np.dtype(in_types[0])
        return [dtype], [self._output_type(dtype, name) for name in self.list_outputs()], []

    def setup(self):
        dtype = getattr(self, 'dtype', None)
        if dtype is not None and dtype.name not in _INDEX_DTYPES:
            self.fail('dtype=%s is not a type for indices: expected one of %s'
                      % (dtype.name, ', '.join(_INDEX_DTYPES)))


@register
class TopK(_Ordering):
    r"""The k largest (or, with ``is_ascend``, smallest) elements along ``axis``: their values,
    their indices, both, or a mask marking them.

    Along each line of n elements through ``axis`` (the whole flattened input when ``axis`` is
    None), let :math:`p_1, \ldots, p_k` be the positions of the k largest elements, largest
    first (smallest first with ``is_ascend``).  Then

    .. math::

       value_j = x_{p_j}, \qquad indices_j = p_j, \qquad
       mask_i = 1 \text{ if } i \in \{p_1, \ldots, p_k\} \text{ else } 0.

    Equal elements are ordered as MXNet 1.9.1 orders them on the CPU (see
    :func:`~mxref.operator.ordering.libstdcxx_order`).  ``k <= 0`` takes all n elements.

    Shapes: ``data`` of any shape; ``value`` and ``indices`` have ``data``'s shape with k in
    place of n along ``axis`` (``(k,)`` when ``axis`` is None); ``mask`` has ``data``'s shape.
    ``value`` and ``mask`` have ``data``'s dtype, ``indices`` has ``dtype`` (float32 by
    default, as in MXNet).

    Gradient: with ``ret_typ`` 'value' or 'both', :math:`dx_{p_j} = dy_j` and
    :math:`dx_i = 0` at the positions not chosen (the gradient of ``indices`` is ignored);
    with 'indices' or 'mask', :math:`dx = 0`.

    CPU only: on a GPU context it raises an error naming the operator.

    Parameters
    ----------
    data : NDArray or Symbol
        The input.
    axis : int or None, default=-1
        The axis to search along; None searches the flattened input.
    k : int, default=1
        How many elements to take; k <= 0 takes all of them.
    ret_typ : {'value', 'indices', 'mask', 'both'}, default='indices'
        What to return; 'both' returns [value, indices].
    is_ascend : bool, default=False
        Take the smallest elements, smallest first, instead of the largest.
    dtype : {'float16', 'float32', 'float64', 'int32', 'int64', 'uint8'}, default='float32'
        The type of the indices.
    """
    op_name = 'topk'
    params = (_axis_param('Axis to search along; None: the flattened input.'),
              Param('k', 'int', 1, doc='How many elements; k <= 0 takes all of them.'),
              Param('ret_typ', 'str', 'indices', choices=('value', 'indices', 'mask', 'both'),
                    doc='What to return.'),
              Param('is_ascend', 'bool', False, doc='Smallest first instead of largest.'),
              Param('dtype', 'dtype', np.dtype(np.float32), doc='Type of the indices.'))

    def list_outputs(self):
        return ['output0', 'output1'] if self.ret_typ in ('value', 'both') else ['output']

    def num_visible_outputs(self):
        return 2 if self.ret_typ == 'both' else 1

    def infer_shape(self, in_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None] * len(self.list_outputs()), []
        if self.ret_typ == 'mask':
            self._count(data)
            return in_shapes, [tuple(data)], []
        return in_shapes, [self._out_shape(data)] * len(self.list_outputs()), []

    def _output_type(self, dtype, name):
        if self.ret_typ == 'indices' or name == 'output1':
            return self.dtype
        return dtype

    def forward(self, is_train, req, in_data, out_data, aux):
        x = in_data[0]
        axis = self._axis(x.shape)
        order, lines, moved = self._positions(x)
        B = self.B
        if self.ret_typ == 'mask':
            mask = np.zeros(lines.shape, x.dtype)
            np.put_along_axis(mask, order, 1, axis=1)
            if moved is None:
                mask = mask.reshape(x.shape)
            else:
                mask = np.moveaxis(mask.reshape(moved + (lines.shape[1],)), -1, axis)
            B.store(out_data[0], np.ascontiguousarray(mask), req[0])
            return
        indices = self._back(order, moved, axis)
        if self.ret_typ == 'indices':
            B.store(out_data[0], np.ascontiguousarray(indices), req[0])
            return
        values = self._back(np.take_along_axis(lines, order, axis=1), moved, axis)
        B.store(out_data[0], np.ascontiguousarray(values), req[0])
        B.store(out_data[1], np.ascontiguousarray(indices), req[1])

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        if self.ret_typ in ('value', 'both'):
            self._scatter_grad(req[0], out_grad[0], out_data[1], in_grad[0])
        else:
            self.B.store(in_grad[0], 0, req[0])


@register
class Sort(_Ordering):
    r"""The elements sorted along ``axis`` (the flattened input when ``axis`` is None),
    ascending unless ``is_ascend`` is False.

    Along each line of n elements, with :math:`p_1, \ldots, p_n` the positions in sorted
    order, :math:`y_j = x_{p_j}`.  Equal elements are ordered as MXNet 1.9.1 orders them on
    the CPU (see :func:`~mxref.operator.ordering.libstdcxx_order`), which decides where their gradients go.

    Shapes: ``data`` of any shape; the output has ``data``'s shape and dtype (``(n,)`` for
    ``axis`` None, n the size of ``data``).

    Gradient: :math:`dx_{p_j} = dy_j`, the output gradient put back where each element came
    from.

    CPU only: on a GPU context it raises an error naming the operator.

    Parameters
    ----------
    data : NDArray or Symbol
        The input.
    axis : int or None, default=-1
        The axis to sort along; None sorts the flattened input.
    is_ascend : bool, default=True
        Ascending order (smallest first); False for descending.
    """
    op_name = 'sort'
    params = (_axis_param('Axis to sort along; None: the flattened input.'),
              Param('is_ascend', 'bool', True, doc='Ascending order; False for descending.'))

    def list_outputs(self):
        return ['output0', 'output1']           # the sorted values, and hidden indices

    def num_visible_outputs(self):
        return 1

    def infer_shape(self, in_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None, None], []
        return in_shapes, [self._out_shape(data)] * 2, []

    def _output_type(self, dtype, name):
        return np.dtype(np.int64) if name == 'output1' else dtype

    def forward(self, is_train, req, in_data, out_data, aux):
        x = in_data[0]
        axis = self._axis(x.shape)
        order, lines, moved = self._positions(x)
        values = self._back(np.take_along_axis(lines, order, axis=1), moved, axis)
        self.B.store(out_data[0], np.ascontiguousarray(values), req[0])
        self.B.store(out_data[1], np.ascontiguousarray(self._back(order, moved, axis)), req[1])

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        self._scatter_grad(req[0], out_grad[0], out_data[1], in_grad[0])


@register
class ArgSort(_Ordering):
    r"""The indices that sort ``data`` along ``axis`` (the flattened input when ``axis`` is
    None), ascending unless ``is_ascend`` is False.

    Along each line of n elements, :math:`y_j = p_j` where :math:`x_{p_1}, \ldots, x_{p_n}`
    is the line in sorted order; equal elements are ordered as MXNet 1.9.1 orders them on the
    CPU (see :func:`~mxref.operator.ordering.libstdcxx_order`).

    Shapes: ``data`` of any shape; the output has ``data``'s shape (``(n,)`` for ``axis``
    None) and type ``dtype`` (float32 by default, as in MXNet).

    Gradient: none flows through an index, :math:`dx = 0`.

    CPU only: on a GPU context it raises an error naming the operator.

    Parameters
    ----------
    data : NDArray or Symbol
        The input.
    axis : int or None, default=-1
        The axis to sort along; None sorts the flattened input.
    is_ascend : bool, default=True
        Ascending order (smallest first); False for descending.
    dtype : {'float16', 'float32', 'float64', 'int32', 'int64', 'uint8'}, default='float32'
        The type of the indices.
    """
    op_name = 'argsort'
    params = (_axis_param('Axis to sort along; None: the flattened input.'),
              Param('is_ascend', 'bool', True, doc='Ascending order; False for descending.'),
              Param('dtype', 'dtype', np.dtype(np.float32), doc='Type of the indices.'))

    def infer_shape(self, in_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None], []
        return in_shapes, [self._out_shape(data)], []

    def _output_type(self, dtype, name):
        return self.dtype

    def forward(self, is_train, req, in_data, out_data, aux):
        x = in_data[0]
        order, _, moved = self._positions(x)
        indices = self._back(order, moved, self._axis(x.shape))
        self.B.store(out_data[0], np.ascontiguousarray(indices), req[0])

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        self.B.store(in_grad[0], 0, req[0])
