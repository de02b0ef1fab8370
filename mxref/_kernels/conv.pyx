"""Convolution helpers: im2col / col2im and the layout moves around the GEMM.

A 2-D convolution of x (N, C, H, W) with w (F, C, KH, KW) is one matrix product once the
input patches are laid out as columns ("im2col")::

    col[(c, i, j), (n, oh, ow)] = x[n, c, oh·sh − ph + i·dh, ow·sw − pw + j·dw]   (0 outside)
    y2 (F, N·OH·OW)             = w2 (F, C·KH·KW) · col                          (GEMM)
    y[n, f, oh, ow]             = y2[f, (n, oh, ow)] + bias[f]                   (fnp_to_nfp)

and the gradients are two more products and the scatter back ("col2im")::

    dy2  = dy moved to (F, N·OH·OW)                                             (nfp_to_fnp)
    dw2  = dy2 · colᵀ                       dcol = w2ᵀ · dy2
    dx[n, c, ih, iw] = Σ dcol[(c, i, j), (n, oh, ow)] over the taps that read (ih, iw)

The GEMMs run in BLAS (see gemm.pyx); this module holds the loops that move data.  Each one
runs over independent (image, channel) planes in parallel, so no two threads ever write the
same element::

    for plane in prange(N * C):               # n, c = divmod(plane, C)
        for i, j in kernel taps:              # one row of col per tap
            for oh in range(OH):
                ih = oh·sh − ph + i·dh        # a row of the input, or padding
                for ow in range(OW):          # the valid middle is a strided copy
                    col[row, column] = x[n, c, ih, ow·sw − pw + j·dw] or 0

A 1-D convolution is the same code with H = KH = 1.
"""
from cython.parallel cimport prange

from ._parallel cimport threads_for

ctypedef fused floating:
    float
    double


cdef inline void _valid_range(Py_ssize_t offset, Py_ssize_t step, Py_ssize_t size,
                              Py_ssize_t count, Py_ssize_t* lo, Py_ssize_t* hi) noexcept nogil:
    """[lo, hi): the o < count whose input index o·step + offset falls in [0, size)."""
    cdef Py_ssize_t first = 0, last = count
    if offset < 0:
        first = (-offset + step - 1) // step
    if size - offset <= 0:
        last = 0
    else:
        last = (size - offset + step - 1) // step
    if last > count:
        last = count
    if first > last:
        first = last
    lo[0] = first
    hi[0] = last


cdef void _im2col_plane(const floating* x, floating* col, Py_ssize_t col_stride,
                        Py_ssize_t height, Py_ssize_t width, Py_ssize_t out_h, Py_ssize_t out_w,
                        int kh, int kw, int sh, int sw, int ph, int pw, int dh,
                        int dw) noexcept nogil:
    """The kh·kw rows of col that one input plane x (height×width) produces.

    Row t (tap i, j) starts at col + t·col_stride and receives out_h·out_w values.
    """
    cdef Py_ssize_t i, j, oh, ow, ih, lo, hi, off
    cdef floating* dst
    cdef const floating* src
    for i in range(kh):
        for j in range(kw):
            dst = col + (i * kw + j) * col_stride
            off = j * dw - pw
            _valid_range(off, sw, width, out_w, &lo, &hi)
            for oh in range(out_h):
                ih = oh * sh - ph + i * dh
                if ih < 0 or ih >= height:
                    for ow in range(out_w):
                        dst[ow] = 0
                else:
                    src = x + ih * width + off
                    for ow in range(lo):
                        dst[ow] = 0
                    for ow in range(lo, hi):
                        dst[ow] = src[ow * sw]
                    for ow in range(hi, out_w):
                        dst[ow] = 0
                dst += out_w


