"""2-D pooling over NCHW buffers: max (with the position of each maximum), sum and average.

Window (oh, ow) covers input rows ``oh·sh − ph ... + kh`` and columns ``ow·sw − pw ... + kw``;
the part outside the input is padding, which never wins a max and adds nothing to a sum.
Average divides by the window's size clipped to the padded input (``count_include_pad``,
MXNet's default) or by the number of real input elements under it.  A window entirely in
the padding (possible with the 'full' convention) gives the lowest finite value for max,
zero for sum and average.

Every (image, channel) plane is independent, so each kernel runs one plane per iteration of
a parallel loop::

    for plane in prange(N * C):
        for oh in range(OH):
            for ow in range(OW):
                window = x[plane, h0:h1, w0:w1]            # clipped to the input
                y[plane, oh, ow] = max(window) / sum(window) / sum(window) / divisor

The backward passes follow the same loops: max sends dy to the position recorded in
``argmax`` (the first maximum in row-major order), sum and average spread dy (÷ divisor)
over the window.  Writes stay inside the plane, so the loops need no atomics.
"""
from cython.parallel cimport prange

from ._parallel cimport threads_for

ctypedef fused floating:
    float
    double

cdef extern from "float.h":
    float FLT_MAX
    double DBL_MAX


cdef inline void _clip(Py_ssize_t start, Py_ssize_t kernel, Py_ssize_t size, Py_ssize_t pad,
                       Py_ssize_t* lo, Py_ssize_t* hi, Py_ssize_t* span) noexcept nogil:
    """[lo, hi): the window's part inside the input; span: its length inside the padded
    input (the 'include pad' count along this axis)."""
    cdef Py_ssize_t end = start + kernel
    if end > size + pad:
        end = size + pad
    span[0] = end - start
    lo[0] = start if start > 0 else 0
    hi[0] = end if end < size else size


cdef void _max_plane(const floating* x, floating* y, int* argmax, Py_ssize_t height,
                     Py_ssize_t width, Py_ssize_t out_h, Py_ssize_t out_w, int kh, int kw,
                     int sh, int sw, int ph, int pw, bint accumulate) noexcept nogil:
    """One plane of :func:`max_forward` (argmax may be NULL)."""
    cdef Py_ssize_t oh, ow, h, w, h0, h1, w0, w1, span_h, span_w, best_at, at
    cdef floating best, value
    for oh in range(out_h):
        _clip(oh * sh - ph, kh, height, ph, &h0, &h1, &span_h)
        for ow in range(out_w):
            _clip(ow * sw - pw, kw, width, pw, &w0, &w1, &span_w)
            if h0 < h1 and w0 < w1:                 # start from the window's first element
                best_at = h0 * width + w0
                best = x[best_at]
                for h in range(h0, h1):
                    for w in range(w0, w1):         # branch-free: compiles to compare + blend
                        at = h * width + w
                        value = x[at]
                        best_at = at if value > best else best_at
                        best = value if value > best else best
            else:                                   # a window entirely in the padding
                best_at = -1
                if floating is float:
                    best = -FLT_MAX
                else:
                    best = -DBL_MAX
            if accumulate:
                y[oh * out_w + ow] += best
            else:
                y[oh * out_w + ow] = best
            if argmax != NULL:
                argmax[oh * out_w + ow] = <int>best_at


def max_forward(const floating[:, :, ::1] x, floating[:, :, ::1] y, int[:, :, ::1] argmax,
                int kh, int kw, int sh, int sw, int ph, int pw, bint accumulate=False):
    """y (+)= the maximum of each window; argmax = its flat index h·W + w in the plane.

    # IN  x:      (N·C, H, W)
    # OUT y:      (N·C, OH, OW); overwritten, or added to when ``accumulate``
    # OUT argmax: (N·C, OH, OW) int32, or None; −1 for a window entirely in the padding
    """
    cdef Py_ssize_t planes = x.shape[0], height = x.shape[1], width = x.shape[2]
    cdef Py_ssize_t out_h = y.shape[1], out_w = y.shape[2], plane
    cdef bint keep_index = argmax is not None
    if y.shape[0] != planes or (keep_index and (argmax.shape[0] != planes or
                                                argmax.shape[1] != out_h or
                                                argmax.shape[2] != out_w)):
        raise ValueError('max_forward: x, y and argmax must have the same planes and y, '
                         'argmax the same shape')
    with nogil:
        for plane in prange(planes, schedule='static',
                            num_threads=threads_for(planes * height * width)):
            _max_plane(&x[plane, 0, 0], &y[plane, 0, 0],
                       &argmax[plane, 0, 0] if keep_index else NULL, height, width, out_h,
                       out_w, kh, kw, sh, sw, ph, pw, accumulate)


def max_backward(const floating[:, :, ::1] dy, const int[:, :, ::1] argmax,
                 floating[:, :, ::1] dx, bint accumulate=False):
    """dx (+)= dy sent to the recorded maximum of each window.

    # IN  dy:     (N·C, OH, OW)
    # IN  argmax: (N·C, OH, OW) int32 from :func:`max_forward`
    # OUT dx:     (N·C, H, W); overwritten, or added to when ``accumulate``
    """
    cdef Py_ssize_t planes = dx.shape[0], height = dx.shape[1], width = dx.shape[2]
    cdef Py_ssize_t positions = dy.shape[1] * dy.shape[2]
    cdef Py_ssize_t plane
    if (dy.shape[0] != planes or argmax.shape[0] != planes or argmax.shape[1] != dy.shape[1]
            or argmax.shape[2] != dy.shape[2]):
        raise ValueError('max_backward: dy, argmax and dx must have the same planes')
    with nogil:
        for plane in prange(planes, schedule='static',
                            num_threads=threads_for(planes * height * width)):
            _max_backward_plane(&dy[plane, 0, 0], &argmax[plane, 0, 0], &dx[plane, 0, 0],
                                height * width, positions, accumulate)


