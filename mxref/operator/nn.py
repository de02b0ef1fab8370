"""Neural-network layers: FullyConnected, LeakyReLU, Embedding, Dropout, softmax and friends."""
import math

import numpy as np

from .base import Operator, register, shape_str, merge_shapes
from .params import Param

__all__ = ['FullyConnected', 'LeakyReLU', 'Embedding', 'Dropout', 'Softmax', 'LogSoftmax',
           'SoftmaxActivation', 'flat2d']


def flat2d(shape):
    """(n, d1, d2, ...) -> (n, d1*d2*...)."""
    return (shape[0], math.prod(int(d) for d in shape[1:]))     # ints: no NumPy call


@register
class FullyConnected(Operator):
    """Dense layer: ``y = x · Wᵀ + b``, x flattened to (batch, k) unless ``flatten=False``.

    Shapes: data (n, ...) , weight (num_hidden, k), bias (num_hidden,) -> (n, num_hidden).
    Gradients: ``dx = dy · W``;  ``dW = dyᵀ · x``;  ``db = Σ_rows dy``.
    """
    op_name = 'FullyConnected'
    arguments = ('data', 'weight', 'bias')              # bias only without no_bias
    params = (Param('num_hidden', 'int', doc='number of output units'),
              Param('no_bias', 'bool', False, doc='whether to leave out the bias'),
              Param('flatten', 'bool', True, doc='flatten the input to 2-D, else apply to the last axis'))

    def list_arguments(self):
        return ['data', 'weight'] if self.no_bias else ['data', 'weight', 'bias']

    def _rows_cols(self, data):
        if self.flatten:
            return flat2d(data)
        return (int(np.prod(data[:-1], dtype=np.int64)), data[-1])

    accepts_partial = True

    def infer_shape(self, in_shapes, partial=False):
        shapes = list(in_shapes)
        data = shapes[0]
        if data is None:                # as in MXNet, the weight alone does not give the data
            return shapes, [None], []
        if len(data) == 0:
            self.fail('data must have at least one dimension, got shape ()')
        weight = shapes[1]
        if partial and weight is not None and (len(data) == 2 or not self.flatten):
            # the features of 2-D data (or, without flatten, its last axis) are the weight's
            # columns; with more axes flattened, their product is all the weight tells
            if data[-1] and len(weight) == 2 and weight[1] and data[-1] != weight[1]:
                self.fail('data shape %s does not match weight %s: data must have %d features'
                          % (shape_str(data), shape_str(weight), weight[1]))
            data = tuple(data[:-1]) + (data[-1] or (weight[1] if len(weight) == 2 else 0),)
            shapes[0] = data
        k = self._rows_cols(data)[1]          # 1-D data is a column: (n, 1); 0 if unknown
        if weight is not None and not partial and tuple(weight) != (self.num_hidden, k):
            self.fail('data shape %s does not match weight %s: weight must be (num_hidden=%d, %d)'
                      % (shape_str(data), shape_str(weight), self.num_hidden, k))
        self.merge_shape(shapes, 1, (self.num_hidden, k))
        if not self.no_bias:
            self.merge_shape(shapes, 2, (self.num_hidden,))
        out = (data[0], self.num_hidden) if self.flatten else tuple(data[:-1]) + (self.num_hidden,)
        return shapes, [out], []

    def infer_backward(self, what, in_values, out_values):
        """The batch dimension(s) of the data follow from the output's."""
        data, out = in_values[0], out_values[0]
        if what != 'shape' or data is None or out is None:
            return in_values
        lead = 1 if self.flatten else len(out) - 1
        data = merge_shapes(tuple(data[:lead]), tuple(out[:lead]), self, 'data') + tuple(data[lead:])
        return [data] + list(in_values[1:])

    def forward(self, is_train, req, in_data, out_data, aux):
        B = self.B
        x = B.reshape(in_data[0], self._rows_cols(in_data[0].shape))
        y = B.reshape(out_data[0], (x.shape[0], self.num_hidden))
        B.gemm(x, in_data[1], y, req[0], trans_b=True)                   # y = x Wᵀ
        if not self.no_bias and req[0] != 'null':
            B.elementwise('b', y, 'add', b=in_data[2])                  # y += b (each row)

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        B = self.B
        x = B.reshape(in_data[0], self._rows_cols(in_data[0].shape))
        dy = B.reshape(out_grad[0], (x.shape[0], self.num_hidden))
        if req[0] != 'null':
            B.gemm(dy, in_data[1], B.reshape(in_grad[0], x.shape), req[0])       # dx = dy W
        B.gemm(dy, x, in_grad[1], req[1], trans_a=True)                         # dW = dyᵀ x
        if not self.no_bias:
            B.sum_to(dy, in_grad[2], req[2])                                    # db = Σ dy


