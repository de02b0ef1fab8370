"""Padding and cropping of image-like arrays: Pad (the trailing 2 or 3 axes of 4-D / 5-D data)
and the legacy Crop (the trailing 2 axes of NCHW data).

Both are gathers: every output position reads one input position, found axis by axis.  Pad
runs the backend's ``take`` once per padded axis with an index vector computed on the host
(its gradient is ``take_backward``, which adds up the output positions that read the same
input); Crop is a strided slice.  So both compute wherever ``take`` and ``strided_slice`` do.
"""
import numpy as np

from ..base import MXNetTypeError
from .base import Operator, register, shape_str
from .params import Param

__all__ = ['Pad', 'Crop', 'pad_source_index']

_FLOATS = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))


def pad_source_index(size, before, after, mode):
    """For one axis of ``size`` elements padded by ``before`` and ``after``: the input index
    each output position reads (``edge`` clamps, ``reflect`` mirrors without repeating the
    edge, as ``numpy.pad``; ``constant`` clamps too, the padding being overwritten later).
    A negative pad crops, as in MXNet.

    >>> pad_source_index(3, 2, 1, 'reflect').tolist()
    [2, 1, 0, 1, 2, 1]
    >>> pad_source_index(3, 2, 1, 'edge').tolist()
    [0, 0, 0, 1, 2, 2]
    """
    src = np.arange(size + before + after, dtype=np.int64) - before
    if mode == 'reflect':
        src = np.where(src < 0, -src, src)
        src = np.where(src > size - 1, 2 * (size - 1) - src, src)
    return np.clip(src, 0, size - 1)


