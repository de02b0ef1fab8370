"""GPU buffers and strided views of them (pure Python: no PyCUDA needed).

A :class:`DeviceBuffer` is what an NDArray on ``mx.gpu(i)`` holds: a C-contiguous array in the
memory of device ``i``, described by a pointer, a shape and a dtype.  It keeps the allocation it
points into alive, so views (:meth:`DeviceBuffer.view`) share memory with their base.

Kernels see buffers through a :class:`View`: a pointer plus a shape, *element* strides (signed,
0 for a broadcast axis) and an element offset.  Transpose, slicing with steps, broadcasting,
tile and repeat are all views, so one strided elementwise kernel moves data for all of them.

>>> import numpy as np
>>> buf = DeviceBuffer((2, 3), np.float32, ptr=4096, device_id=0, allocation=None)
>>> v = View.of(buf).permute((1, 0))
>>> v.shape, v.strides
((3, 2), (1, 3))
>>> v.slice(0, 2, None, -1).offset       # rows 2, 1, 0 of the transposed view
2
"""
import math

import numpy as np

from ...base import MXNetTypeError, MXNetValueError

__all__ = ['DeviceBuffer', 'View', 'coalesce', 'contiguous_strides', 'broadcast_strides']


class DeviceBuffer:
    """A C-contiguous array in GPU memory.

    Parameters
    ----------
    shape : tuple of int
    dtype : numpy dtype
    ptr : int
        Device address of the first element (0 for an empty array).
    device_id : int
        The GPU the memory belongs to.
    allocation : object
        What owns the memory (a PyCUDA allocation); kept alive as long as the buffer.
    """
    __slots__ = ('shape', 'dtype', 'ptr', 'device_id', 'allocation', 'size', 'itemsize',
                 'nbytes', 'strides', '__weakref__')

    def __init__(self, shape, dtype, ptr, device_id, allocation):
        self.shape = tuple(int(n) for n in shape)
        self.dtype = np.dtype(dtype)
        self.ptr = int(ptr)
        self.device_id = int(device_id)
        self.allocation = allocation
        self.size = math.prod(self.shape)
        self.itemsize = self.dtype.itemsize
        self.nbytes = self.size * self.itemsize
        self.strides = contiguous_strides(self.shape)       # in elements, C order

    @property
    def ndim(self):
        return len(self.shape)

    def view(self, shape, element_offset=0):
        """A buffer of ``shape`` starting ``element_offset`` elements into this one."""
        shape = tuple(int(n) for n in shape)
        size = int(np.prod(shape, dtype=np.int64))
        if element_offset < 0 or element_offset + size > self.size:
            raise MXNetValueError('gpu buffer view: %d elements at offset %d do not fit in a '
                                  'buffer of shape %s' % (size, element_offset, self.shape))
        return DeviceBuffer(shape, self.dtype, self.ptr + element_offset * self.itemsize,
                            self.device_id, self.allocation)

    def __array__(self, dtype=None, copy=None):
        raise MXNetTypeError('a GPU buffer is not a NumPy array: copy it to the host with '
                             'the backend\'s to_numpy (NDArray.asnumpy())')

    def __len__(self):
        return self.shape[0] if self.shape else 0

    def __repr__(self):
        return '<DeviceBuffer %s %s on gpu(%d) at 0x%x>' % (self.dtype.name, self.shape,
                                                           self.device_id, self.ptr)


def contiguous_strides(shape):
    """C-order element strides of ``shape``."""
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= max(int(n), 1)
    return tuple(reversed(strides))


def broadcast_strides(shape, strides, target):
    """Strides that read an array of ``shape``/``strides`` broadcast to ``target`` (NumPy's
    rule: align on the right; an axis of size 1 is repeated with stride 0)."""
    if len(shape) > len(target):
        raise MXNetValueError('cannot broadcast shape %s to %s' % (tuple(shape), tuple(target)))
    lead = len(target) - len(shape)
    result = [0] * lead
    for n, s, t in zip(shape, strides, target[lead:]):
        if n == t:
            result.append(s if t != 1 else 0)
        elif n == 1:
            result.append(0)
        else:
            raise MXNetValueError('cannot broadcast shape %s to %s'
                                  % (tuple(shape), tuple(target)))
    return tuple(result)


