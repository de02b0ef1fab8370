"""Normalisation layers: BatchNorm, LayerNorm, InstanceNorm, L2Normalization and LRN, written
with the backend's reductions and elementwise formulas (so they run on every device)."""
import numpy as np

from ..base import MXNetTypeError
from .base import Operator, register, shape_str
from .params import Param

__all__ = ['BatchNorm', 'LayerNorm', 'InstanceNorm', 'L2Normalization', 'LRN']


def _channel_view_shape(ndim, axis, size):
    """The shape (1, .., size, .., 1) that makes a per-channel vector broadcast along ``axis``."""
    shape = [1] * ndim
    shape[axis] = size
    return tuple(shape)


@register
class BatchNorm(Operator):
    """Normalises each channel (``axis``) over the batch and the other axes.

    Training: ``μ, σ² = mean and (biased) variance of x per channel``;
    ``y = γ·(x − μ)·r + β`` with ``r = 1/√(σ² + eps)``, and the auxiliary states move towards
    the batch: ``moving = moving·momentum + batch·(1 − momentum)``.
    Inference (or ``use_global_stats``): the moving statistics replace μ and σ².
    ``fix_gamma`` uses γ = 1 (and writes 1 into gamma, as MXNet does); γ gets no gradient.
    The hidden outputs ``mean`` and ``var`` hold μ and r (MXNet stores the inverse standard
    deviation there).
    Gradients (x̂ = (x − μ)·r, m elements per channel):
    ``dβ = Σ dy``; ``dγ = Σ dy·x̂``; ``dx = γ·r·(dy − dβ/m − x̂·dγ/m)``, or ``dx = γ·r·dy``
    when the statistics were not computed from the batch.
    """
    op_name = 'BatchNorm'
    arguments = ('data', 'gamma', 'beta')
    outputs = ('output', 'mean', 'var')
    aux_states = ('moving_mean', 'moving_var')
    input_init = {'moving_mean': '["zero", {}]', 'moving_var': '["one", {}]'}
    params = (Param('eps', 'float', 1e-3), Param('momentum', 'float', 0.9),
              Param('fix_gamma', 'bool', True), Param('use_global_stats', 'bool', False),
              Param('output_mean_var', 'bool', False), Param('axis', 'int', 1),
              Param('cudnn_off', 'bool', False), Param('min_calib_range', 'float?', None),
              Param('max_calib_range', 'float?', None))

    def setup(self):
        self._batch_stats = False          # whether the last forward used batch statistics

    def num_visible_outputs(self):
        return 3 if self.output_mean_var else 1

    accepts_partial = True

    def infer_shape(self, in_shapes, partial=False):
        shapes = list(in_shapes)
        data = shapes[0]
        if data is None:                # as in MXNet, gamma alone does not give the data
            return shapes, [None, None, None], [None, None]
        if not -len(data) <= self.axis < len(data):
            self.fail('axis %d is out of range for data %s' % (self.axis, shape_str(data)))
        channels = (data[self.axis % len(data)],)      # (0,) while the channels are unknown
        for i in (1, 2):
            (self.merge_shape if partial else self.assign_shape)(shapes, i, channels)
        return shapes, [data, channels, channels], [channels, channels]

    def infer_type(self, in_types):
        if in_types[0] is None:
            return in_types, [None] * 3, [None] * 2
        dtype = np.dtype(in_types[0])
        param = np.dtype(np.float32) if dtype == np.float16 else dtype
        return [dtype, param, param], [dtype, param, param], [param, param]

    def _layout(self, x):
        """(per-channel view shape, axes reduced over, elements per channel)."""
        axis = self.axis % x.ndim
        view = _channel_view_shape(x.ndim, axis, x.shape[axis])
        return view, tuple(i for i in range(x.ndim) if i != axis), x.size // x.shape[axis]

    def forward(self, is_train, req, in_data, out_data, aux):
        B = self.B
        x, gamma, beta = in_data
        mean, invstd = out_data[1], out_data[2]
        view, reduce_axes, _ = self._layout(x)
        if self.fix_gamma:
            B.store(gamma, 1, 'write')
        self._batch_stats = is_train and not self.use_global_stats
        if self._batch_stats:
            squares = B.empty(x.shape, x.dtype)
            B.reduce('mean', x, reduce_axes, mean, 'write')
            B.elementwise('(x - m) * (x - m)', squares, 'write', x=x, m=B.reshape(mean, view))
            B.reduce('mean', squares, reduce_axes, invstd, 'write')          # σ² for now
            moving_mean, moving_var = aux
            B.elementwise('r * mom + b * (1 - mom)', moving_mean, 'write', r=moving_mean,
                          b=mean, mom=self.momentum)
            B.elementwise('r * mom + b * (1 - mom)', moving_var, 'write', r=moving_var,
                          b=invstd, mom=self.momentum)
            B.elementwise('1 / sqrt(v + eps)', invstd, 'write', v=invstd, eps=self.eps)
        else:
            B.store(mean, aux[0], 'write')
            B.elementwise('1 / sqrt(v + eps)', invstd, 'write', v=aux[1], eps=self.eps)
        B.elementwise('(x - m) * r * g + b', out_data[0], req[0], x=x, m=B.reshape(mean, view),
                      r=B.reshape(invstd, view), g=B.reshape(gamma, view),
                      b=B.reshape(beta, view))

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        B = self.B
        x, gamma, _ = in_data
        dy = out_grad[0]
        view, reduce_axes, count = self._layout(x)
        m, r = B.reshape(out_data[1], view), B.reshape(out_data[2], view)
        g = B.reshape(gamma, view)
        channels = gamma.shape[0]
        sum_dy = B.empty((channels,), gamma.dtype)
        sum_dy_xhat = B.empty((channels,), gamma.dtype)
        scratch = B.empty(x.shape, x.dtype)
        B.reduce('sum', dy, reduce_axes, sum_dy, 'write')
        B.elementwise('dy * (x - m) * r', scratch, 'write', dy=dy, x=x, m=m, r=r)
        B.reduce('sum', scratch, reduce_axes, sum_dy_xhat, 'write')
        if self._batch_stats:
            B.elementwise('g * r * (dy - sdy / n - (x - m) * r * sdyx / n)', in_grad[0], req[0],
                          dy=dy, x=x, m=m, r=r, g=g, n=count, sdy=B.reshape(sum_dy, view),
                          sdyx=B.reshape(sum_dy_xhat, view))
        else:
            B.elementwise('dy * g * r', in_grad[0], req[0], dy=dy, g=g, r=r)
        if self.fix_gamma:
            B.store(in_grad[1], 0, req[1])
        else:
            B.store(in_grad[1], sum_dy_xhat, req[1])
        B.store(in_grad[2], sum_dy, req[2])