@register
class Pad(Operator):
    """Pads the trailing 2 (4-D data) or 3 (5-D data) axes, as ``numpy.pad``.

    ``pad_width`` holds ``(before, after)`` for every axis, flattened:
    ``(0, 0, 0, 0, before_H, after_H, before_W, after_W)`` for NCHW data.  The pads of the
    first two axes (batch and channel) must be 0.  Modes:

    * ``constant``: new positions hold ``constant_value``;
    * ``edge``: they repeat the nearest edge value;
    * ``reflect``: they mirror the input about its edge, without repeating the edge value
      (``numpy.pad``'s 'reflect'); each pad must be smaller than the size of its axis.

    Shape: ``(N, C, H, W) → (N, C, before_H + H + after_H, before_W + W + after_W)`` (and
    likewise for NCDHW).  As in MXNet a negative pad removes that many values instead.
    Only floating-point data (float16, float32, float64), as MXNet 1.9.1.

    Gradient: each input position receives the sum of the head gradients of the output
    positions that read it (``dx[i] = Σ_{o : src(o) = i} dy[o]``, over the padded axes), the
    ``constant`` padding contributing nothing.
    """
    op_name = 'Pad'
    aliases = ('pad',)
    params = (Param('mode', 'str', choices=('constant', 'edge', 'reflect'),
                    doc='how new positions are filled'),
              Param('pad_width', 'shape', doc='(before, after) for every axis, flattened'),
              Param('constant_value', 'float', 0.0, doc="the fill value of mode 'constant'"))

    accepts_partial = True

    def _pads(self, ndim):
        """[(before, after)] for every axis, after checking them against a rank-``ndim`` input."""
        if ndim not in (4, 5):
            self.fail('data must have 4 or 5 dimensions (MXNet pads the last 2 or 3 axes of '
                      'NCHW / NCDHW data), got %d' % ndim)
        if len(self.pad_width) != 2 * ndim:
            self.fail('pad_width must have 2 values (before, after) per axis of the data, '
                      'i.e. %d for %d-D data, got %d: %s'
                      % (2 * ndim, ndim, len(self.pad_width), self.pad_width))
        pads = [tuple(self.pad_width[2 * i:2 * i + 2]) for i in range(ndim)]
        if pads[0] != (0, 0) or pads[1] != (0, 0):
            self.fail('pad_width must be 0 for the first two axes (batch and channel), as in '
                      'MXNet, got %s' % (self.pad_width[:4],))
        return pads

    def infer_shape(self, in_shapes, partial=False):
        data = in_shapes[0]
        if data is None:
            return list(in_shapes), [None], []
        pads = self._pads(len(data))
        out = []
        for axis, (size, (before, after)) in enumerate(zip(data, pads)):
            if size == 0 and (partial or axis < 2):     # unknown (or empty batch) stays so
                out.append(0)
                continue
            if size == 0 and self.mode != 'constant' and (before, after) != (0, 0):
                self.fail("mode '%s' cannot pad the empty axis %d (data %s)"
                          % (self.mode, axis, shape_str(data)))
            if self.mode == 'reflect' and (before >= size or after >= size):
                self.fail("mode 'reflect' needs pads smaller than the axis they pad: axis %d "
                          'has size %d, pads (%d, %d) (data %s)'
                          % (axis, size, before, after, shape_str(data)))
            padded = size + before + after
            if padded < 1:
                self.fail('pads (%d, %d) leave nothing of axis %d (size %d)'
                          % (before, after, axis, size))
            out.append(padded)
        return [tuple(data)], [tuple(out)], []

    def infer_type(self, in_types):
        in_types, out_types, aux = super().infer_type(in_types)
        if out_types[0] is not None and np.dtype(out_types[0]) not in _FLOATS:
            self.fail('data must be float16, float32 or float64, got %s (MXNet pads '
                      'floating-point data only)' % np.dtype(out_types[0]).name,
                      error=MXNetTypeError)
        return in_types, out_types, aux

    def _plan(self, shape):
        """[(axis, source index vector)] for the axes that change, first axis first."""
        steps = []
        for axis, (size, (before, after)) in enumerate(zip(shape, self._pads(len(shape)))):
            if (before, after) != (0, 0):
                steps.append((axis, pad_source_index(size, before, after, self.mode)))
        return steps

    def _mask(self, shape, dtype):
        """A buffer broadcasting to the output: 1 where a position reads the input, 0 in the
        constant padding."""
        pads = self._pads(len(shape))
        mask = np.ones((1, 1) + tuple(n + b + a for n, (b, a) in zip(shape[2:], pads[2:])))
        for axis in range(2, len(shape)):
            before, after = pads[axis]
            src = np.arange(shape[axis] + before + after) - before
            inside = ((src >= 0) & (src < shape[axis])).astype(mask.dtype)
            view = [1] * len(shape)
            view[axis] = inside.size
            mask = mask * inside.reshape(view)
        return self.B.from_numpy(mask, dtype)

    def _index(self, idx):
        # float32 holds every index exactly up to 2**24, the way the other gathers pass them
        return self.B.from_numpy(idx.astype(np.float32))

    def forward(self, is_train, req, in_data, out_data, aux):
        B = self.B
        x, y = in_data[0], out_data[0]
        steps = self._plan(x.shape)
        if not steps:
            B.store(y, x, req[0])
            return
        current = x
        for i, (axis, idx) in enumerate(steps):
            last = i == len(steps) - 1 and self.mode != 'constant'
            shape = current.shape[:axis] + (idx.size,) + current.shape[axis + 1:]
            target = y if last else B.empty(shape, x.dtype)
            B.take(current, self._index(idx), axis, 'clip', target, req[0] if last else 'write')
            current = target
        if self.mode == 'constant':
            B.elementwise('where(m > 0, v, c)', y, req[0], m=self._mask(x.shape, x.dtype),
                          v=current, c=self.constant_value)

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        if req[0] == 'null':
            return
        B = self.B
        x, dy, dx = in_data[0], out_grad[0], in_grad[0]
        steps = self._plan(x.shape)
        if not steps:
            B.store(dx, dy, req[0])
            return
        current = dy
        if self.mode == 'constant':
            current = B.empty(dy.shape, dy.dtype)
            B.elementwise('where(m > 0, g, 0)', current, 'write', g=dy,
                          m=self._mask(x.shape, x.dtype))
        for i, (axis, idx) in reversed(list(enumerate(steps))):
            size = x.shape[axis]
            if i == 0:
                B.take_backward(current, self._index(idx), axis, 'clip', dx, req[0])
            else:
                shape = current.shape[:axis] + (size,) + current.shape[axis + 1:]
                target = B.empty(shape, dx.dtype)
                B.take_backward(current, self._index(idx), axis, 'clip', target, 'write')
                current = target