# ----------------------------------------------------------------------------------------------
# LeakyReLU family
# ----------------------------------------------------------------------------------------------
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_LAMBDA = 1.0507009873554804934193349852946

# act_type: (forward, gradient) with the slope as ``s``
LEAKY_FORMULAS = {
    'leaky': ('where(x > 0, x, s * x)', 'dy * where(x > 0, 1, s)'),
    'elu':   ('where(x > 0, x, s * expm1(x))', 'dy * where(x > 0, 1, y + s)'),
    'selu':  ('%r * where(x > 0, x, %r * expm1(x))' % (SELU_LAMBDA, SELU_ALPHA),
              'dy * where(x > 0, %r, y + %r)' % (SELU_LAMBDA, SELU_LAMBDA * SELU_ALPHA)),
    'gelu':  ('0.5 * x * (1 + erf(x * 0.7071067811865476))',
              'dy * (0.5 * (1 + erf(x * 0.7071067811865476)) + '
              'x * 0.3989422804014327 * exp(-0.5 * x * x))'),
}


@register
class LeakyReLU(Operator):
    """Leaky rectifiers chosen by ``act_type``.

    * leaky: ``y = x if x > 0 else slope·x``
    * elu:   ``y = x if x > 0 else slope·(eˣ − 1)``
    * selu:  ``y = λ·(x if x > 0 else α(eˣ − 1))``
    * gelu:  ``y = x·Φ(x)``
    * prelu: ``y = x if x > 0 else γ_c·x`` with a learned ``gamma`` per channel (axis 1);
      ``dγ_c = Σ dy·x`` over the positions of channel c where x <= 0.
    * rrelu: training draws a slope in [lower_bound, upper_bound] per element; inference uses
      their mean.
    """
    op_name = 'LeakyReLU'
    arguments = ('data', 'gamma')                       # gamma only for prelu
    params = (Param('act_type', 'str', 'leaky', choices=('leaky', 'elu', 'prelu', 'selu',
                                                         'gelu', 'rrelu')),
              Param('slope', 'float', 0.25), Param('lower_bound', 'float', 0.125),
              Param('upper_bound', 'float', 0.334))
    input_init = {'gamma': '["Constant", {"value": 0.25}]'}

    def list_arguments(self):
        return ['data', 'gamma'] if self.act_type == 'prelu' else ['data']

    def list_outputs(self):
        return ['output', 'mask'] if self.act_type == 'rrelu' else ['output']

    def num_visible_outputs(self):
        return 1

    def infer_shape(self, in_shapes):
        shapes = list(in_shapes)
        data = shapes[0]
        if data is None:
            return shapes, [None] * len(self.list_outputs()), []
        if self.act_type == 'prelu':
            channels = data[1] if len(data) > 1 else 1
            if shapes[1] is not None and tuple(shapes[1]) not in ((channels,), (1,)):
                self.fail('gamma must have shape (%d,) or (1,), got %s'
                          % (channels, shape_str(shapes[1])))
            shapes[1] = tuple(shapes[1]) if shapes[1] is not None else (channels,)
        return shapes, [tuple(data)] * len(self.list_outputs()), []

    def _gamma_view(self, gamma, ndim):
        """gamma (C,) seen as (1, C, 1, ...) so it broadcasts along axis 1."""
        shape = [1] * ndim
        if ndim > 1:
            shape[1] = gamma.shape[0]
        else:
            shape[0] = gamma.shape[0]
        return self.B.reshape(gamma, tuple(shape))

    def forward(self, is_train, req, in_data, out_data, aux):
        B, x = self.B, in_data[0]
        if self.act_type == 'prelu':
            B.elementwise('where(x > 0, x, g * x)', out_data[0], req[0], x=x,
                          g=self._gamma_view(in_data[1], x.ndim))
        elif self.act_type == 'rrelu':
            mask = out_data[1]
            if is_train:
                B.random_uniform(self.lower_bound, self.upper_bound, mask)
            else:
                B.store(mask, (self.lower_bound + self.upper_bound) / 2, 'write')
            B.elementwise('where(x > 0, x, m * x)', out_data[0], req[0], x=x, m=mask)
        else:
            B.elementwise(LEAKY_FORMULAS[self.act_type][0], out_data[0], req[0], x=x,
                          s=self.slope)

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        B, x, y, dy = self.B, in_data[0], out_data[0], out_grad[0]
        if self.act_type == 'prelu':
            g = self._gamma_view(in_data[1], x.ndim)
            B.elementwise('dy * where(x > 0, 1, g)', in_grad[0], req[0], x=x, dy=dy, g=g)
            if req[1] != 'null':
                full = B.empty(x.shape, x.dtype)
                B.elementwise('dy * x * (x <= 0)', full, 'write', x=x, dy=dy)
                B.sum_to(full, self._gamma_view(in_grad[1], x.ndim), req[1])
        elif self.act_type == 'rrelu':
            B.elementwise('dy * where(x > 0, 1, m)', in_grad[0], req[0], x=x, dy=dy,
                          m=out_data[1])
        else:
            B.elementwise(LEAKY_FORMULAS[self.act_type][1], in_grad[0], req[0], x=x, y=y,
                          dy=dy, s=self.slope)