@register
class LayerNorm(Operator):
    """Normalises over ``axis`` within each sample: ``y = γ·(x − μ)/σ + β`` with
    ``σ = √(var + eps)``; γ and β have the size of that axis.  Outputs: y, μ, σ.
    Gradients: ``dβ = Σ dy``; ``dγ = Σ dy·x̂``;
    ``dx = (ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) / σ`` with ``ĝ = γ·dy`` (means along ``axis``).
    """
    op_name = 'LayerNorm'
    arguments = ('data', 'gamma', 'beta')
    outputs = ('output', 'mean', 'std')
    params = (Param('axis', 'int', -1), Param('eps', 'float', 1e-5),
              Param('output_mean_var', 'bool', False))

    def num_visible_outputs(self):
        return 3 if self.output_mean_var else 1

    def infer_shape(self, in_shapes):
        shapes = list(in_shapes)
        data = shapes[0]
        if data is None:
            return shapes, [None, None, None], []
        axis = self.check_axis(self.axis, len(data))
        for i in (1, 2):
            self.assign_shape(shapes, i, (data[axis],))
        stat = tuple(1 if i == axis else n for i, n in enumerate(data))
        return shapes, [tuple(data), stat, stat], []

    def forward(self, is_train, req, in_data, out_data, aux):
        B = self.B
        x, gamma, beta = in_data
        axis = self.axis % x.ndim
        view = _channel_view_shape(x.ndim, axis, x.shape[axis])
        mean, std = out_data[1], out_data[2]
        B.reduce('mean', x, (axis,), mean, 'write')
        squares = B.empty(x.shape, x.dtype)
        B.elementwise('(x - m) * (x - m)', squares, 'write', x=x, m=mean)
        B.reduce('mean', squares, (axis,), std, 'write')
        B.elementwise('sqrt(v + eps)', std, 'write', v=std, eps=self.eps)
        B.elementwise('(x - m) / s * g + b', out_data[0], req[0], x=x, m=mean, s=std,
                      g=B.reshape(gamma, view), b=B.reshape(beta, view))

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        B = self.B
        x, gamma, _ = in_data
        dy = out_grad[0]
        axis = self.axis % x.ndim
        view = _channel_view_shape(x.ndim, axis, x.shape[axis])
        mean, std = out_data[1], out_data[2]
        g = B.reshape(gamma, view)
        xhat = B.empty(x.shape, x.dtype)
        B.elementwise('(x - m) / s', xhat, 'write', x=x, m=mean, s=std)
        scratch = B.empty(x.shape, x.dtype)
        B.elementwise('dy * h', scratch, 'write', dy=dy, h=xhat)
        B.sum_to(scratch, B.reshape(in_grad[1], view), req[1])
        B.sum_to(dy, B.reshape(in_grad[2], view), req[2])
        if req[0] == 'null':
            return
        mean_g = B.empty(mean.shape, x.dtype)
        mean_gx = B.empty(mean.shape, x.dtype)
        B.elementwise('dy * g', scratch, 'write', dy=dy, g=g)
        B.reduce('mean', scratch, (axis,), mean_g, 'write')
        B.elementwise('dy * g * h', scratch, 'write', dy=dy, g=g, h=xhat)
        B.reduce('mean', scratch, (axis,), mean_gx, 'write')
        B.elementwise('(dy * g - mg - h * mgx) / s', in_grad[0], req[0], dy=dy, g=g, mg=mean_g,
                      h=xhat, mgx=mean_gx, s=std)