@register
class Crop(Operator):
    """Crops the height and width (axes 2 and 3) of NCHW data; MXNet's legacy ``Crop``.

    With ``num_args=1`` the output is ``h_w = (h, w)`` large; with ``num_args=2`` it takes
    the height and width of the second input (``crop_like``, at least 4-D), whose values are
    not used.  The window starts at ``offset = (y, x)``, or with ``center_crop`` at
    ``((H − h) // 2, (W − w) // 2)`` (``offset`` is then ignored):
    ``y[n, c, i, j] = x[n, c, y₀ + i, x₀ + j]``.  Shape: ``(N, C, H, W) → (N, C, h, w)``;
    the window must fit in the data.  float32 data only, as MXNet 1.9.1.

    Gradient: ``dx`` is ``dy`` inside the window and 0 elsewhere; ``crop_like`` gets a zero
    gradient.
    """
    op_name = 'Crop'
    params = (Param('num_args', 'int', doc='1 (size from h_w) or 2 (size from a second '
                                           'input)'),
              Param('offset', 'shape', (0, 0), doc='(y, x) of the window, if not center_crop'),
              Param('h_w', 'shape', (0, 0), doc='(h, w) of the window when num_args is 1'),
              Param('center_crop', 'bool', False, doc='centre the window'))
    num_args_param = 'num_args'

    def setup(self):
        if self.num_args not in (1, 2):
            self.fail('num_args must be 1 (crop to h_w) or 2 (crop like a second input), got %d'
                      % self.num_args)
        for name in ('offset', 'h_w'):
            if len(getattr(self, name)) < 2:
                self.fail('%s must have 2 values (height, width), got %s'
                          % (name, getattr(self, name)))
        if not self.center_crop and min(self.offset[:2]) < 0:
            self.fail('offset must not be negative, got %s' % (self.offset,))
        if self.num_args == 1 and min(self.h_w[:2]) < 1:
            self.fail('h_w must be at least (1, 1) when num_args is 1, got %s' % (self.h_w,))

    def list_arguments(self):
        return ['arg%d' % i for i in range(self.num_args)]

    def _window(self, data, like):
        """(top, left, h, w) of the window, checked against the data shape."""
        if len(data) != 4:
            self.fail('data must be 4-D (batch, channel, height, width), got shape %s'
                      % shape_str(data))
        if self.num_args == 2:
            if len(like) < 4:
                self.fail('crop_like (the second input) must have at least 4 dimensions, its '
                          'axes 2 and 3 giving the size, got shape %s' % shape_str(like))
            h, w = like[2], like[3]
        else:
            h, w = self.h_w[:2]
        if h > data[2] or w > data[3]:
            self.fail('the window (%d, %d) is larger than the data (height %d, width %d)'
                      % (h, w, data[2], data[3]))
        if self.center_crop:
            return (data[2] - h) // 2, (data[3] - w) // 2, h, w
        top, left = self.offset[:2]
        if top + h > data[2] or left + w > data[3]:
            self.fail('offset %s + window (%d, %d) goes past the data (height %d, width %d)'
                      % ((top, left), h, w, data[2], data[3]))
        return top, left, h, w

    def infer_shape(self, in_shapes):
        shapes = list(in_shapes)
        data = shapes[0]
        like = shapes[1] if self.num_args == 2 else None
        if data is None or (self.num_args == 2 and like is None):
            return shapes, [None], []
        _, _, h, w = self._window(data, like)
        return shapes, [(data[0], data[1], h, w)], []

    def infer_type(self, in_types):
        in_types, out_types, aux = super().infer_type(in_types)
        for name, dtype in zip(('data', 'crop_like'), in_types):
            if dtype is not None and np.dtype(dtype) != np.float32:
                self.fail('%s must be float32 (MXNet 1.9.1 crops float32 only), got %s'
                          % (name, np.dtype(dtype).name), error=MXNetTypeError)
        return in_types, out_types, aux

    def _slice(self, x, like):
        top, left, h, w = self._window(x.shape, like.shape if like is not None else None)
        n, c = x.shape[:2]
        return (0, 0, top, left), (n, c, top + h, left + w), (1, 1, 1, 1)

    def forward(self, is_train, req, in_data, out_data, aux):
        like = in_data[1] if self.num_args == 2 else None
        self.B.strided_slice(in_data[0], *self._slice(in_data[0], like), out_data[0], req[0])

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        like = in_data[1] if self.num_args == 2 else None
        self.B.strided_slice_backward(out_grad[0], *self._slice(in_data[0], like), in_grad[0],
                                      req[0])
        if self.num_args == 2:
            self.B.store(in_grad[1], 0, req[1])