# ----------------------------------------------------------------------------------------------
# Embedding and Dropout
# ----------------------------------------------------------------------------------------------
@register
class Embedding(Operator):
    """Looks up rows of ``weight``: ``y[i..., :] = weight[data[i...], :]``.

    Indices are rounded toward zero and clipped into ``[0, input_dim)``.  The data gets no
    gradient; ``dweight[k] = Σ dy[i...]`` over the positions i where ``data == k``.
    """
    op_name = 'Embedding'
    arguments = ('data', 'weight')
    params = (Param('input_dim', 'int', doc='vocabulary size'),
              Param('output_dim', 'int', doc='embedding size'),
              Param('dtype', 'dtype', np.dtype(np.float32)),
              Param('sparse_grad', 'bool', False))

    def infer_shape(self, in_shapes):
        shapes = list(in_shapes)
        self.assign_shape(shapes, 1, (self.input_dim, self.output_dim))
        data = shapes[0]
        return shapes, [None if data is None else tuple(data) + (self.output_dim,)], []

    def infer_type(self, in_types):
        data = in_types[0] if in_types[0] is not None else np.dtype(np.float32)
        weight = in_types[1] if in_types[1] is not None else self.dtype   # a known weight wins
        return [data, weight], [weight], []

    def forward(self, is_train, req, in_data, out_data, aux):
        self.B.take(in_data[1], in_data[0], 0, 'clip', out_data[0], req[0])

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        self.B.store(in_grad[0], 0, req[0])
        self.B.take_backward(out_grad[0], in_data[0], 0, 'clip', in_grad[1], req[1])