def _nc_rest(shape):
    """(N, C, S): ``shape`` seen as batch, channel and everything else (S = 1 when nothing)."""
    n = shape[0]
    c = shape[1] if len(shape) > 1 else 1
    return (n, c, int(np.prod(shape[2:], dtype=np.int64)))


@register
class InstanceNorm(Operator):
    """Normalises each channel of each sample over its spatial positions.

    Data (N, C, spatial...) with at least 2 axes; gamma and beta have shape (C,).  With μ and
    σ² the mean and (biased) variance of ``x[n, c, ...]`` over the spatial axes:
    ``y = γ[c]·(x − μ)/σ + β[c]`` with ``σ = √(σ² + eps)``.  For 2-D data every "spatial
    extent" is one value, so ``y = β``, as in MXNet.  The hidden outputs ``mean`` and ``var``
    (shape (N, C)) hold μ and σ².  float32 only, as MXNet 1.9.1.

    Gradients (x̂ = (x − μ)/σ, means over the spatial positions of one (n, c)):
    ``dβ[c] = Σ_{n, spatial} dy``; ``dγ[c] = Σ_{n, spatial} dy·x̂``;
    ``dx = γ[c]/σ · (dy − mean(dy) − x̂·mean(dy·x̂))``.
    """
    op_name = 'InstanceNorm'
    arguments = ('data', 'gamma', 'beta')
    outputs = ('output', 'mean', 'var')
    params = (Param('eps', 'float', 1e-3, doc='added to the variance'),)

    def num_visible_outputs(self):
        return 1

    def infer_shape(self, in_shapes):
        shapes = list(in_shapes)
        data = shapes[0]
        if data is None:
            return shapes, [None, None, None], []
        if len(data) < 2:
            self.fail('data must have at least 2 dimensions (batch, channel, spatial...), got '
                      'shape %s' % shape_str(data))
        for i in (1, 2):
            self.assign_shape(shapes, i, (data[1],))
        stat = (data[0], data[1])
        return shapes, [tuple(data), stat, stat], []

    def infer_type(self, in_types):
        in_types, out_types, aux = super().infer_type(in_types)
        for name, dtype in zip(self.arguments, in_types):
            if dtype is not None and np.dtype(dtype) != np.float32:
                self.fail('%s must be float32 (MXNet 1.9.1 computes InstanceNorm in float32 '
                          'only), got %s' % (name, np.dtype(dtype).name), error=MXNetTypeError)
        return in_types, out_types, aux

    def _views(self, x, gamma, mean, var):
        """x as (N, C, S); gamma, mean and var shaped to broadcast against it."""
        B = self.B
        n, c, s = _nc_rest(x.shape)
        return (B.reshape(x, (n, c, s)), B.reshape(gamma, (1, c, 1)),
                B.reshape(mean, (n, c, 1)), B.reshape(var, (n, c, 1)))

    def forward(self, is_train, req, in_data, out_data, aux):
        B = self.B
        x, g, m, v = self._views(in_data[0], in_data[1], out_data[1], out_data[2])
        b = B.reshape(in_data[2], g.shape)
        B.reduce('mean', x, (2,), m, 'write')
        squares = B.empty(x.shape, x.dtype)
        B.elementwise('(x - m) * (x - m)', squares, 'write', x=x, m=m)
        B.reduce('mean', squares, (2,), v, 'write')
        B.elementwise('(x - m) / sqrt(v + eps) * g + b', B.reshape(out_data[0], x.shape),
                      req[0], x=x, m=m, v=v, g=g, b=b, eps=self.eps)

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        B = self.B
        x, g, m, v = self._views(in_data[0], in_data[1], out_data[1], out_data[2])
        dy = B.reshape(out_grad[0], x.shape)
        n, c, _ = x.shape
        xhat = B.empty(x.shape, x.dtype)
        B.elementwise('(x - m) / sqrt(v + eps)', xhat, 'write', x=x, m=m, v=v, eps=self.eps)
        scratch = B.empty(x.shape, x.dtype)
        B.elementwise('dy * h', scratch, 'write', dy=dy, h=xhat)
        B.reduce('sum', scratch, (0, 2), B.reshape(in_grad[1], (1, c, 1)), req[1])
        B.reduce('sum', dy, (0, 2), B.reshape(in_grad[2], (1, c, 1)), req[2])
        if req[0] == 'null':
            return
        mean_dy = B.empty((n, c, 1), x.dtype)
        mean_dyh = B.empty((n, c, 1), x.dtype)
        B.reduce('mean', dy, (2,), mean_dy, 'write')
        B.reduce('mean', scratch, (2,), mean_dyh, 'write')
        B.elementwise('g / sqrt(v + eps) * (dy - mdy - h * mdyh)',
                      B.reshape(in_grad[0], x.shape), req[0], g=g, v=v, eps=self.eps, dy=dy,
                      mdy=mean_dy, h=xhat, mdyh=mean_dyh)


