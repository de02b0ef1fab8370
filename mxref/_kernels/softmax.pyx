"""Softmax kernels over one axis of a C-contiguous array seen as (outer, n, inner).

For every (o, i) the n values x[o, :, i] (scaled by 1/T) become

    y = exp(x - max) / Σ exp(x - max)          (softmax)
    y = (x - max) - log Σ exp(x - max)         (log-softmax)

in three sweeps over a line that stays in cache: the max, then exp and its sum, then the
scale (or the log shift).  Subtracting the max keeps exp() from overflowing.

Two loop nests cover the layouts.  The last axis (inner = 1) is the common case: each line
is contiguous and one thread takes whole rows::

    for row in prange(outer):
        top = max(x[row, :])                          # 8 partial maxima, vectorised
        y[row, :] = exp(x[row, :] - top); s = Σ y     # 8 partial sums, vectorised
        y[row, :] *= 1 / s

A softmax over an inner axis (inner > 1, e.g. the channels of NCHW) walks the lines
side by side, a tile of TILE neighbouring positions i at a time, so every sweep reads
contiguous memory::

    for o, tile in prange(outer × tiles):
        for k in range(n): top[i] = max(top[i], x[o, k, i])      for i in the tile
        for k in range(n): y[o, k, i] = exp(...); s[i] += y[o, k, i]
        for k in range(n): y[o, k, i] *= 1 / s[i]

float32 uses ``fast_expf`` (from ``_fastmath.pxd``), a branch-free exp the compiler can
vectorise (libm's expf is a function call it cannot); float64 calls libm's exp.  The backward kernels and the
SoftmaxOutput gradient follow the same two loop nests.
"""
from cython.parallel cimport prange
from libc.math cimport exp, log, logf, trunc

from ._parallel cimport threads_for
from ._fastmath cimport fast_expf

ctypedef fused floating:
    float
    double

cdef enum:
    LANES = 8           # partial sums/maxima per reduction: the compiler's vector width
    TILE = 64           # neighbouring lines handled together when inner > 1



cdef inline floating _exp(floating x) noexcept nogil:
    if floating is float:
        return fast_expf(x)
    else:
        return exp(x)


cdef inline floating _log(floating x) noexcept nogil:
    if floating is float:
        return logf(x)
    else:
        return log(x)


# ----------------------------------------------------------------------------------------------
# reductions over a contiguous line in LANES independent accumulators (vectorisable)
# ----------------------------------------------------------------------------------------------
cdef inline floating _line_max(const floating* x, Py_ssize_t n) noexcept nogil:
    cdef floating part[LANES]
    cdef floating top
    cdef Py_ssize_t k, j, body = n - n % LANES
    if n < LANES:
        top = x[0]
        for k in range(1, n):
            top = x[k] if x[k] > top else top
        return top
    for j in range(LANES):
        part[j] = x[j]
    for k in range(LANES, body, 8):                # (Cython wants a literal step: 8 = LANES)
        for j in range(LANES):
            part[j] = x[k + j] if x[k + j] > part[j] else part[j]
    top = part[0]
    for j in range(1, LANES):
        top = part[j] if part[j] > top else top
    for k in range(body, n):
        top = x[k] if x[k] > top else top
    return top


cdef inline double _line_sum(const floating* x, Py_ssize_t n) noexcept nogil:
    cdef floating part[LANES]
    cdef double total = 0
    cdef Py_ssize_t k, j, body = n - n % LANES
    for j in range(LANES):
        part[j] = 0
    for k in range(0, body, 8):
        for j in range(LANES):
            part[j] = part[j] + x[k + j]
    for j in range(LANES):
        total += part[j]
    for k in range(body, n):
        total += x[k]
    return total


cdef inline double _line_dot(const floating* x, const floating* y, Py_ssize_t n) noexcept nogil:
    cdef floating part[LANES]
    cdef double total = 0
    cdef Py_ssize_t k, j, body = n - n % LANES
    for j in range(LANES):
        part[j] = 0
    for k in range(0, body, 8):
        for j in range(LANES):
            part[j] = part[j] + x[k + j] * y[k + j]
    for j in range(LANES):
        total += part[j]
    for k in range(body, n):
        total += x[k] * y[k]
    return total


