"""Transposed convolution and upsampling: Deconvolution (1-D NCW, 2-D NCHW) and UpSampling.

Deconvolution runs the backend's convolution functions with the roles of forward and
backward swapped (its forward is a convolution's data gradient), so it computes wherever
Convolution does.  UpSampling's nearest mode is a broadcast and a block sum; its bilinear
mode is a Deconvolution with one fixed kernel per channel, as in MXNet.
"""
import numpy as np

from ..base import MXNetTypeError
from .base import Operator, register, shape_str
from .conv import (_as_2d, _view_2d, _check_float, _infer_float_type,
                   _infer_window_params, _setup_kernel_window, _LAYOUTS)
from .params import Param

__all__ = ['Deconvolution', 'UpSampling', 'deconv_output_size', 'deconv_target_padding']


def deconv_output_size(size, kernel, stride, pad, dilate, adj):
    """One axis of a deconvolution's output:
    ``stride·(size − 1) + dilate·(kernel − 1) + 1 − 2·pad + adj``.

    >>> deconv_output_size(5, 3, 2, 1, 1, 1)
    10
    """
    return stride * (size - 1) + dilate * (kernel - 1) + 1 - 2 * pad + adj


def deconv_target_padding(size, kernel, stride, dilate, target):
    """``(pad, adj)`` that make one axis of a deconvolution ``target`` long, chosen as MXNet
    1.9.1 does: the excess ``e = stride·(size − 1) + dilate·(kernel − 1) + 1 − target`` is
    split as ``pad = ceil(e / 2)``, ``adj = e mod 2``.  None when ``target`` is larger than
    the deconvolution with no padding (``e < 0``).

    >>> deconv_target_padding(5, 3, 2, 1, 10), deconv_target_padding(5, 3, 2, 1, 9)
    ((1, 1), (1, 0))
    """
    excess = deconv_output_size(size, kernel, stride, 0, dilate, 0) - target
    if excess < 0:
        return None
    return (excess + 1) // 2, excess % 2