cdef void _max_backward_plane(const floating* dy, const int* argmax, floating* dx,
                              Py_ssize_t size, Py_ssize_t positions,
                              bint accumulate) noexcept nogil:
    """One plane of :func:`max_backward`: dx[argmax[p]] += dy[p]."""
    cdef Py_ssize_t idx
    if not accumulate:
        for idx in range(size):
            dx[idx] = 0
    for idx in range(positions):
        if argmax[idx] >= 0:
            dx[argmax[idx]] += dy[idx]


cdef inline double _divisor(bint average, bint count_include_pad, Py_ssize_t span_h,
                            Py_ssize_t span_w, Py_ssize_t rows, Py_ssize_t cols) noexcept nogil:
    """What a window's sum is divided by: 1 (sum), the padded size, or the real count."""
    cdef Py_ssize_t count
    if not average:
        return 1
    count = span_h * span_w if count_include_pad else rows * cols
    return count if count > 0 else 1


cdef void _sum_plane(const floating* x, floating* y, Py_ssize_t height, Py_ssize_t width,
                     Py_ssize_t out_h, Py_ssize_t out_w, int kh, int kw, int sh, int sw, int ph,
                     int pw, bint average, bint count_include_pad,
                     bint accumulate) noexcept nogil:
    """One plane of :func:`sum_forward`."""
    cdef Py_ssize_t oh, ow, h, w, h0, h1, w0, w1, span_h, span_w
    cdef floating total
    for oh in range(out_h):
        _clip(oh * sh - ph, kh, height, ph, &h0, &h1, &span_h)
        for ow in range(out_w):
            _clip(ow * sw - pw, kw, width, pw, &w0, &w1, &span_w)
            total = 0
            for h in range(h0, h1):
                for w in range(w0, w1):
                    total = total + x[h * width + w]
            total = <floating>(total / _divisor(average, count_include_pad, span_h, span_w,
                                                h1 - h0, w1 - w0))
            if accumulate:
                y[oh * out_w + ow] += total
            else:
                y[oh * out_w + ow] = total


def sum_forward(const floating[:, :, ::1] x, floating[:, :, ::1] y, int kh, int kw, int sh,
                int sw, int ph, int pw, bint average=False, bint count_include_pad=True,
                bint accumulate=False):
    """y (+)= the sum of each window, divided by its divisor when ``average``.

    # IN  x: (N·C, H, W)
    # OUT y: (N·C, OH, OW); overwritten, or added to when ``accumulate``
    """
    cdef Py_ssize_t planes = x.shape[0], height = x.shape[1], width = x.shape[2]
    cdef Py_ssize_t out_h = y.shape[1], out_w = y.shape[2], plane
    if y.shape[0] != planes:
        raise ValueError('sum_forward: x and y must have the same planes')
    with nogil:
        for plane in prange(planes, schedule='static',
                            num_threads=threads_for(planes * height * width)):
            _sum_plane(&x[plane, 0, 0], &y[plane, 0, 0], height, width, out_h, out_w, kh, kw,
                       sh, sw, ph, pw, average, count_include_pad, accumulate)


cdef void _sum_backward_plane(const floating* dy, floating* dx, Py_ssize_t height,
                              Py_ssize_t width, Py_ssize_t out_h, Py_ssize_t out_w, int kh,
                              int kw, int sh, int sw, int ph, int pw, bint average,
                              bint count_include_pad, bint accumulate) noexcept nogil:
    """One plane of :func:`sum_backward`."""
    cdef Py_ssize_t oh, ow, h, w, h0, h1, w0, w1, span_h, span_w, idx
    cdef floating share
    if not accumulate:
        for idx in range(height * width):
            dx[idx] = 0
    for oh in range(out_h):
        _clip(oh * sh - ph, kh, height, ph, &h0, &h1, &span_h)
        for ow in range(out_w):
            _clip(ow * sw - pw, kw, width, pw, &w0, &w1, &span_w)
            share = <floating>(dy[oh * out_w + ow] / _divisor(
                average, count_include_pad, span_h, span_w, h1 - h0, w1 - w0))
            for h in range(h0, h1):
                for w in range(w0, w1):
                    dx[h * width + w] += share


def sum_backward(const floating[:, :, ::1] dy, floating[:, :, ::1] dx, int kh, int kw,
                 int sh, int sw, int ph, int pw, bint average=False,
                 bint count_include_pad=True, bint accumulate=False):
    """dx (+)= each dy (÷ its window's divisor when ``average``) spread over its window.

    # IN  dy: (N·C, OH, OW)
    # OUT dx: (N·C, H, W); overwritten, or added to when ``accumulate``
    """
    cdef Py_ssize_t planes = dx.shape[0], height = dx.shape[1], width = dx.shape[2]
    cdef Py_ssize_t out_h = dy.shape[1], out_w = dy.shape[2], plane
    if dy.shape[0] != planes:
        raise ValueError('sum_backward: dy and dx must have the same planes')
    with nogil:
        for plane in prange(planes, schedule='static',
                            num_threads=threads_for(planes * height * width)):
            _sum_backward_plane(&dy[plane, 0, 0], &dx[plane, 0, 0], height, width, out_h,
                                out_w, kh, kw, sh, sw, ph, pw, average, count_include_pad,
                                accumulate)