# ----------------------------------------------------------------------------------------------
# forward
# ----------------------------------------------------------------------------------------------
cdef void _softmax_row(const floating* x, floating* y, Py_ssize_t n, floating inv_t,
                       bint take_log) noexcept nogil:
    """y[:n] = softmax(x[:n] · inv_t) (or log-softmax) for one contiguous line."""
    cdef Py_ssize_t k
    cdef floating top, scale
    if inv_t != 1:
        for k in range(n):
            y[k] = x[k] * inv_t
        x = y
    top = _line_max(x, n)
    if take_log:
        for k in range(n):                          # y may be x: keep x - top, exp it apart
            y[k] = x[k] - top
        scale = <floating>_log(<floating>_exp_sum(y, n))
        for k in range(n):
            y[k] = y[k] - scale
    else:
        for k in range(n):
            y[k] = _exp(x[k] - top)
        scale = <floating>(1.0 / _line_sum(y, n))
        for k in range(n):
            y[k] = y[k] * scale


cdef double _exp_sum(const floating* z, Py_ssize_t n) noexcept nogil:
    """Σ exp(z[k]) in LANES partial sums (z already shifted by the max)."""
    cdef floating part[LANES]
    cdef double total = 0
    cdef Py_ssize_t k, j, body = n - n % LANES
    for j in range(LANES):
        part[j] = 0
    for k in range(0, body, 8):
        for j in range(LANES):
            part[j] = part[j] + _exp(z[k + j])
    for j in range(LANES):
        total += part[j]
    for k in range(body, n):
        total += _exp(z[k])
    return total


cdef void _softmax_tile(const floating* x, floating* y, Py_ssize_t n, Py_ssize_t inner,
                        Py_ssize_t width, floating inv_t, bint take_log) noexcept nogil:
    """Softmax along a strided axis for ``width`` (<= TILE) neighbouring lines at once:
    x[k·inner + i] for k < n, i < width."""
    cdef floating top[TILE]
    cdef double total[TILE]
    cdef floating shift
    cdef Py_ssize_t k, i
    for i in range(width):
        top[i] = x[i] * inv_t
        total[i] = 0
    for k in range(1, n):
        for i in range(width):
            shift = x[k * inner + i] * inv_t
            top[i] = shift if shift > top[i] else top[i]
    for k in range(n):
        for i in range(width):
            shift = x[k * inner + i] * inv_t - top[i]
            if take_log:
                y[k * inner + i] = shift
                total[i] += _exp(shift)
            else:
                y[k * inner + i] = _exp(shift)
                total[i] += y[k * inner + i]
    for i in range(width):
        top[i] = <floating>(_log(<floating>total[i]) if take_log else 1.0 / total[i])
    for k in range(n):
        for i in range(width):
            if take_log:
                y[k * inner + i] = y[k * inner + i] - top[i]
            else:
                y[k * inner + i] = y[k * inner + i] * top[i]


