"""Spatial layers: Convolution and Pooling, 1-D (NCW) and 2-D (NCHW).

Both run through the backend's 2-D functions (``conv2d_*``, ``pool2d_*``); a 1-D input
(N, C, W) is seen as (N, C, 1, W) with a kernel of height 1, so one code path serves both.
"""
import numpy as np

from ..base import MXNetTypeError
from .base import Operator, register, shape_str, merge_shapes
from .params import Param

__all__ = ['Convolution', 'Pooling', 'conv_output_size', 'pool_output_size']

_LAYOUTS = (None, 'NCDHW', 'NCHW', 'NCW', 'NDHWC', 'NHWC')
_POOL_LAYOUTS = (None, 'NCDHW', 'NCHW', 'NCW', 'NDHWC', 'NHWC', 'NWC')
_CHANNEL_FIRST = {1: 'NCW', 2: 'NCHW', 3: 'NCDHW'}


def conv_output_size(size, kernel, stride, pad, dilate):
    """One axis of a convolution's output: ``(size + 2·pad − dilate·(kernel − 1) − 1) // stride
    + 1``.

    >>> conv_output_size(28, 5, 1, 0, 1)
    24
    """
    return (size + 2 * pad - dilate * (kernel - 1) - 1) // stride + 1


def pool_output_size(size, kernel, stride, pad, convention):
    """One axis of a pooling output: ``1 + floor((size + 2·pad − kernel) / stride)`` for the
    'valid' convention, ``ceil`` instead of ``floor`` for 'full'.

    >>> pool_output_size(5, 2, 2, 0, 'valid'), pool_output_size(5, 2, 2, 0, 'full')
    (2, 3)
    """
    span = size + 2 * pad - kernel
    return 1 + (-(-span // stride) if convention == 'full' else span // stride)


def _as_2d(values, fill):
    """A 1-D (w,) parameter as (fill, w); 2-D ones unchanged."""
    return (fill,) + tuple(values) if len(values) == 1 else tuple(values)


def _view_2d(B, buf):
    """An (N, C, W) buffer as (N, C, 1, W); 4-D buffers (and None, a gradient nobody asked
    for) unchanged."""
    if buf is None:
        return None
    return B.reshape(buf, buf.shape[:2] + (1,) + buf.shape[2:]) if buf.ndim == 3 else buf


def _check_float(op, dtype):
    if dtype is not None and np.dtype(dtype) not in (np.float32, np.float64):
        op.fail('supports float32 and float64 data, got %s' % np.dtype(dtype).name,
                error=MXNetTypeError)


def _setup_kernel_window(op, non_negative=('pad',)):
    """The parameter checks Convolution and Deconvolution share.

    A 1-D or 2-D ``kernel`` in channel-first layout (NCW / NCHW); ``stride`` and ``dilate``
    default to 1 and the names in ``non_negative`` (``pad``, Deconvolution's ``adj`` too) to 0,
    each with one value per kernel axis; kernel, stride and dilate positive, the others
    non-negative; ``num_filter`` a multiple of ``num_group``, both positive.  Unset tuples
    are filled in on ``op``; returns the number of kernel axes.
    """
    dims = len(op.kernel)
    if dims not in (1, 2):
        op.fail('supports 1-D and 2-D kernels, got kernel=%s' % (op.kernel,),
                error=NotImplementedError)
    layout = op.layout or _CHANNEL_FIRST[dims]
    if layout != _CHANNEL_FIRST[dims]:
        op.fail('supports layout %s for a %d-D kernel, got %s'
                % (_CHANNEL_FIRST[dims], dims, layout), error=NotImplementedError)
    op.stride = op.stride or (1,) * dims
    op.dilate = op.dilate or (1,) * dims
    for name in non_negative:
        setattr(op, name, getattr(op, name) or (0,) * dims)
    names = ('stride', 'dilate') + tuple(non_negative)
    for name in names:
        value = getattr(op, name)
        if len(value) != dims:
            op.fail('%s=%s must have %d value(s), like kernel=%s' % (name, value, dims, op.kernel))
    if (min(op.kernel) < 1 or min(op.stride) < 1 or min(op.dilate) < 1
            or any(min(getattr(op, name)) < 0 for name in non_negative)):
        op.fail('kernel, stride and dilate must be positive and %s non-negative, got %s'
                % (' and '.join(non_negative),
                   ' '.join('%s=%s' % (name, getattr(op, name)) for name in ('kernel',) + names)))
    if op.num_filter < 1 or op.num_group < 1:
        op.fail('num_filter and num_group must be positive, got %d and %d'
                % (op.num_filter, op.num_group))
    if op.num_filter % op.num_group:
        op.fail('num_filter=%d must be a multiple of num_group=%d' % (op.num_filter, op.num_group))
    return dims


def _infer_window_params(op, shapes, partial, weight_shape):
    """The start of Convolution's and Deconvolution's shape inference, on ``shapes`` (the
    inputs' shapes, data known): check the data's rank and its channels against
    ``num_group``, then set the weight's shape to ``weight_shape(channels)`` and the bias's to
    ``(num_filter,)``.  Returns ``known(size)``: whether a size is known (with ``partial``, 0
    means unknown)."""
    data = shapes[0]
    dims = len(op.kernel)
    if len(data) != dims + 2:
        op.fail('data must be %s (%d dimensions) for kernel=%s, got shape %s'
                % (_CHANNEL_FIRST[dims], dims + 2, op.kernel, shape_str(data)))
    known = lambda size: size != 0 or not partial        # with partial, 0 is unknown
    channels = data[1]
    if known(channels) and channels % op.num_group:
        op.fail('data has %d channels, which num_group=%d does not divide'
                % (channels, op.num_group))
    if partial:
        op.merge_shape(shapes, 1, weight_shape(channels))
    else:
        op.assign_shape(shapes, 1, weight_shape(channels))
    if not op.no_bias:
        op.merge_shape(shapes, 2, (op.num_filter,))
    return known


def _infer_float_type(op, in_types):
    """The operator's default type inference, with a floating-point output required."""
    in_types, out_types, aux = Operator.infer_type(op, in_types)
    _check_float(op, out_types[0])
    return in_types, out_types, aux


@register
class Convolution(Operator):
    """Convolution over the trailing 1 or 2 axes of NCW / NCHW data.

    ``y[n, f] = b[f] + Σ_c Σ_{i,j} w[f, c, i, j] · x[n, g·C/G + c, oh·s₀ − p₀ + i·d₀,
    ow·s₁ − p₁ + j·d₁]`` (zero outside the input), where group g = f // (F/G) sees only its
    own C/G input channels.  Shapes: data (N, C, H, W), weight (F, C/G, KH, KW), bias (F,)
    → (N, F, OH, OW) with ``OH = (H + 2p − d·(KH − 1) − 1) // s + 1``.

    Gradients: ``dx`` = the transposed convolution of dy with w (col2im of wᵀ·dy);
    ``dw`` = the correlation of dy with x (dy · im2colᵀ); ``db = Σ_{n,oh,ow} dy``.

    >>> import mxref as mx
    >>> x = mx.nd.ones((1, 1, 4, 4))
    >>> w = mx.nd.ones((2, 1, 3, 3))
    >>> mx.nd.Convolution(x, w, mx.nd.array([0, 1]), kernel=(3, 3), num_filter=2).asnumpy()[0, :, 0, 0]
    array([ 9., 10.], dtype=float32)
    """
    op_name = 'Convolution'
    arguments = ('data', 'weight', 'bias')
    params = (Param('kernel', 'shape', doc='convolution kernel size: (w,) or (h, w)'),
              Param('stride', 'shape', (), doc='stride, default 1 per axis'),
              Param('dilate', 'shape', (), doc='dilation, default 1 per axis'),
              Param('pad', 'shape', (), doc='zero padding on both sides, default 0 per axis'),
              Param('num_filter', 'int', doc='number of output channels F'),
              Param('num_group', 'int', 1, doc='number of groups G: channels split G ways'),
              Param('workspace', 'int', 1024, doc='workspace limit in MB (accepted; the CPU '
                                                  'backend picks its own chunk size)'),
              Param('no_bias', 'bool', False, doc='whether to leave out the bias'),
              Param('cudnn_tune', 'str?', None,
                    choices=(None, 'fastest', 'limited_workspace', 'off'),
                    doc='cuDNN algorithm choice (accepted, not used)'),
              Param('cudnn_off', 'bool', False, doc='turn off cuDNN (accepted, not used)'),
              Param('layout', 'str?', None, choices=_LAYOUTS,
                    doc='NCW or NCHW (default for 1-D / 2-D kernels)'))

    def setup(self):
        _setup_kernel_window(self)

    def list_arguments(self):
        return ['data', 'weight'] if self.no_bias else ['data', 'weight', 'bias']

    accepts_partial = True

    def infer_shape(self, in_shapes, partial=False):
        shapes = list(in_shapes)
        data = shapes[0]
        if data is None:                # as in MXNet, the weight alone does not give the data
            return shapes, [None], []
        known = _infer_window_params(
            self, shapes, partial,
            lambda channels: (self.num_filter, channels // self.num_group) + self.kernel)
        out = []
        for axis in range(len(self.kernel)):
            size = data[2 + axis]
            if not known(size):
                out.append(0)
                continue
            reach = self.dilate[axis] * (self.kernel[axis] - 1) + 1
            if reach > size + 2 * self.pad[axis]:
                self.fail('kernel %s (dilated to %d) exceeds the input %s padded by %s'
                          % (self.kernel, reach, shape_str(data), self.pad))
            out.append(conv_output_size(size, self.kernel[axis], self.stride[axis],
                                        self.pad[axis], self.dilate[axis]))
        return shapes, [(data[0], self.num_filter) + tuple(out)], []

    def infer_backward(self, what, in_values, out_values):
        """From the output, as MXNet does: the batch size, and each spatial size whose stride
        is 1 (``H = OH + dilate·(KH − 1) − 2·pad``)."""
        data, out = in_values[0], out_values[0]
        if what != 'shape' or data is None or out is None or len(out) != len(data):
            return in_values
        deduced = [out[0]] + [0] * (len(data) - 1)
        for axis in range(len(self.kernel)):
            size = out[2 + axis]
            if size and self.stride[axis] == 1:
                deduced[2 + axis] = (size + self.dilate[axis] * (self.kernel[axis] - 1)
                                     - 2 * self.pad[axis])
        return [merge_shapes(data, tuple(deduced), self, 'data')] + list(in_values[1:])

    def infer_type(self, in_types):
        return _infer_float_type(self, in_types)

    def _geometry(self):
        return (_as_2d(self.stride, 1), _as_2d(self.pad, 0), _as_2d(self.dilate, 1))

    def forward(self, is_train, req, in_data, out_data, aux):
        B = self.B
        stride, pad, dilate = self._geometry()
        bias = None if self.no_bias else in_data[2]
        B.conv2d_forward(_view_2d(B, in_data[0]), _view_2d(B, in_data[1]), bias,
                         _view_2d(B, out_data[0]), req[0], stride, pad, dilate, self.num_group)

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        B = self.B
        stride, pad, dilate = self._geometry()
        dy = _view_2d(B, out_grad[0])
        B.conv2d_backward_data(dy, _view_2d(B, in_data[1]), _view_2d(B, in_grad[0]), req[0],
                               stride, pad, dilate, self.num_group)
        B.conv2d_backward_weight(dy, _view_2d(B, in_data[0]), _view_2d(B, in_grad[1]), req[1],
                                 stride, pad, dilate, self.num_group)
        if not self.no_bias:
            B.conv2d_backward_bias(dy, in_grad[2], req[2])


@register
class Pooling(Operator):
    """Pooling over the trailing 1 or 2 axes of NCW / NCHW data.

    ``y[n, c, oh, ow]`` = max / average / sum of x over the window of rows
    ``oh·s₀ − p₀ … + k₀`` and columns ``ow·s₁ − p₁ … + k₁``, clipped to the input.  The
    output size is ``1 + floor((H + 2p − k) / s)`` (``pooling_convention='valid'``) or
    ``ceil`` (``'full'``); ``global_pool`` pools each whole plane.  Average divides by the
    window size clipped to the padded input (``count_include_pad``, the default) or by the
    number of input elements it covers.

    Gradients: max sends dy to the first maximum of its window; avg and sum spread dy
    (÷ the divisor for avg) over the window.

    Like MXNet 1.9.1's CPU build, max pooling has a second, hidden output (MXNet's oneDNN
    workspace; here the int32 position of each maximum, which the backward pass reads), so
    a symbol's JSON counts two outputs for it in ``node_row_ptr``.

    >>> import mxref as mx
    >>> x = mx.nd.array([[[[1, 2], [3, 4]]]])
    >>> mx.nd.Pooling(x, kernel=(2, 2), pool_type='avg').asnumpy().ravel()
    array([2.5], dtype=float32)
    """
    op_name = 'Pooling'
    params = (Param('kernel', 'shape', (), doc='pooling window: (w,) or (h, w)'),
              Param('pool_type', 'str', 'max', choices=('avg', 'lp', 'max', 'sum')),
              Param('global_pool', 'bool', False, doc='pool each whole plane, ignoring kernel'),
              Param('cudnn_off', 'bool', False, doc='turn off cuDNN (accepted, not used)'),
              Param('pooling_convention', 'str', 'valid', choices=('full', 'same', 'valid')),
              Param('stride', 'shape', (), doc='stride, default 1 per axis'),
              Param('pad', 'shape', (), doc='padding on both sides, default 0 per axis'),
              Param('p_value', 'int?', None, doc='p of Lp pooling'),
              Param('count_include_pad', 'bool?', None,
                    doc='avg: divide by the padded window size (default True)'),
              Param('layout', 'str?', None, choices=_POOL_LAYOUTS))

    def setup(self):
        dims = len(self.kernel)
        if self.pool_type == 'lp':
            self.fail("pool_type='lp' is not supported (max, avg and sum are)",
                      error=NotImplementedError)
        if self.pooling_convention == 'same':
            self.fail("pooling_convention='same' is not supported: MXNet 1.9.1 defines it "
                      "for 1-D max pooling only and fails on it; use 'valid' or 'full'",
                      error=NotImplementedError)
        if dims > 2 or (dims == 0 and not self.global_pool):
            self.fail('supports 1-D and 2-D kernels (or global_pool=True), got kernel=%s'
                      % (self.kernel,), error=NotImplementedError)
        if self.layout not in (None, 'NCW', 'NCHW') or (
                dims and self.layout not in (None, _CHANNEL_FIRST[dims])):
            self.fail('supports layout NCW (1-D) and NCHW (2-D), got %s with kernel=%s'
                      % (self.layout, self.kernel), error=NotImplementedError)
        if dims:
            self.stride = self.stride or (1,) * dims
            self.pad = self.pad or (0,) * dims
            for name in ('stride', 'pad'):
                if len(getattr(self, name)) != dims:
                    self.fail('%s=%s must have %d value(s), like kernel=%s'
                              % (name, getattr(self, name), dims, self.kernel))
            if min(self.kernel) < 1 or min(self.stride) < 1 or min(self.pad) < 0:
                self.fail('kernel and stride must be positive and pad non-negative, got '
                          'kernel=%s stride=%s pad=%s' % (self.kernel, self.stride, self.pad))
            if self.pool_type == 'max' and not self.global_pool and any(
                    p >= k for p, k in zip(self.pad, self.kernel)):
                self.fail('max pooling needs pad < kernel, got pad=%s kernel=%s'
                          % (self.pad, self.kernel))
        self.include_pad = True if self.count_include_pad is None else self.count_include_pad

    def has_workspace(self):
        """Whether MXNet 1.9.1 (oneDNN build) gives this configuration a hidden output."""
        return self.pool_type == 'max' and len(self.kernel) in (1, 2, 3)

    def list_outputs(self):
        return ['output', 'workspace'] if self.has_workspace() else ['output']

    def num_visible_outputs(self):
        return 1

    def _window(self, data):
        """(kernel, stride, pad) as pairs for a data shape, global pooling resolved."""
        if self.global_pool:
            spatial = tuple(data[2:])
            return _as_2d(spatial, 1), (1, 1), (0, 0)
        return _as_2d(self.kernel, 1), _as_2d(self.stride, 1), _as_2d(self.pad, 0)

    def infer_shape(self, in_shapes):
        data = in_shapes[0]
        outputs = len(self.list_outputs())
        if data is None:
            return in_shapes, [None] * outputs, []
        dims = len(self.kernel) if self.kernel and not self.global_pool else len(data) - 2
        if len(data) != dims + 2 or dims not in (1, 2):
            self.fail('data must be NCW or NCHW%s, got shape %s'
                      % (' for kernel=%s' % (self.kernel,) if self.kernel else '',
                         shape_str(data)))
        if self.global_pool:
            out = tuple(data[:2]) + (1,) * dims
        else:
            sizes = []
            for axis in range(dims):
                size, k, p = data[2 + axis], self.kernel[axis], self.pad[axis]
                if k > size + 2 * p:
                    self.fail('kernel size (%d) exceeds input (%d padded to %d)'
                              % (k, size, size + 2 * p))
                sizes.append(pool_output_size(size, k, self.stride[axis], p,
                                              self.pooling_convention))
            out = tuple(data[:2]) + tuple(sizes)
        return in_shapes, [out] * outputs, []

    def infer_type(self, in_types):
        dtype = np.dtype(in_types[0]) if in_types[0] is not None else np.dtype(np.float32)
        _check_float(self, dtype)
        out = [dtype, np.dtype(np.int32)] if self.has_workspace() else [dtype]
        return [dtype], out, []

    def forward(self, is_train, req, in_data, out_data, aux):
        B = self.B
        x = _view_2d(B, in_data[0])
        kernel, stride, pad = self._window(x.shape)
        argmax = _view_2d(B, out_data[1]) if self.has_workspace() else None
        B.pool2d_forward(x, _view_2d(B, out_data[0]), req[0], kernel, stride, pad,
                         self.pool_type, self.include_pad, argmax=argmax)

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        B = self.B
        x = _view_2d(B, in_data[0])
        kernel, stride, pad = self._window(x.shape)
        if self.has_workspace():
            argmax = _view_2d(B, out_data[1])
        elif self.pool_type == 'max':               # global max pooling without a kernel
            y = _view_2d(B, out_data[0])
            argmax = B.empty(y.shape, np.int32)
            B.pool2d_forward(x, B.empty(y.shape, y.dtype), 'write', kernel, stride, pad,
                             'max', argmax=argmax)
        else:
            argmax = None
        B.pool2d_backward(_view_2d(B, out_grad[0]), argmax, _view_2d(B, in_grad[0]), req[0],
                          kernel, stride, pad, self.pool_type, self.include_pad)