class View:
    """A strided window on a :class:`DeviceBuffer`: element (i0, i1, ...) lives at element
    ``offset + i0*strides[0] + i1*strides[1] + ...`` of ``buf``."""
    __slots__ = ('buf', 'shape', 'strides', 'offset')

    def __init__(self, buf, shape, strides, offset=0):
        self.buf = buf
        self.shape = tuple(shape)
        self.strides = tuple(strides)
        self.offset = offset

    @classmethod
    def of(cls, buf):
        """The whole buffer, C-contiguous."""
        return cls(buf, buf.shape, buf.strides, 0)

    @property
    def dtype(self):
        return self.buf.dtype

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return math.prod(self.shape)

    @property
    def ptr(self):
        """Device address of element (0, 0, ...)."""
        return self.buf.ptr + self.offset * self.buf.itemsize

    def is_contiguous(self):
        """Whether the view is its buffer's memory in C order from ``offset``."""
        return all(s == c for n, s, c in zip(self.shape, self.strides,
                                              contiguous_strides(self.shape)) if n != 1)

    def broadcast_to(self, shape):
        shape = tuple(shape)
        if shape == self.shape:
            return self
        return View(self.buf, shape, broadcast_strides(self.shape, self.strides, shape),
                    self.offset)

    def permute(self, axes):
        """Output axis i is input axis ``axes[i]``."""
        return View(self.buf, [self.shape[a] for a in axes], [self.strides[a] for a in axes],
                    self.offset)

    def slice(self, axis, start, stop, step):
        """Python's ``[start:stop:step]`` along ``axis`` (None for defaults, negatives count
        from the end)."""
        step = 1 if step is None else int(step)
        if step == 0:
            raise MXNetValueError('slice step cannot be zero')
        begin, _, _ = slice(start, stop, step).indices(self.shape[axis])
        length = len(range(*slice(start, stop, step).indices(self.shape[axis])))
        shape, strides = list(self.shape), list(self.strides)
        shape[axis] = length
        strides[axis] = self.strides[axis] * step
        offset = self.offset + (begin * self.strides[axis] if length else 0)
        return View(self.buf, shape, strides, offset)

    def index(self, axis, i):
        """Select position ``i`` of ``axis`` (the axis disappears)."""
        n = self.shape[axis]
        if not -n <= i < n:
            raise MXNetValueError('index %d is out of bounds for axis %d with size %d'
                                  % (i, axis, n))
        i %= n
        return View(self.buf, self.shape[:axis] + self.shape[axis + 1:],
                    self.strides[:axis] + self.strides[axis + 1:],
                    self.offset + i * self.strides[axis])

    def insert_axis(self, axis, size=1, stride=0):
        """A new axis of ``size`` at position ``axis`` (stride 0 repeats the data)."""
        return View(self.buf, self.shape[:axis] + (size,) + self.shape[axis:],
                    self.strides[:axis] + (stride,) + self.strides[axis:], self.offset)

    def reshape(self, shape):
        """The same elements with a new shape; only for contiguous views."""
        if not self.is_contiguous():
            raise MXNetValueError('only a contiguous view can be reshaped')
        if int(np.prod(shape, dtype=np.int64)) != self.size:
            raise MXNetValueError('cannot reshape %s into %s' % (self.shape, tuple(shape)))
        return View(self.buf, shape, contiguous_strides(shape), self.offset)

    def memory_span(self):
        """(first, last + 1) element positions touched in the buffer (None when empty)."""
        if self.size == 0:
            return None
        low = high = self.offset
        for n, s in zip(self.shape, self.strides):
            if s > 0:
                high += (n - 1) * s
            else:
                low += (n - 1) * s
        return low, high + 1

    def overlaps(self, other):
        """Whether the two views may touch common memory (their address ranges meet)."""
        mine, theirs = self.buf, other.buf
        if (mine.device_id != theirs.device_id or mine.ptr >= theirs.ptr + theirs.nbytes
                or theirs.ptr >= mine.ptr + mine.nbytes):
            return False                               # the buffers themselves are apart
        a, b = self.memory_span(), other.memory_span()
        if a is None or b is None:
            return False
        a0, a1 = (self.buf.ptr + i * self.buf.itemsize for i in a)
        b0, b1 = (other.buf.ptr + i * other.buf.itemsize for i in b)
        return a0 < b1 and b0 < a1

    def same_elements(self, other):
        """Whether both views put element (i0, i1, ...) at the same address."""
        return (self.ptr == other.ptr and self.shape == other.shape
                and self.buf.itemsize == other.buf.itemsize
                and all(s == t for n, s, t in zip(self.shape, self.strides, other.strides)
                        if n != 1))

    def __repr__(self):
        return '<View %s strides %s offset %d of %r>' % (self.shape, self.strides,
                                                        self.offset, self.buf)


def coalesce(shape, stride_lists):
    """Merge axes that every operand walks contiguously, and drop axes of size 1.

    ``stride_lists`` holds one strides tuple per operand (all of ``shape``).  Axes i and i+1
    merge when, for every operand, ``stride[i] == stride[i+1] * shape[i+1]``: the two loops
    are then one loop.  Returns ``(shape, stride_lists)`` with at least one axis.

    >>> coalesce((2, 3, 4), [(12, 4, 1), (0, 0, 0)])
    ((24,), [(1,), (0,)])
    >>> coalesce((2, 3, 4), [(12, 4, 1), (1, 8, 2)])        # a permuted operand
    ((2, 12), [(12, 1), (1, 2)])
    """
    keep = [i for i, n in enumerate(shape) if n != 1]
    if not keep:
        return (1,), [(0,) for _ in stride_lists]
    new_shape = [shape[keep[0]]]
    new_strides = [[s[keep[0]]] for s in stride_lists]
    for i in keep[1:]:
        n = shape[i]
        if all(st[-1] == s[i] * n for st, s in zip(new_strides, stride_lists)):
            new_shape[-1] *= n
            for st, s in zip(new_strides, stride_lists):
                st[-1] = s[i]
        else:
            new_shape.append(n)
            for st, s in zip(new_strides, stride_lists):
                st.append(s[i])
    return tuple(new_shape), [tuple(st) for st in new_strides]