@register
class Dropout(Operator):
    """Randomly zeroes inputs while training: ``y = x · m / (1 − p)``, m ~ Bernoulli(1 − p).

    At inference (and when ``p = 0``) it is the identity unless ``mode='always'``.
    ``axes`` shares one mask value along the listed axes.  Gradient: ``dx = dy · m / (1 − p)``.
    The mask (already scaled) is the hidden second output.
    """
    op_name = 'Dropout'
    outputs = ('output', 'mask')
    params = (Param('p', 'float', 0.5, doc='fraction of the input that gets dropped'),
              Param('mode', 'str', 'training', choices=('training', 'always')),
              Param('axes', 'shape', ()), Param('cudnn_off', 'bool?', False))

    def num_visible_outputs(self):
        return 1

    def infer_shape(self, in_shapes):
        data = in_shapes[0]
        return in_shapes, [data, data], []

    def forward(self, is_train, req, in_data, out_data, aux):
        B, x, mask = self.B, in_data[0], out_data[1]
        if (is_train or self.mode == 'always') and self.p > 0:
            shape = tuple(1 if i in self.axes else n for i, n in enumerate(x.shape))
            draw = B.empty(shape, x.dtype)
            B.random_uniform(0.0, 1.0, draw)
            B.elementwise('(u >= p) / (1 - p)', mask, 'write', u=draw, p=self.p)
        else:
            B.store(mask, 1, 'write')
        B.elementwise('x * m', out_data[0], req[0], x=x, m=mask)

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        self.B.elementwise('dy * m', in_grad[0], req[0], dy=out_grad[0], m=out_data[1])


# ----------------------------------------------------------------------------------------------
# softmax
# ----------------------------------------------------------------------------------------------
@register
class Softmax(Operator):
    """``y = exp(x/T) / Σ exp(x/T)`` along ``axis``.  Gradient: ``dx = y·(dy − Σ dy·y) / T``."""
    op_name = 'softmax'
    params = (Param('axis', 'int', -1), Param('temperature', 'float?', None),
              Param('dtype', 'dtype?', None), Param('use_length', 'bool?', False))
    log = False

    def setup(self):
        if self.use_length:
            self.fail('use_length=True is not supported', error=NotImplementedError)

    def infer_shape(self, in_shapes):
        if in_shapes[0] is not None:
            self.check_axis(self.axis, len(in_shapes[0]))
        return super().infer_shape(in_shapes)

    def infer_type(self, in_types):
        in_types, out_types, aux = super().infer_type(in_types)
        return in_types, [self.dtype or out_types[0]], aux

    def forward(self, is_train, req, in_data, out_data, aux):
        self.B.softmax(in_data[0], self.axis % in_data[0].ndim, out_data[0], req[0],
                       temperature=self.temperature or 1.0, log=self.log)

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        self.B.softmax_backward(out_data[0], out_grad[0], self.axis % out_data[0].ndim,
                                in_grad[0], req[0], temperature=self.temperature or 1.0,
                                log=self.log)


@register
class LogSoftmax(Softmax):
    """``y = x/T − log Σ exp(x/T)`` along ``axis``.  Gradient: ``dx = (dy − eʸ·Σ dy) / T``."""
    op_name = 'log_softmax'
    log = True


@register
class SoftmaxActivation(Operator):
    """Softmax over the last axis (``mode='instance'``: MXNet sees the data as
    (all leading axes, last axis)) or over axis 1 (``mode='channel'``).
    Gradient as :class:`Softmax` (along the same axis, also for 3-D and larger data, where
    MXNet's own gradient differs from its forward)."""
    op_name = 'SoftmaxActivation'
    params = (Param('mode', 'str', 'instance', choices=('instance', 'channel')),)

    def _view(self, buf):
        if self.mode == 'instance':
            rows = math.prod(buf.shape[:-1])
            return self.B.reshape(buf, (rows, buf.shape[-1])), 1
        return buf, 1

    def forward(self, is_train, req, in_data, out_data, aux):
        x, axis = self._view(in_data[0])
        self.B.softmax(x, axis, self._view(out_data[0])[0], req[0])

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        y, axis = self._view(out_data[0])
        self.B.softmax_backward(y, self._view(out_grad[0])[0], axis, self._view(in_grad[0])[0],
                                req[0])
