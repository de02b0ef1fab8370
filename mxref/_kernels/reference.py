"""NumPy references for the compiled kernels: the oracles of the tests and the baselines of the
benchmarks.  Each function states the math as directly as NumPy allows; none is fast.

>>> import numpy as np
>>> from mxref._kernels import reference
>>> x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
>>> reference.pool2d_forward(x, (2, 2), (2, 2), (0, 0), 'max', (2, 2))[0, 0]
array([[ 5.,  7.],
       [13., 15.]], dtype=float32)
"""
import numpy as np

__all__ = ['gemm', 'conv2d_forward', 'conv2d_backward_data', 'conv2d_backward_weight',
           'conv2d_backward_bias', 'pool_output_size', 'pool2d_forward', 'pool2d_backward',
           'softmax', 'log_softmax', 'softmax_backward', 'softmax_output_grad']


# ----------------------------------------------------------------------------------------------
# matrix multiply
# ----------------------------------------------------------------------------------------------
def gemm(a, b, trans_a=False, trans_b=False, alpha=1.0):
    """alpha · op(a) · op(b) over the last two axes."""
    a = np.swapaxes(a, -1, -2) if trans_a else a
    b = np.swapaxes(b, -1, -2) if trans_b else b
    return alpha * np.matmul(a, b)


# ----------------------------------------------------------------------------------------------
# convolution: one strided slice of the padded input per kernel tap
# ----------------------------------------------------------------------------------------------
def _taps(x_padded, kernel, stride, dilate, out_hw):
    """Yield (i, j, patch) where patch[n, c, oh, ow] = xp[n, c, oh·sh + i·dh, ow·sw + j·dw]."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilate, out_hw
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
            cols = slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)
            yield i, j, rows, cols


def _out_hw(x_shape, kernel, stride, pad, dilate):
    return tuple((x_shape[2 + a] + 2 * pad[a] - dilate[a] * (kernel[a] - 1) - 1) // stride[a] + 1
                 for a in range(2))


def conv2d_forward(x, w, b, stride, pad, dilate, num_group=1):
    """y[n, f] = Σ_c Σ_ij w[f, c, i, j] · xpad[n, c, oh·s + i·d, ow·s + j·d] + b[f]."""
    n, c, _, _ = x.shape
    f, cg, kh, kw = w.shape
    fg = f // num_group
    out_hw = _out_hw(x.shape, (kh, kw), stride, pad, dilate)
    xp = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
    y = np.zeros((n, f) + out_hw, dtype=x.dtype)
    for g in range(num_group):
        xs, fs = slice(g * cg, (g + 1) * cg), slice(g * fg, (g + 1) * fg)
        for i, j, rows, cols in _taps(xp, (kh, kw), stride, dilate, out_hw):
            y[:, fs] += np.einsum('nchw,fc->nfhw', xp[:, xs, rows, cols], w[fs, :, i, j])
    if b is not None:
        y += b.reshape(1, f, 1, 1)
    return y


def conv2d_backward_data(dy, w, x_shape, stride, pad, dilate, num_group=1):
    """dx: each tap sends wᵀ·dy back to the input positions it read (then the pad is cut)."""
    n, c, h, wd = x_shape
    f, cg, kh, kw = w.shape
    fg = f // num_group
    out_hw = dy.shape[2:]
    dxp = np.zeros((n, c, h + 2 * pad[0], wd + 2 * pad[1]), dtype=dy.dtype)
    for g in range(num_group):
        xs, fs = slice(g * cg, (g + 1) * cg), slice(g * fg, (g + 1) * fg)
        for i, j, rows, cols in _taps(dxp, (kh, kw), stride, dilate, out_hw):
            dxp[:, xs, rows, cols] += np.einsum('nfhw,fc->nchw', dy[:, fs], w[fs, :, i, j])
    return dxp[:, :, pad[0]:pad[0] + h, pad[1]:pad[1] + wd]


def conv2d_backward_weight(dy, x, w_shape, stride, pad, dilate, num_group=1):
    """dw[f, c, i, j] = Σ_n Σ_oh,ow dy[n, f, oh, ow] · xpad[n, c, oh·s + i·d, ow·s + j·d]."""
    f, cg, kh, kw = w_shape
    fg = f // num_group
    out_hw = dy.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
    dw = np.zeros(w_shape, dtype=dy.dtype)
    for g in range(num_group):
        xs, fs = slice(g * cg, (g + 1) * cg), slice(g * fg, (g + 1) * fg)
        for i, j, rows, cols in _taps(xp, (kh, kw), stride, dilate, out_hw):
            dw[fs, :, i, j] = np.einsum('nfhw,nchw->fc', dy[:, fs], xp[:, xs, rows, cols])
    return dw


def conv2d_backward_bias(dy):
    """db[f] = Σ dy[:, f]."""
    return dy.sum(axis=(0, 2, 3))


# ----------------------------------------------------------------------------------------------
# pooling: one window at a time, as MXNet's CPU code defines it
# ----------------------------------------------------------------------------------------------
def pool_output_size(size, kernel, stride, pad, convention):
    """Output length along one axis: floor (``'valid'``) or ceil (``'full'``) of
    (size + 2·pad − kernel) / stride, plus one."""
    span = size + 2 * pad - kernel
    if convention == 'full':
        return 1 + -(-span // stride)
    return 1 + span // stride


def _windows(shape, kernel, stride, pad, out_hw):
    """Yield (oh, ow, rows, cols, size): the input slices of each window clipped to the
    input, and the window's size clipped to the padded input (the 'include pad' divisor)."""
    h, w = shape[2:]
    for oh in range(out_hw[0]):
        for ow in range(out_hw[1]):
            h0, w0 = oh * stride[0] - pad[0], ow * stride[1] - pad[1]
            h1, w1 = min(h0 + kernel[0], h + pad[0]), min(w0 + kernel[1], w + pad[1])
            size = (h1 - h0) * (w1 - w0)
            rows = slice(max(h0, 0), min(h1, h))
            cols = slice(max(w0, 0), min(w1, w))
            yield oh, ow, rows, cols, size


