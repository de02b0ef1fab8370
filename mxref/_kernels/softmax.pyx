"""Softmax kernels over one axis of a C-contiguous array seen as (outer, n, inner).

For every (o, i) the n values x[o, :, i] become

    y = exp(x - max) / Σ exp(x - max)          (softmax)
    y = (x - max) - log Σ exp(x - max)         (log-softmax)

in one pass per line after the max: subtracting the max keeps exp() from overflowing.
The last axis is the common case (inner = 1, each line contiguous); the outer loop runs in
parallel with OpenMP.
"""
from cython.parallel cimport prange
from libc.math cimport exp, log, expf, logf

ctypedef fused floating:
    float
    double


cdef inline void _softmax_line(const floating* x, floating* y, Py_ssize_t n,
                               Py_ssize_t stride, floating inv_t, bint take_log) noexcept nogil:
    """y[k*stride] = softmax(x[k*stride] * inv_t) over k < n."""
    cdef Py_ssize_t k
    cdef floating top = x[0] * inv_t, total = 0, value
    for k in range(1, n):
        value = x[k * stride] * inv_t
        if value > top:
            top = value
    for k in range(n):
        if floating is float:
            value = expf(x[k * stride] * inv_t - top)
        else:
            value = exp(x[k * stride] * inv_t - top)
        total = total + value
        if not take_log:
            y[k * stride] = value
    if take_log:
        if floating is float:
            total = logf(total)
        else:
            total = log(total)
        for k in range(n):
            y[k * stride] = x[k * stride] * inv_t - top - total
    else:
        total = 1 / total
        for k in range(n):
            y[k * stride] = y[k * stride] * total


def softmax(const floating[:, :, ::1] x, floating[:, :, ::1] y, double temperature=1.0,
            bint take_log=False):
    """y = softmax(x / temperature) along axis 1 of (outer, n, inner) buffers.

    # IN  x: (outer, n, inner)
    # OUT y: (outer, n, inner), may be x itself
    """
    cdef Py_ssize_t outer = x.shape[0], n = x.shape[1], inner = x.shape[2], line
    cdef floating inv_t = <floating>(1.0 / temperature)
    if n == 0:
        return
    with nogil:
        for line in prange(outer * inner, schedule='static'):
            _softmax_line(&x[line // inner, 0, line % inner], &y[line // inner, 0, line % inner],
                          n, inner, inv_t, take_log)