@register
class L2Normalization(Operator):
    """Divides the input by its L2 norm: ``y = x / √(Σ x² + eps)``, the sum running, for
    each sample n of (N, C, spatial...) data, over

    * ``mode='instance'``: all of the sample (any data of at least 1 axis);
    * ``mode='channel'``: the channels, separately at each spatial position (at least 3-D);
    * ``mode='spatial'``: the spatial positions, separately for each channel (at least 3-D).

    The hidden output ``norm`` holds the divisor (shape (N,), (N, 1, spatial...) and (N, C)
    for the three modes).  Floating-point data only, as MXNet 1.9.1.

    Gradient (r = the divisor, sums over the same values): ``dx = (dy − y·Σ dy·y) / r``.
    """
    op_name = 'L2Normalization'
    outputs = ('output', 'norm')
    params = (Param('eps', 'float', 1e-10, doc='added to the sum of squares'),
              Param('mode', 'str', 'instance', choices=('channel', 'instance', 'spatial'),
                    doc='which values share a norm'))

    _AXES = {'instance': (1, 2), 'channel': (1,), 'spatial': (2,)}

    def num_visible_outputs(self):
        return 1

    def infer_shape(self, in_shapes):
        data = in_shapes[0]
        if data is None:
            return list(in_shapes), [None, None], []
        if len(data) < (1 if self.mode == 'instance' else 3):
            self.fail("mode '%s' needs data of at least 3 dimensions (batch, channel, "
                      'spatial...), got shape %s' % (self.mode, shape_str(data)))
        if self.mode == 'instance':
            norm = (data[0],)
        elif self.mode == 'channel':
            norm = (data[0], 1) + tuple(data[2:])
        else:
            norm = (data[0], data[1])
        return [tuple(data)], [tuple(data), norm], []

    def infer_type(self, in_types):
        in_types, out_types, aux = super().infer_type(in_types)
        dtype = out_types[0]
        if dtype is not None and np.dtype(dtype) not in (np.float16, np.float32, np.float64):
            self.fail('data must be float16, float32 or float64, got %s'
                      % np.dtype(dtype).name, error=MXNetTypeError)
        return in_types, out_types, aux

    def _views(self, *bufs):
        """The buffers (of the data's shape) as (N, C, S), and the norm shaped to broadcast."""
        B = self.B
        n, c, s = _nc_rest(bufs[0].shape)
        norm_view = (n, 1 if 1 in self._AXES[self.mode] else c, 1 if 2 in self._AXES[self.mode]
                     else s)
        *data, norm = bufs
        return [B.reshape(b, (n, c, s)) for b in data] + [B.reshape(norm, norm_view)]

    def forward(self, is_train, req, in_data, out_data, aux):
        B = self.B
        x, y, r = self._views(in_data[0], out_data[0], out_data[1])
        squares = B.empty(x.shape, x.dtype)
        B.elementwise('x * x', squares, 'write', x=x)
        B.reduce('sum', squares, self._AXES[self.mode], r, 'write')
        B.elementwise('sqrt(s + eps)', r, 'write', s=r, eps=self.eps)
        B.elementwise('x / r', y, req[0], x=x, r=r)

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        if req[0] == 'null':
            return
        B = self.B
        dy, y, dx, r = self._views(out_grad[0], out_data[0], in_grad[0], out_data[1])
        scratch = B.empty(y.shape, y.dtype)
        B.elementwise('dy * y', scratch, 'write', dy=dy, y=y)
        dot = B.empty(r.shape, y.dtype)
        B.reduce('sum', scratch, self._AXES[self.mode], dot, 'write')
        B.elementwise('(dy - y * d) / r', dx, req[0], dy=dy, y=y, d=dot, r=r)


