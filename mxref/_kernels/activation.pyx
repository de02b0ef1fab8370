"""tanh and its gradient in one pass, vectorised: the activations of LeNet and the LSTM.

NumPy's float32 ``tanh`` calls libm once per element (about 3 ns each here), and the gradient
``dy * (1 - y * y)`` makes three temporary arrays; in LeNet they took a seventh of a training
step.  These loops compute, per element::

    tanh_forward:   y[i]  = tanh(x[i])
    tanh_backward:  dx[i] = dy[i] * (1 - y[i]²)        (+= with accumulate)

float32 tanh is branch-free so the compiler vectorises it:

* |x| < 0.625: the odd polynomial  x + x³·P(x²)  (Cephes' tanhf coefficients);
* otherwise:   1 − 2 / (exp(2|x|) + 1)  with the vectorisable exp of :mod:`._fastmath`,
  the sign put back afterwards (|x| > 9 gives ±1 exactly, as libm).

Both are within 2 ulp of the correctly rounded result; NaN stays NaN.  float64 calls libm's
``tanh``.  Loops over more than 2^17 elements are shared between the OpenMP threads.
"""
from cython.parallel cimport prange
from libc.math cimport tanh

from ._fastmath cimport fast_expf
from ._parallel cimport threads_for

ctypedef fused floating:
    float
    double


cdef inline float _tanhf(float x) noexcept nogil:
    """tanh(x) in float32 without branches (see the module docstring)."""
    cdef float one = 1.0, two = 2.0, limit = 9.0, switch = 0.625
    cdef float p0 = -5.70498872745e-3, p1 = 2.06390887954e-2, p2 = -5.37397155531e-2
    cdef float p3 = 1.33314422036e-1, p4 = -3.33332819422e-1
    cdef float a = x if x >= 0 else -x
    cdef float z = x * x
    cdef float small = ((((p0 * z + p1) * z + p2) * z + p3) * z + p4) * z * x + x
    cdef float clipped = a if a < limit else limit
    cdef float large = one - two / (fast_expf(two * clipped) + one)
    large = large if a < limit else one
    large = large if x >= 0 else -large
    small = small if a < switch else large
    return small if x == x else x


cdef enum:
    BLOCK = 8192        # elements per task of the parallel loops


cdef void _tanh_block(const floating* x, floating* y, Py_ssize_t n) noexcept nogil:
    """y[:n] = tanh(x[:n]): a plain loop, which the compiler vectorises for float32."""
    cdef Py_ssize_t i
    for i in range(n):
        if floating is float:
            y[i] = _tanhf(x[i])
        else:
            y[i] = tanh(x[i])


cdef void _tanh_grad_block(const floating* dy, const floating* y, floating* dx, Py_ssize_t n,
                           bint accumulate) noexcept nogil:
    """dx[:n] (+)= dy · (1 − y²)."""
    cdef Py_ssize_t i
    if accumulate:
        for i in range(n):
            dx[i] = dx[i] + dy[i] * (1 - y[i] * y[i])
    else:
        for i in range(n):
            dx[i] = dy[i] * (1 - y[i] * y[i])


def tanh_forward(const floating[::1] x, floating[::1] y):
    """y = tanh(x), elementwise (y may be x).

    # IN  x: (n,)
    # OUT y: (n,)
    """
    cdef Py_ssize_t n = x.shape[0], blocks = (n + BLOCK - 1) // BLOCK, b, start
    if y.shape[0] != n:
        raise ValueError('tanh_forward: x has %d elements, y %d' % (n, y.shape[0]))
    if n == 0:
        return
    for b in prange(blocks, nogil=True, schedule='static', num_threads=threads_for(n)):
        start = b * BLOCK
        _tanh_block(&x[start], &y[start], min(BLOCK, n - start))


def tanh_backward(const floating[::1] dy, const floating[::1] y, floating[::1] dx,
                  bint accumulate=False):
    """dx = dy · (1 − y²), or dx += that with ``accumulate``.

    # IN  dy, y: (n,)   y is tanh's output
    # OUT dx: (n,)
    """
    cdef Py_ssize_t n = y.shape[0], blocks = (n + BLOCK - 1) // BLOCK, b, start
    if dy.shape[0] != n or dx.shape[0] != n:
        raise ValueError('tanh_backward: dy, y, dx have %d, %d, %d elements'
                         % (dy.shape[0], n, dx.shape[0]))
    if n == 0:
        return
    for b in prange(blocks, nogil=True, schedule='static', num_threads=threads_for(n)):
        start = b * BLOCK
        _tanh_grad_block(&dy[start], &y[start], &dx[start], min(BLOCK, n - start),
                         accumulate)