def im2col(const floating[:, :, :, ::1] x, floating[:, ::1] col, int kh, int kw, int sh,
           int sw, int ph, int pw, int dh, int dw):
    """Lay the kh×kw patches of x out as the columns of col.

    # IN  x:   (N, C, H, W)
    # OUT col: (C·kh·kw, N·OH·OW); OH, OW follow from col's width and the arguments
    """
    cdef Py_ssize_t n = x.shape[0], c = x.shape[1], height = x.shape[2], width = x.shape[3]
    cdef Py_ssize_t out_h = (height + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    cdef Py_ssize_t out_w = (width + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    cdef Py_ssize_t per_image = out_h * out_w, plane, img, chan
    if col.shape[0] != c * kh * kw or col.shape[1] != n * per_image:
        raise ValueError('im2col: col must be (%d, %d), got (%d, %d)'
                         % (c * kh * kw, n * per_image, col.shape[0], col.shape[1]))
    if n * c == 0 or per_image <= 0:
        return
    with nogil:
        for plane in prange(n * c, schedule='static',
                            num_threads=threads_for(col.shape[0] * col.shape[1])):
            img = plane // c
            chan = plane % c
            _im2col_plane(&x[img, chan, 0, 0], &col[chan * kh * kw, img * per_image],
                          col.shape[1], height, width, out_h, out_w, kh, kw, sh, sw, ph, pw,
                          dh, dw)


cdef void _col2im_plane(const floating* col, Py_ssize_t col_stride, floating* x,
                        Py_ssize_t height, Py_ssize_t width, Py_ssize_t out_h, Py_ssize_t out_w,
                        int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw,
                        bint accumulate) noexcept nogil:
    """x (height×width) (+)= the sum of its kh·kw rows of col put back where they came from."""
    cdef Py_ssize_t i, j, oh, ow, ih, lo, hi, off, idx
    cdef const floating* src
    cdef floating* dst
    if not accumulate:
        for idx in range(height * width):
            x[idx] = 0
    for i in range(kh):
        for j in range(kw):
            src = col + (i * kw + j) * col_stride
            off = j * dw - pw
            _valid_range(off, sw, width, out_w, &lo, &hi)
            for oh in range(out_h):
                ih = oh * sh - ph + i * dh
                if 0 <= ih < height:
                    dst = x + ih * width + off
                    for ow in range(lo, hi):
                        dst[ow * sw] += src[ow]
                src += out_w


def col2im(const floating[:, ::1] col, floating[:, :, :, ::1] x, int kh, int kw, int sh,
           int sw, int ph, int pw, int dh, int dw, bint accumulate=False):
    """The adjoint of :func:`im2col`: scatter-add the columns of col back onto x.

    # IN  col: (C·kh·kw, N·OH·OW)
    # OUT x:   (N, C, H, W); overwritten, or added to when ``accumulate``
    """
    cdef Py_ssize_t n = x.shape[0], c = x.shape[1], height = x.shape[2], width = x.shape[3]
    cdef Py_ssize_t out_h = (height + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    cdef Py_ssize_t out_w = (width + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    cdef Py_ssize_t per_image = out_h * out_w, plane, img, chan
    if col.shape[0] != c * kh * kw or col.shape[1] != n * per_image:
        raise ValueError('col2im: col must be (%d, %d), got (%d, %d)'
                         % (c * kh * kw, n * per_image, col.shape[0], col.shape[1]))
    if n * c == 0:
        return
    if per_image <= 0:
        if not accumulate:
            x[...] = 0
        return
    with nogil:
        for plane in prange(n * c, schedule='static',
                            num_threads=threads_for(col.shape[0] * col.shape[1])):
            img = plane // c
            chan = plane % c
            _col2im_plane(&col[chan * kh * kw, img * per_image], col.shape[1],
                          &x[img, chan, 0, 0], height, width, out_h, out_w, kh, kw, sh, sw,
                          ph, pw, dh, dw, accumulate)


def fnp_to_nfp(const floating[:, :, ::1] src, floating[:, :, ::1] dst, const floating[::1] bias=None,
               bint accumulate=False):
    """dst[n, f, :] (+)= src[f, n, :] + bias[f]: the GEMM result back in NCHW order.

    # IN  src:  (F, N, P)
    # IN  bias: (F,) or None
    # OUT dst:  (N, F, P); overwritten, or added to when ``accumulate``
    """
    cdef Py_ssize_t f_count = src.shape[0], n_count = src.shape[1], p_count = src.shape[2]
    cdef Py_ssize_t line, f, n, p
    cdef floating b
    cdef bint has_bias = bias is not None
    if dst.shape[0] != n_count or dst.shape[1] != f_count or dst.shape[2] != p_count:
        raise ValueError('fnp_to_nfp: shapes do not match')
    if has_bias and bias.shape[0] != f_count:
        raise ValueError('fnp_to_nfp: bias must have %d elements' % f_count)
    with nogil:
        for line in prange(n_count * f_count, schedule='static',
                           num_threads=threads_for(n_count * f_count * p_count)):
            n = line // f_count
            f = line % f_count
            b = bias[f] if has_bias else 0
            if accumulate:
                for p in range(p_count):
                    dst[n, f, p] += src[f, n, p] + b
            else:
                for p in range(p_count):
                    dst[n, f, p] = src[f, n, p] + b


def nfp_to_fnp(const floating[:, :, ::1] src, floating[:, :, ::1] dst):
    """dst[f, n, :] = src[n, f, :]: an NCHW gradient laid out for the GEMMs.

    # IN  src: (N, F, P)
    # OUT dst: (F, N, P)
    """
    cdef Py_ssize_t n_count = src.shape[0], f_count = src.shape[1], p_count = src.shape[2]
    cdef Py_ssize_t line, f, n, p
    if dst.shape[0] != f_count or dst.shape[1] != n_count or dst.shape[2] != p_count:
        raise ValueError('nfp_to_fnp: shapes do not match')
    with nogil:
        for line in prange(n_count * f_count, schedule='static',
                           num_threads=threads_for(n_count * f_count * p_count)):
            n = line // f_count
            f = line % f_count
            for p in range(p_count):
                dst[f, n, p] = src[n, f, p]


def bias_grad(const floating[:, :, ::1] dy, floating[::1] db, bint accumulate=False):
    """db[f] (+)= Σ_n Σ_p dy[n, f, p].

    # IN  dy: (N, F, P)
    # OUT db: (F,); overwritten, or added to when ``accumulate``
    """
    cdef Py_ssize_t n_count = dy.shape[0], f_count = dy.shape[1], p_count = dy.shape[2]
    cdef Py_ssize_t f, n, p
    cdef double total
    if db.shape[0] != f_count:
        raise ValueError('bias_grad: db must have %d elements' % f_count)
    with nogil:
        for f in prange(f_count, schedule='static',
                        num_threads=threads_for(n_count * f_count * p_count)):
            total = 0
            for n in range(n_count):
                for p in range(p_count):
                    total = total + dy[n, f, p]
            if accumulate:
                db[f] += <floating>total
            else:
                db[f] = <floating>total