@register
class LRN(Operator):
    """Local response normalisation across channels (axis 1 of (N, C, ...) data).

    ``t[n, c] = knorm + (alpha / nsize) · Σ_{j = c−h}^{c+h} x[n, j]²`` with
    ``h = (nsize − 1) // 2`` (channels outside 0 … C−1 left out of the sum), and
    ``y = x · t^(−beta)``.  For odd ``nsize`` the window is the ``nsize`` channels centred
    on c; for even ``nsize`` it is ``nsize − 1`` channels while the scale stays
    ``alpha / nsize``, which is what MXNet 1.9.1's CPU (oneDNN) kernel computes.  The
    hidden second output ``tmp_norm`` holds t, as in MXNet (its JSON counts two outputs).

    Gradient (the window is symmetric, so channel i is in c's window iff c is in i's):
    ``dx = dy · t^(−beta) − (2·alpha·beta / nsize) · x · Σ_{window} dy · x · t^(−beta−1)``.

    The channel-window sum is a convolution of x² (seen as (N, 1, C, rest)) with a
    (2h + 1) × 1 kernel of ones and padding h, so it runs on the backend's convolution.

    >>> import mxref as mx
    >>> mx.nd.LRN(mx.nd.ones((1, 3, 1, 1)), nsize=3, alpha=0.3, knorm=1, beta=1).asnumpy().ravel()
    array([0.8333333, 0.7692308, 0.8333333], dtype=float32)
    """
    op_name = 'LRN'
    outputs = ('output', 'tmp_norm')
    params = (Param('alpha', 'float', 1e-4, doc='scale of the sum of squares (divided by '
                                                'nsize)'),
              Param('beta', 'float', 0.75, doc='exponent'),
              Param('knorm', 'float', 2.0, doc='constant k added to the scaled sum'),
              Param('nsize', 'int', doc='window width in channels'))

    def setup(self):
        if self.nsize < 1:
            self.fail('nsize must be at least 1, got %d' % self.nsize)
        self.half = (self.nsize - 1) // 2

    def num_visible_outputs(self):
        return 1

    def infer_shape(self, in_shapes):
        data = in_shapes[0]
        if data is None:
            return list(in_shapes), [None, None], []
        if len(data) < 2:
            self.fail('data must have a channel axis (at least 2 dimensions), got shape %s'
                      % shape_str(data))
        return [tuple(data)], [tuple(data), tuple(data)], []

    def infer_type(self, in_types):
        in_types, out_types, aux = super().infer_type(in_types)
        dtype = out_types[0]
        if dtype is not None and np.dtype(dtype) not in (np.float32, np.float64):
            self.fail('supports float32 and float64 data, got %s' % np.dtype(dtype).name,
                      error=MXNetTypeError)
        return in_types, out_types, aux

    def _window_sum(self, src, out):
        """out = the sum of ``src`` over each channel's window (a convolution with ones)."""
        B = self.B
        n, c = src.shape[:2]
        view = (n, 1, c, src.size // max(n * c, 1))
        ones = B.full((1, 1, 2 * self.half + 1, 1), 1.0, src.dtype)
        B.conv2d_forward(B.reshape(src, view), ones, None, B.reshape(out, view), 'write',
                         (1, 1), (self.half, 0), (1, 1))

    def forward(self, is_train, req, in_data, out_data, aux):
        B = self.B
        x = in_data[0]
        t = out_data[1]
        squares = B.empty(x.shape, x.dtype)
        B.elementwise('x * x', squares, 'write', x=x)
        self._window_sum(squares, t)
        B.elementwise('k + a * s', t, 'write', s=t, k=self.knorm, a=self.alpha / self.nsize)
        B.elementwise('x * power(t, -b)', out_data[0], req[0], x=x, t=t, b=self.beta)

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        if req[0] == 'null':
            return
        B = self.B
        x, dy, t = in_data[0], out_grad[0], out_data[1]
        scratch = B.empty(x.shape, x.dtype)
        B.elementwise('dy * x * power(t, -b - 1)', scratch, 'write', dy=dy, x=x, t=t,
                      b=self.beta)
        summed = B.empty(x.shape, x.dtype)
        self._window_sum(scratch, summed)
        B.elementwise('dy * power(t, -b) - c * x * s', in_grad[0], req[0], dy=dy, x=x, t=t,
                      s=summed, b=self.beta, c=2 * self.alpha * self.beta / self.nsize)