@register
class Deconvolution(Operator):
    """Transposed convolution over the trailing 1 or 2 axes of NCW / NCHW data: the
    gradient of :class:`~mxref.operator.conv.Convolution` with respect to its input.

    Each input pixel scatters its value, times the kernel, onto the output:
    ``y[n, g·F/G + f, i·s₀ − p₀ + a·d₀, j·s₁ − p₁ + b·d₁] += x[n, c, i, j] · w[c, f, a, b]``
    for every input channel c of group g (input channels split G ways, as the output
    channels), then ``y += bias``.  Positions that land in the padding are dropped.

    Shapes: data (N, C, H, W), weight (C, F/G, KH, KW), bias (F,) → (N, F, OH, OW) with
    ``OH = s·(H − 1) + d·(KH − 1) + 1 − 2p + adj``.  With ``target_shape``, ``pad`` and
    ``adj`` are ignored and the output is ``target_shape``: the padding is the excess over
    the unpadded size, split as ``pad = ceil(e / 2)``, ``adj = e mod 2`` (MXNet's rule).
    ``adj`` must be smaller than the stride.

    Computation, with Convolution's backend functions (``conv(y, w)`` maps an (N, F, OH, OW)
    array to (N, C, H, W) with the same kernel, stride, pad and dilation):

    * forward: ``y = convᵀ(x, w)`` (Convolution's data gradient: GEMM wᵀ·x then col2im);
    * backward: ``dx = conv(dy, w)`` (im2col then GEMM); ``dw`` = Convolution's weight
      gradient with dy as its input and x as its output gradient; ``db = Σ_{n,oh,ow} dy``.

    >>> import mxref as mx
    >>> x = mx.nd.ones((1, 1, 2, 2))
    >>> mx.nd.Deconvolution(x, mx.nd.ones((1, 1, 2, 2)), kernel=(2, 2), num_filter=1).asnumpy()[0, 0]
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]], dtype=float32)
    """
    op_name = 'Deconvolution'
    arguments = ('data', 'weight', 'bias')
    params = (Param('kernel', 'shape', doc='kernel size: (w,) or (h, w)'),
              Param('stride', 'shape', (), doc='stride, default 1 per axis'),
              Param('dilate', 'shape', (), doc='dilation, default 1 per axis'),
              Param('pad', 'shape', (), doc='padding removed from both sides of the output, '
                                            'default 0 per axis (ignored with target_shape)'),
              Param('adj', 'shape', (), doc='extra rows/columns at the end of the output, '
                                            'each smaller than the stride (ignored with '
                                            'target_shape)'),
              Param('target_shape', 'shape', (), doc='output size: (w,) or (h, w)'),
              Param('num_filter', 'int', doc='number of output channels F'),
              Param('num_group', 'int', 1, doc='number of groups G'),
              Param('workspace', 'int', 512, doc='workspace limit in MB (accepted, not used)'),
              Param('no_bias', 'bool', True, doc='whether to leave out the bias (default '
                                                 'True, unlike Convolution)'),
              Param('cudnn_tune', 'str?', None,
                    choices=(None, 'fastest', 'limited_workspace', 'off'),
                    doc='cuDNN algorithm choice (accepted, not used)'),
              Param('cudnn_off', 'bool', False, doc='turn off cuDNN (accepted, not used)'),
              Param('layout', 'str?', None, choices=_LAYOUTS,
                    doc='NCW or NCHW (default for 1-D / 2-D kernels)'))

    def setup(self):
        dims = _setup_kernel_window(self, non_negative=('pad', 'adj'))
        if self.target_shape and len(self.target_shape) != dims:
            self.fail('target_shape=%s must have %d value(s), like kernel=%s'
                      % (self.target_shape, dims, self.kernel))
        # MXNet uses target_shape when any entry is non-zero; an entry 0 next to a non-zero
        # one gives MXNet 1.9.1 an empty output axis, which no network wants
        self.use_target = any(self.target_shape)
        if self.use_target and min(self.target_shape) < 1:
            self.fail('target_shape=%s must be all positive (or all 0: not set)'
                      % (self.target_shape,))
        if not self.use_target:
            for axis in range(dims):
                if self.adj[axis] >= self.stride[axis]:
                    self.fail('adj=%s must be smaller than stride=%s on every axis'
                              % (self.adj, self.stride))

    def list_arguments(self):
        return ['data', 'weight'] if self.no_bias else ['data', 'weight', 'bias']

    def _padding(self, spatial):
        """``(pad, adj)`` per axis for input spatial sizes ``spatial`` (0: unknown)."""
        if not self.use_target:
            return self.pad, self.adj
        pads, adjs = [], []
        for axis, size in enumerate(spatial):
            if not size:
                pads.append(0)
                adjs.append(0)
                continue
            found = deconv_target_padding(size, self.kernel[axis], self.stride[axis],
                                          self.dilate[axis], self.target_shape[axis])
            if found is None:
                self.fail('target_shape=%s is too big: an input of size %d along axis %d '
                          'gives at most %d' % (self.target_shape, size, axis + 2,
                                                deconv_output_size(size, self.kernel[axis],
                                                                   self.stride[axis], 0,
                                                                   self.dilate[axis], 0)))
            if found[1] >= self.stride[axis]:
                self.fail('target_shape=%s needs adj=%d along axis %d, which must be smaller '
                          'than stride=%s' % (self.target_shape, found[1], axis + 2,
                                              self.stride))
            pads.append(found[0])
            adjs.append(found[1])
        return tuple(pads), tuple(adjs)

    accepts_partial = True

    def infer_shape(self, in_shapes, partial=False):
        shapes = list(in_shapes)
        data = shapes[0]
        if data is None:                # as in MXNet, the weight alone does not give the data
            return shapes, [None], []
        known = _infer_window_params(
            self, shapes, partial,
            lambda channels: (channels, self.num_filter // self.num_group) + self.kernel)
        spatial = [size if known(size) else 0 for size in data[2:]]
        pad, adj = self._padding(spatial)
        out = []
        for axis, size in enumerate(spatial):
            if not size:
                out.append(self.target_shape[axis] if self.use_target else 0)
                continue
            length = deconv_output_size(size, self.kernel[axis], self.stride[axis], pad[axis],
                                        self.dilate[axis], adj[axis])
            if length < 1:
                self.fail('output size %d along axis %d is not positive: pad=%s is too large '
                          'for data %s and kernel=%s'
                          % (length, axis + 2, self.pad, shape_str(data), self.kernel))
            out.append(length)
        return shapes, [(data[0], self.num_filter) + tuple(out)], []

    def infer_type(self, in_types):
        return _infer_float_type(self, in_types)

    def _geometry(self, x):
        """(stride, pad, dilate) as pairs for the data buffer ``x``."""
        pad, _ = self._padding(x.shape[2:])
        return (_as_2d(self.stride, 1), _as_2d(pad, 0), _as_2d(self.dilate, 1))

    def forward(self, is_train, req, in_data, out_data, aux):
        B = self.B
        stride, pad, dilate = self._geometry(in_data[0])
        y = _view_2d(B, out_data[0])
        B.conv2d_backward_data(_view_2d(B, in_data[0]), _view_2d(B, in_data[1]), y, req[0],
                               stride, pad, dilate, self.num_group)
        if not self.no_bias and req[0] != 'null':
            B.elementwise('b', y, 'add', b=B.reshape(in_data[2], (1, self.num_filter, 1, 1)))

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        B = self.B
        stride, pad, dilate = self._geometry(in_data[0])
        dy = _view_2d(B, out_grad[0])
        B.conv2d_forward(dy, _view_2d(B, in_data[1]), None, _view_2d(B, in_grad[0]), req[0],
                         stride, pad, dilate, self.num_group)
        B.conv2d_backward_weight(_view_2d(B, in_data[0]), dy, _view_2d(B, in_grad[1]), req[1],
                                 stride, pad, dilate, self.num_group)
        if not self.no_bias:
            B.conv2d_backward_bias(dy, in_grad[2], req[2])


@register
class UpSampling(Operator):
    """Enlarges NCHW images ``scale`` times along H and W.

    ``sample_type='nearest'``: every pixel becomes a ``scale × scale`` block,
    ``y[n, c, i, j] = x[n, c, i // s, j // s]``.  With several inputs (``num_args``), the
    output is ``scale`` times the first input's size and every input is enlarged by its
    own factor ``s_k = OH / H_k`` (which must divide the output on both axes); the results
    are joined along the channels (``multi_input_mode='concat'``) or added
    (``'sum'``, inputs of one channel count).  Shapes: (N, C_k, H_k, W_k) → (N, ΣC_k or C,
    s·H_0, s·W_0).  Gradient: each input pixel receives the sum of dy over its block.

    ``sample_type='bilinear'``: inputs data (N, C, H, W) and weight (C, 1, K, K) with
    ``K = 2s − s mod 2``; the output is the per-channel :class:`Deconvolution` with that
    kernel, ``stride = s``, ``pad = ceil((s − 1) / 2)`` and ``num_group = C`` (``num_filter``
    must equal C), so (N, C, s·H, s·W).  The weight is initialised by
    :class:`mxref.initializer.Bilinear` (written as its ``__init__`` attribute), which makes
    it bilinear interpolation; it is an ordinary, trainable argument.

    >>> import mxref as mx
    >>> mx.nd.UpSampling(mx.nd.array([[[[1, 2]]]]), scale=2, sample_type='nearest').asnumpy()
    array([[[[1., 1., 2., 2.],
             [1., 1., 2., 2.]]]], dtype=float32)
    """
    op_name = 'UpSampling'
    params = (Param('scale', 'int', doc='upsampling factor s'),
              Param('num_filter', 'int', 0, doc="bilinear: the number of channels C"),
              Param('sample_type', 'str', choices=('bilinear', 'nearest'),
                    doc='nearest-neighbour blocks or bilinear (deconvolution)'),
              Param('multi_input_mode', 'str', 'concat', choices=('concat', 'sum'),
                    doc='nearest with several inputs: join along channels, or add'),
              Param('num_args', 'int', doc='number of inputs (bilinear: the data only, '
                                           'or data and weight)'),
              Param('workspace', 'int', 512, doc='workspace limit in MB (accepted, not used)'))
    num_args_param = 'num_args'

    def setup(self):
        if self.scale < 1:
            self.fail('scale must be at least 1, got %d' % self.scale)
        self.bilinear = self.sample_type == 'bilinear'
        if self.bilinear:
            if self.num_args not in (1, 2):
                self.fail('bilinear takes data and weight (num_args 1 or 2), got num_args=%d'
                          % self.num_args)
            if self.multi_input_mode != 'concat':
                self.fail("bilinear takes one image input; multi_input_mode='%s' is for "
                          "nearest" % self.multi_input_mode)
            if self.num_filter < 1:
                self.fail('bilinear needs num_filter, the number of channels, got %d'
                          % self.num_filter)
            s = self.scale
            kernel = 2 * s - s % 2
            self.deconv = Deconvolution({'kernel': str((kernel, kernel)),
                                         'stride': str((s, s)),
                                         'pad': str((s // 2, s // 2)),          # ceil((s - 1) / 2)
                                         'num_filter': str(self.num_filter),
                                         'num_group': str(self.num_filter),
                                         'no_bias': 'True'}, name=self.name)
            self.input_init = {'weight': '["bilinear", {}]'}

    def to(self, ctx):
        super().to(ctx)
        if self.bilinear:
            self.deconv.to(ctx)
        return self

    def list_arguments(self):
        if self.bilinear:
            return ['data', 'weight']
        return ['arg%d' % i for i in range(self.num_args)]

    def infer_shape(self, in_shapes):
        shapes = list(in_shapes)
        first = shapes[0]
        if first is None:
            return shapes, [None], []
        for arg, shape in zip(self.list_arguments(), shapes):
            if self.bilinear and arg == 'weight':
                continue
            if shape is not None and len(shape) != 4:
                self.fail('%s must be NCHW (4 dimensions), got shape %s'
                          % (arg, shape_str(shape)))
        if self.bilinear:
            if first[1] != self.num_filter:
                self.fail('bilinear needs num_filter equal to the channels of data: '
                          'num_filter=%d, data %s' % (self.num_filter, shape_str(first)))
            return self.deconv.infer_shape(shapes)
        if any(s is None for s in shapes):
            return shapes, [None], []
        oh, ow = first[2] * self.scale, first[3] * self.scale
        channels = 0
        for arg, shape in zip(self.list_arguments(), shapes):
            if shape[0] != first[0]:
                self.fail('inputs must share the batch size: arg0 %s, %s %s'
                          % (shape_str(first), arg, shape_str(shape)))
            if (oh % shape[2] or ow % shape[3] or oh // shape[2] != ow // shape[3]):
                self.fail('%s %s must enlarge to the output size %s by one whole factor on '
                          'both axes' % (arg, shape_str(shape), (oh, ow)))
            if self.multi_input_mode == 'sum':
                if shape[1] != first[1]:
                    self.fail("multi_input_mode='sum' needs one channel count: arg0 %s, %s %s"
                              % (shape_str(first), arg, shape_str(shape)))
                channels = shape[1]
            else:
                channels += shape[1]
        return shapes, [(first[0], channels, oh, ow)], []

    def infer_type(self, in_types):
        in_types, out_types, aux = super().infer_type(in_types)
        dtype = out_types[0]
        if dtype is not None and np.dtype(dtype).kind != 'f':
            self.fail('supports floating-point data, got %s' % np.dtype(dtype).name,
                      error=MXNetTypeError)
        if self.bilinear:
            _check_float(self, dtype)
        return in_types, out_types, aux

    @staticmethod
    def _blocks(B, buf, scale):
        """(N, C, H, W) as (N, C, H, 1, W, 1) when ``scale`` is None, else the enlarged
        (N, C, H·s, W·s) as (N, C, H, s, W, s)."""
        n, c, h, w = buf.shape
        if scale is None:
            return B.reshape(buf, (n, c, h, 1, w, 1))
        return B.reshape(buf, (n, c, h // scale, scale, w // scale, scale))

    def _pieces(self, B, out, inputs):
        """Where each input's enlargement goes: the output itself (one input, or 'sum'), or
        a channel slice of it given as fresh buffers joined afterwards ('concat')."""
        if len(inputs) == 1 or self.multi_input_mode == 'sum':
            return [out] * len(inputs), False
        return [B.empty((x.shape[0], x.shape[1]) + out.shape[2:], x.dtype) for x in inputs], True

    def forward(self, is_train, req, in_data, out_data, aux):
        if self.bilinear:
            self.deconv.forward(is_train, req, in_data, out_data, aux)
            return
        B, out = self.B, out_data[0]
        if req[0] == 'null':
            return
        targets, joined = self._pieces(B, out, in_data)
        for k, (x, target) in enumerate(zip(in_data, targets)):
            scale = out.shape[2] // x.shape[2]
            step = 'write' if joined else (req[0] if k == 0 else 'add')
            B.elementwise('x', self._blocks(B, target, scale), step, x=self._blocks(B, x, None))
        if joined:
            B.concat(targets, 1, out, req[0])

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        if self.bilinear:
            self.deconv.backward(req, out_grad, in_data, out_data, in_grad, aux)
            return
        B, dy = self.B, out_grad[0]
        if len(in_data) == 1 or self.multi_input_mode == 'sum':
            pieces = [dy] * len(in_data)
        else:
            pieces = [B.empty((x.shape[0], x.shape[1]) + dy.shape[2:], x.dtype) for x in in_data]
            B.split(dy, 1, pieces, ['write'] * len(pieces))
        for x, piece, dx, r in zip(in_data, pieces, in_grad, req):
            if r != 'null':
                scale = dy.shape[2] // x.shape[2]
                B.sum_to(self._blocks(B, piece, scale), self._blocks(B, dx, None), r)