def pool2d_forward(x, kernel, stride, pad, pool_type, out_hw, count_include_pad=True):
    """y[n, c, oh, ow] = max / mean / sum of x over window (oh, ow); an empty window gives the
    lowest finite value (max) or 0."""
    n, c = x.shape[:2]
    y = np.zeros((n, c) + tuple(out_hw), dtype=x.dtype)
    for oh, ow, rows, cols, size in _windows(x.shape, kernel, stride, pad, out_hw):
        window = x[:, :, rows, cols].reshape(n, c, -1)
        if pool_type == 'max':
            y[:, :, oh, ow] = (window.max(axis=2) if window.shape[2]
                               else np.finfo(x.dtype).min)
        else:
            total = window.sum(axis=2)
            if pool_type == 'avg':
                count = size if count_include_pad else window.shape[2]
                total = total / count if count else total * 0
            y[:, :, oh, ow] = total
    return y


def pool2d_backward(dy, x, kernel, stride, pad, pool_type, count_include_pad=True):
    """dx: max sends dy to the first maximum of its window (row-major order); avg and sum
    spread dy (divided by the window's divisor for avg) over the window."""
    n, c = x.shape[:2]
    dx = np.zeros_like(x)
    out_hw = dy.shape[2:]
    for oh, ow, rows, cols, size in _windows(x.shape, kernel, stride, pad, out_hw):
        g = dy[:, :, oh, ow]
        if pool_type == 'max':
            window = x[:, :, rows, cols]
            if window.size == 0:
                continue
            flat = window.reshape(n, c, -1)
            k = flat.argmax(axis=2)
            width = window.shape[3]
            r, q = rows.start + k // width, cols.start + k % width
            ni, ci = np.meshgrid(np.arange(n), np.arange(c), indexing='ij')
            np.add.at(dx, (ni, ci, r, q), g)
        else:
            count = (rows.stop - rows.start) * (cols.stop - cols.start)
            if pool_type == 'avg':
                divisor = size if count_include_pad else count
                if not divisor:
                    continue
                g = g / divisor
            dx[:, :, rows, cols] += g[:, :, None, None]
    return dx


# ----------------------------------------------------------------------------------------------
# softmax
# ----------------------------------------------------------------------------------------------
def softmax(x, axis=-1, temperature=1.0):
    """exp(x/T − max) / Σ exp(x/T − max) along ``axis``."""
    z = x / temperature
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x, axis=-1, temperature=1.0):
    """x/T − max − log Σ exp(x/T − max) along ``axis``."""
    z = x / temperature
    z = z - z.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def softmax_backward(y, dy, axis=-1, temperature=1.0, log=False):
    """Softmax: y·(dy − Σ dy·y) / T.  Log-softmax: (dy − exp(y)·Σ dy) / T."""
    if log:
        return (dy - np.exp(y) * dy.sum(axis=axis, keepdims=True)) / temperature
    return y * (dy - (dy * y).sum(axis=axis, keepdims=True)) / temperature


def softmax_output_grad(prob, label, grad_scale=1.0, ignore_label=-1.0, use_ignore=False,
                        normalization='null'):
    """(prob − onehot(trunc(label))) · grad_scale / N for prob (n, k) or (n, k, s)."""
    k = prob.shape[1]
    lab = np.trunc(np.expand_dims(label, 1))
    grad = prob - (lab == np.arange(k).reshape((1, k) + (1,) * (prob.ndim - 2)))
    ignored = lab == np.trunc(ignore_label)
    if use_ignore:
        grad = grad * ~ignored
    if normalization == 'batch':
        divisor = label.size
    elif normalization == 'valid':
        divisor = max(1, label.size - int(np.count_nonzero(ignored)))
    else:
        divisor = prob.shape[2] if prob.ndim == 3 else 1
    return (grad * (grad_scale / divisor)).astype(prob.dtype)