def softmax(const floating[:, :, ::1] x, floating[:, :, ::1] y, double temperature=1.0,
            bint take_log=False):
    """y = softmax(x / temperature) along axis 1 of (outer, n, inner) buffers.

    # IN  x: (outer, n, inner)
    # OUT y: (outer, n, inner), may be x itself
    """
    cdef Py_ssize_t outer = x.shape[0], n = x.shape[1], inner = x.shape[2], job, tiles
    cdef floating inv_t = <floating>(1.0 / temperature)
    if y.shape[0] != outer or y.shape[1] != n or y.shape[2] != inner:
        raise ValueError('softmax: x and y must have the same shape')
    if n == 0 or outer * inner == 0:
        return
    with nogil:
        if inner == 1:
            for job in prange(outer, schedule='static', num_threads=threads_for(outer * n)):
                _softmax_row(&x[job, 0, 0], &y[job, 0, 0], n, inv_t, take_log)
        else:
            tiles = (inner + TILE - 1) // TILE
            for job in prange(outer * tiles, schedule='static',
                              num_threads=threads_for(outer * n * inner)):
                _softmax_tile(&x[job // tiles, 0, (job % tiles) * TILE],
                              &y[job // tiles, 0, (job % tiles) * TILE], n, inner,
                              min(<Py_ssize_t>TILE, inner - (job % tiles) * TILE), inv_t,
                              take_log)


# ----------------------------------------------------------------------------------------------
# backward
# ----------------------------------------------------------------------------------------------
cdef void _backward_row(const floating* y, const floating* dy, floating* dx, Py_ssize_t n,
                        floating inv_t, bint take_log, bint accumulate) noexcept nogil:
    """One contiguous line: dx (+)= y·(dy − Σ dy·y)/T, or (dy − exp(y)·Σ dy)/T for log."""
    cdef Py_ssize_t k
    cdef floating total
    cdef floating grad
    if take_log:
        total = <floating>_line_sum(dy, n)
    else:
        total = <floating>_line_dot(dy, y, n)
    for k in range(n):
        if take_log:
            grad = (dy[k] - _exp(y[k]) * total) * inv_t
        else:
            grad = y[k] * (dy[k] - total) * inv_t
        if accumulate:
            dx[k] = dx[k] + grad
        else:
            dx[k] = grad


cdef void _backward_tile(const floating* y, const floating* dy, floating* dx, Py_ssize_t n,
                         Py_ssize_t inner, Py_ssize_t width, floating inv_t, bint take_log,
                         bint accumulate) noexcept nogil:
    """:func:`_backward_row` for ``width`` neighbouring strided lines at once."""
    cdef double total[TILE]
    cdef floating grad
    cdef Py_ssize_t k, i, at
    for i in range(width):
        total[i] = 0
    for k in range(n):
        for i in range(width):
            at = k * inner + i
            total[i] += dy[at] if take_log else dy[at] * y[at]
    for k in range(n):
        for i in range(width):
            at = k * inner + i
            if take_log:
                grad = <floating>((dy[at] - _exp(y[at]) * total[i]) * inv_t)
            else:
                grad = <floating>(y[at] * (dy[at] - total[i]) * inv_t)
            if accumulate:
                dx[at] = dx[at] + grad
            else:
                dx[at] = grad


def softmax_backward(const floating[:, :, ::1] y, const floating[:, :, ::1] dy,
                     floating[:, :, ::1] dx, double temperature=1.0, bint take_log=False,
                     bint accumulate=False):
    """dx (+)= the gradient of softmax (or log-softmax) from its output y, along axis 1.

    # IN  y:  (outer, n, inner), the forward output
    # IN  dy: (outer, n, inner)
    # OUT dx: (outer, n, inner); overwritten, or added to when ``accumulate``
    """
    cdef Py_ssize_t outer = y.shape[0], n = y.shape[1], inner = y.shape[2], job, tiles
    cdef floating inv_t = <floating>(1.0 / temperature)
    if (dy.shape[0] != outer or dy.shape[1] != n or dy.shape[2] != inner or
            dx.shape[0] != outer or dx.shape[1] != n or dx.shape[2] != inner):
        raise ValueError('softmax_backward: y, dy and dx must have the same shape')
    if n == 0 or outer * inner == 0:
        return
    with nogil:
        if inner == 1:
            for job in prange(outer, schedule='static', num_threads=threads_for(outer * n)):
                _backward_row(&y[job, 0, 0], &dy[job, 0, 0], &dx[job, 0, 0], n, inv_t,
                              take_log, accumulate)
        else:
            tiles = (inner + TILE - 1) // TILE
            for job in prange(outer * tiles, schedule='static',
                              num_threads=threads_for(outer * n * inner)):
                _backward_tile(&y[job // tiles, 0, (job % tiles) * TILE],
                               &dy[job // tiles, 0, (job % tiles) * TILE],
                               &dx[job // tiles, 0, (job % tiles) * TILE], n, inner,
                               min(<Py_ssize_t>TILE, inner - (job % tiles) * TILE), inv_t,
                               take_log, accumulate)


# ----------------------------------------------------------------------------------------------
# SoftmaxOutput's gradient
# ----------------------------------------------------------------------------------------------
def softmax_output_grad(const floating[:, :, ::1] prob, const floating[:, ::1] label,
                        floating[:, :, ::1] dx, double scale, double ignore_label,
                        bint use_ignore, bint accumulate=False):
    """dx (+)= (prob − onehot(trunc(label))) · scale, zero where the label is ignored.

    # IN  prob:  (n, k, s), softmax over axis 1
    # IN  label: (n, s), class indices as floats (outside [0, k): no class matches)
    # OUT dx:    (n, k, s); overwritten, or added to when ``accumulate``
    """
    cdef Py_ssize_t n = prob.shape[0], k = prob.shape[1], s = prob.shape[2]
    cdef Py_ssize_t row, c, j, target
    cdef double lab, ignored = trunc(ignore_label)
    cdef floating grad, factor
    if (label.shape[0] != n or label.shape[1] != s or dx.shape[0] != n or dx.shape[1] != k
            or dx.shape[2] != s):
        raise ValueError('softmax_output_grad: prob (n, k, s), label (n, s) and dx (n, k, s) '
                         'expected')
    with nogil:
        for row in prange(n, schedule='static', num_threads=threads_for(n * k * s)):
            for j in range(s):
                lab = trunc(label[row, j])
                target = <Py_ssize_t>lab if 0 <= lab < k else -1
                factor = <floating>(0 if use_ignore and lab == ignored else scale)
                for c in range(k):
                    grad = (prob[row, c, j] - (1 if c == target else 0)) * factor
                    if accumulate:
                        dx[row, c, j] += grad
                    else:
                        dx[row, c, j] = grad
