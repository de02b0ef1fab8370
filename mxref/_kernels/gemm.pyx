"""Matrix multiply: C = alpha · op(A) · op(B) + beta · C on C-contiguous (row-major) buffers.

``op(X)`` is X or Xᵀ (the ``trans_a``/``trans_b`` flags); A is M×K after ``op``, B is K×N,
C is M×N.  ``beta = 0`` overwrites C (MXNet's req 'write'), ``beta = 1`` accumulates ('add').
Leading axes beyond the last two are a batch: C[i] = op(A[i]) · op(B[i]).

Two kernels compute the same thing:

``gemm``  (the default path) calls an optimised BLAS: the OpenBLAS of the
    ``scipy-openblas32`` package, else the one SciPy ships (``_choose_blas``).  BLAS is
    column-major; a row-major M×N matrix *is* the
    column-major N×M matrix Cᵀ, so we ask BLAS for  Cᵀ = op(B)ᵀ · op(A)ᵀ  — the same call with
    the operands swapped and no data moved::

        xgemm(flag_b, flag_a, N, M, K, alpha, B, ldb, A, lda, beta, C, N)

    where a stored row-major X of c columns is, to BLAS, Xᵀ with leading dimension c.
    BLAS runs single-threaded; each OpenMP thread computes its own block of rows (or columns)
    of C with one such call, so all our kernels share one thread team::

        for part in prange(threads):            # rows r0:r1 of C (or columns c0:c1)
            xgemm(..., op(A)[r0:r1, :], op(B), C[r0:r1, :])

``gemm_blocked`` is the readable version for teaching (and a check on the first).  The loop
nest is the classic three-level blocking of Goto's GEMM: a KC×NC panel of op(B) and an MC×KC
block of op(A) are copied ("packed") into contiguous buffers that stay in cache, and the inner
kernel updates four rows of C at once, so each loaded B value feeds four multiply-adds::

    for jc in range(0, N, NC):                      # columns of C
        for pc in range(0, K, KC):                  # a slice of the shared axis
            Bp = op(B)[pc:pc+KC, jc:jc+NC]          # packed, shared by all threads
            for ic in prange(0, M, MC):             # blocks of rows of C, in parallel
                Ap = op(A)[ic:ic+MC, pc:pc+KC]      # packed, one per thread
                for i in range(0, MC, 4):           # four rows at a time
                    for k in range(KC):
                        for j in range(NC):         # contiguous: the compiler vectorises it
                            C[i:i+4, j] += Ap[i:i+4, k] * Bp[k, j]
"""
from cython.parallel cimport prange
from libc.stdint cimport uintptr_t
from libc.stdlib cimport malloc, free
from scipy.linalg cimport cython_blas

from ._parallel cimport mxref_max_threads

cimport numpy as cnp

cnp.import_array()

ctypedef fused floating:
    float
    double

# block sizes of the teaching kernel: Bp (KC×NC) is 256 KiB of float32 (L2), Ap (MC×KC) 64 KiB
cdef enum:
    MC = 64
    KC = 256
    NC = 256

cdef Py_ssize_t _INT_MAX = 2147483647


# ----------------------------------------------------------------------------------------------
# the default path: BLAS, one share of C per OpenMP thread
# ----------------------------------------------------------------------------------------------
# The Fortran BLAS interface (32-bit integers) of sgemm and dgemm, called through pointers so
# that the BLAS is chosen when this module is imported (see _choose_blas).
ctypedef void (*sgemm_t)(char* transa, char* transb, int* m, int* n, int* k, float* alpha,
                         float* a, int* lda, float* b, int* ldb, float* beta, float* c,
                         int* ldc) noexcept nogil
ctypedef void (*dgemm_t)(char* transa, char* transb, int* m, int* n, int* k, double* alpha,
                         double* a, int* lda, double* b, int* ldb, double* beta, double* c,
                         int* ldc) noexcept nogil

cdef sgemm_t _sgemm = cython_blas.sgemm
cdef dgemm_t _dgemm = cython_blas.dgemm


def _single_threaded(lib):
    """Ask the OpenBLAS (or MKL, or BLIS) loaded as ``lib`` (a ctypes.CDLL) to compute on the
    calling thread only; returns the name of the function that did it, or None.

    Our kernels run on OpenMP's thread team.  A multi-threaded BLAS brings a second team; on
    a 2-core machine the two fight for the cores each time one hands over to the other (a
    convolution layer measured 3× slower than its parts).  So BLAS computes single-threaded
    and :func:`gemm` splits C between the OpenMP threads itself.
    """
    import ctypes
    for name in ('scipy_openblas_set_num_threads', 'scipy_openblas_set_num_threads64_',
                 'openblas_set_num_threads', 'openblas_set_num_threads64_',
                 'MKL_Set_Num_Threads', 'bli_thread_set_num_threads'):
        setter = getattr(lib, name, None)
        if setter is not None:
            setter.argtypes = [ctypes.c_int]
            setter.restype = None
            setter(1)
            return name
    return None


def _choose_blas():
    """Point _sgemm/_dgemm at the best BLAS available; returns (its description, the name of
    the function that made it single-threaded).

    First choice: the OpenBLAS of the ``scipy-openblas32`` package (the build SciPy and NumPy
    bundle, published on its own and newer than the copy inside a SciPy release: OpenBLAS
    0.3.34 against SciPy 1.17's 0.3.30 computes the MNIST MLP's 100×784×128 products 13-27%
    faster on one core).  Its library is opened with ctypes and its ``scipy_sgemm_`` and
    ``scipy_dgemm_`` entry points stored here; nothing is linked at build time, so a missing
    or broken package falls back, silently, to the second choice: the BLAS SciPy ships,
    through ``scipy.linalg.cython_blas``.  ``MXREF_BLAS=scipy`` forces the fallback.
    """
    global _sgemm, _dgemm
    import ctypes
    import os
    if os.environ.get('MXREF_BLAS', '').lower() != 'scipy':
        try:
            import scipy_openblas32
            lib = ctypes.CDLL(os.path.join(scipy_openblas32.get_lib_dir(),
                                           scipy_openblas32.get_library(fullname=True)))
            s_addr = ctypes.cast(lib.scipy_sgemm_, ctypes.c_void_p).value
            d_addr = ctypes.cast(lib.scipy_dgemm_, ctypes.c_void_p).value
        except (ImportError, OSError, AttributeError, IndexError):
            pass
        else:
            _loaded.append(lib)                     # keep the library for the pointers' sake
            setter = _single_threaded(lib)
            _sgemm = <sgemm_t><uintptr_t>s_addr
            _dgemm = <dgemm_t><uintptr_t>d_addr
            return 'OpenBLAS %s (scipy-openblas32)' % scipy_openblas32.__version__, setter
    from scipy.linalg import cython_blas as module
    try:
        lib = ctypes.CDLL(module.__file__)          # dlsym also searches its dependencies
    except OSError:
        return 'scipy.linalg.cython_blas', None
    return 'scipy.linalg.cython_blas', _single_threaded(lib)


_loaded = []
blas_name, blas_threads_setter = _choose_blas()


# below this many multiply-adds (M·N·K, about 10 µs on one core) one thread does the whole
# product: waking a second thread costs more than it saves.  Measured on 2 cores: the MNIST
# MLP's 100×64×128 product (2^19.6) ran at 0.71× NumPy on one thread, 0.93× on two.
cdef Py_ssize_t _PARALLEL_MNK = 1 << 19


cdef inline void _blas(const floating* a, const floating* b, floating* c, int m, int n, int k,
                       int lda, int ldb, int ldc, bint trans_a, bint trans_b, floating alpha,
                       floating beta) noexcept nogil:
    """C (m×n, row-major, row stride ldc) = alpha · op(A) · op(B) + beta · C, by one
    column-major BLAS call computing Cᵀ = op(B)ᵀ · op(A)ᵀ."""
    cdef char flag_a = b'T' if trans_a else b'N'
    cdef char flag_b = b'T' if trans_b else b'N'
    if floating is float:
        _sgemm(&flag_b, &flag_a, &n, &m, &k, &alpha, <float*>b, &ldb, <float*>a, &lda, &beta,
               c, &ldc)
    else:
        _dgemm(&flag_b, &flag_a, &n, &m, &k, &alpha, <double*>b, &ldb, <double*>a, &lda,
               &beta, c, &ldc)


cdef void _blas_split(const floating* a, const floating* b, floating* c, int m, int n, int k,
                      bint trans_a, bint trans_b, floating alpha, floating beta) noexcept nogil:
    """One product, its rows (or columns, whichever are more) of C shared among the threads.

    Row block [r0, r1) of C needs rows r0:r1 of op(A); column block [c0, c1) needs columns
    c0:c1 of op(B); both are sub-matrices of the stored buffers with unchanged leading
    dimensions, so every thread makes one ordinary BLAS call.
    """
    cdef int lda = m if trans_a else k              # columns of A and B as stored
    cdef int ldb = k if trans_b else n
    cdef int teams = threads_for_product(<Py_ssize_t>m * n * k)
    cdef int part, first, size, span
    cdef bint by_rows = m >= n
    if lda < 1:
        lda = 1
    if ldb < 1:
        ldb = 1
    span = m if by_rows else n
    if teams > span // 8:                           # keep each share at least 8 wide
        teams = max(1, span // 8)
    if teams == 1:
        _blas(a, b, c, m, n, k, lda, ldb, n, trans_a, trans_b, alpha, beta)
        return
    for part in prange(teams, schedule='static', num_threads=teams):
        first = <int>((<Py_ssize_t>span * part) // teams)
        size = <int>((<Py_ssize_t>span * (part + 1)) // teams) - first
        if by_rows:                                 # C[first:first+size, :]
            _blas(a + (first if trans_a else <Py_ssize_t>first * k), b, c + <Py_ssize_t>first * n,
                  size, n, k, lda, ldb, n, trans_a, trans_b, alpha, beta)
        else:                                       # C[:, first:first+size]
            _blas(a, b + (<Py_ssize_t>first * k if trans_b else first), c + first,
                  m, size, k, lda, ldb, n, trans_a, trans_b, alpha, beta)


cdef inline int threads_for_product(Py_ssize_t mnk) noexcept nogil:
    return 1 if mnk < _PARALLEL_MNK else mxref_max_threads()


cdef void _blas_batched(const floating* a, const floating* b, floating* c, Py_ssize_t batch,
                        int m, int n, int k, bint trans_a, bint trans_b, floating alpha,
                        floating beta) noexcept nogil:
    """C[i] = alpha · op(A[i]) · op(B[i]) + beta · C[i]: large products split their rows,
    many small ones are shared out whole."""
    cdef Py_ssize_t i, j
    cdef Py_ssize_t size_a = <Py_ssize_t>m * k, size_b = <Py_ssize_t>k * n
    cdef Py_ssize_t size_c = <Py_ssize_t>m * n
    cdef int lda = max(1, m if trans_a else k), ldb = max(1, k if trans_b else n)
    if k == 0:                                      # BLAS skips the beta scaling when k == 0
        for j in range(batch * size_c):
            c[j] = beta * c[j] if beta != 0 else 0
        return
    if batch == 1 or <Py_ssize_t>m * n * k >= _PARALLEL_MNK:
        for i in range(batch):
            _blas_split(a + i * size_a, b + i * size_b, c + i * size_c, m, n, k, trans_a,
                        trans_b, alpha, beta)
        return
    for i in prange(batch, schedule='static',
                    num_threads=threads_for_product(batch * m * n * k)):
        _blas(a + i * size_a, b + i * size_b, c + i * size_c, m, n, k, lda, ldb, n, trans_a,
              trans_b, alpha, beta)


cdef bint _overlap(cnp.ndarray x, cnp.ndarray y):
    """Whether the memory spans of two C-contiguous arrays intersect."""
    cdef char* x0 = <char*>cnp.PyArray_DATA(x)
    cdef char* y0 = <char*>cnp.PyArray_DATA(y)
    return x0 < y0 + cnp.PyArray_NBYTES(y) and y0 < x0 + cnp.PyArray_NBYTES(x)


def gemm(cnp.ndarray a, cnp.ndarray b, cnp.ndarray c, bint trans_a=False, bint trans_b=False,
         double alpha=1.0, double beta=0.0):
    """c = alpha · op(a) · op(b) + beta · c through BLAS (float32 or float64).

    # IN  a: (..., M, K), or (..., K, M) with trans_a; C-contiguous
    # IN  b: (..., K, N), or (..., N, K) with trans_b; C-contiguous
    # OUT c: (..., M, N); the leading axes (a batch) are the same for all three

    Returns False, touching nothing, when the buffers are not that (another dtype, not
    C-contiguous, a broadcast batch, c overlapping a or b): the caller then uses NumPy.
    Raises ValueError when the sizes do not multiply.
    """
    cdef int nd = cnp.PyArray_NDIM(c), typenum = cnp.PyArray_TYPE(c), axis
    if (nd < 2 or cnp.PyArray_NDIM(a) != nd or cnp.PyArray_NDIM(b) != nd
            or (typenum != cnp.NPY_FLOAT32 and typenum != cnp.NPY_FLOAT64)
            or cnp.PyArray_TYPE(a) != typenum or cnp.PyArray_TYPE(b) != typenum
            or not cnp.PyArray_IS_C_CONTIGUOUS(a) or not cnp.PyArray_IS_C_CONTIGUOUS(b)
            or not cnp.PyArray_IS_C_CONTIGUOUS(c) or _overlap(a, c) or _overlap(b, c)):
        return False
    cdef cnp.npy_intp* dims_a = cnp.PyArray_DIMS(a)
    cdef cnp.npy_intp* dims_b = cnp.PyArray_DIMS(b)
    cdef cnp.npy_intp* dims_c = cnp.PyArray_DIMS(c)
    cdef Py_ssize_t batch = 1
    for axis in range(nd - 2):
        if dims_a[axis] != dims_c[axis] or dims_b[axis] != dims_c[axis]:
            return False
        batch *= dims_c[axis]
    cdef Py_ssize_t m = dims_c[nd - 2], n = dims_c[nd - 1]
    cdef Py_ssize_t k = dims_a[nd - 2] if trans_a else dims_a[nd - 1]
    if ((dims_a[nd - 1] if trans_a else dims_a[nd - 2]) != m
            or (dims_b[nd - 1] if trans_b else dims_b[nd - 2]) != k
            or (dims_b[nd - 2] if trans_b else dims_b[nd - 1]) != n):
        raise ValueError('gemm: shapes %s%s and %s%s do not give %s'
                         % ((<object>a).shape, 'ᵀ' if trans_a else '', (<object>b).shape,
                            'ᵀ' if trans_b else '', (<object>c).shape))
    if m > _INT_MAX or n > _INT_MAX or k > _INT_MAX:
        return False
    if batch == 0 or m == 0 or n == 0:
        return True
    cdef void* pa = cnp.PyArray_DATA(a)
    cdef void* pb = cnp.PyArray_DATA(b)
    cdef void* pc = cnp.PyArray_DATA(c)
    if typenum == cnp.NPY_FLOAT32:
        with nogil:
            _blas_batched[float](<float*>pa, <float*>pb, <float*>pc, batch, <int>m, <int>n,
                                 <int>k, trans_a, trans_b, <float>alpha, <float>beta)
    else:
        with nogil:
            _blas_batched[double](<double*>pa, <double*>pb, <double*>pc, batch, <int>m, <int>n,
                                  <int>k, trans_a, trans_b, alpha, beta)
    return True


# ----------------------------------------------------------------------------------------------
# the teaching path: blocked GEMM in plain loops
# ----------------------------------------------------------------------------------------------
cdef inline floating _at(const floating* x, Py_ssize_t cols, bint trans, Py_ssize_t row,
                         Py_ssize_t col) noexcept nogil:
    """op(X)[row, col] for a row-major X with ``cols`` columns as stored."""
    return x[col * cols + row] if trans else x[row * cols + col]


cdef void _pack(const floating* x, Py_ssize_t cols, bint trans, Py_ssize_t row0,
                Py_ssize_t rows, Py_ssize_t col0, Py_ssize_t ncols,
                floating* out) noexcept nogil:
    """out[r, c] = op(X)[row0 + r, col0 + c]: a rows×ncols block made contiguous."""
    cdef Py_ssize_t r, c
    for r in range(rows):
        for c in range(ncols):
            out[r * ncols + c] = _at(x, cols, trans, row0 + r, col0 + c)


cdef void _block(const floating* ap, const floating* bp, floating* c, Py_ssize_t ldc,
                 Py_ssize_t mb, Py_ssize_t nb, Py_ssize_t kb, floating alpha) noexcept nogil:
    """C[:mb, :nb] += alpha · Ap (mb×kb) · Bp (kb×nb), four rows of C per sweep over Bp."""
    cdef Py_ssize_t i, j, p
    cdef floating a0, a1, a2, a3, bv
    cdef floating* c0
    cdef floating* c1
    cdef floating* c2
    cdef floating* c3
    i = 0
    while i + 4 <= mb:
        c0 = c + i * ldc
        c1 = c0 + ldc
        c2 = c1 + ldc
        c3 = c2 + ldc
        for p in range(kb):
            a0 = alpha * ap[i * kb + p]
            a1 = alpha * ap[(i + 1) * kb + p]
            a2 = alpha * ap[(i + 2) * kb + p]
            a3 = alpha * ap[(i + 3) * kb + p]
            for j in range(nb):
                bv = bp[p * nb + j]
                c0[j] += a0 * bv
                c1[j] += a1 * bv
                c2[j] += a2 * bv
                c3[j] += a3 * bv
        i += 4
    while i < mb:                                       # the last rows, one at a time
        c0 = c + i * ldc
        for p in range(kb):
            a0 = alpha * ap[i * kb + p]
            for j in range(nb):
                c0[j] += a0 * bp[p * nb + j]
        i += 1


cdef void _blocked(const floating* a, const floating* b, floating* c, Py_ssize_t m,
                   Py_ssize_t n, Py_ssize_t k, bint trans_a, bint trans_b, floating alpha,
                   floating beta, floating* bp, floating* ap) noexcept nogil:
    """The loop nest of the module docstring, for one matrix of the batch.

    ``bp`` holds KC×NC values; ``ap`` holds one MC×KC block per block of rows of C, so the
    threads never share one.
    """
    cdef Py_ssize_t cols_a = m if trans_a else k, cols_b = k if trans_b else n
    cdef Py_ssize_t jc, pc, ic, nb, kb, mb, idx, block
    for idx in range(m * n):                            # C = beta · C first
        c[idx] = beta * c[idx] if beta != 0 else 0
    jc = 0
    while jc < n:                                       # (Cython's range needs a literal step)
        nb = min(<Py_ssize_t>NC, n - jc)
        pc = 0
        while pc < k:
            kb = min(<Py_ssize_t>KC, k - pc)
            _pack(b, cols_b, trans_b, pc, kb, jc, nb, bp)
            for block in prange((m + MC - 1) // MC, schedule='static'):
                ic = block * MC
                mb = min(<Py_ssize_t>MC, m - ic)
                _pack(a, cols_a, trans_a, ic, mb, pc, kb, ap + ic * KC)
                _block(ap + ic * KC, bp, c + ic * n + jc, n, mb, nb, kb, alpha)
            pc += KC
        jc += NC


def gemm_blocked(const floating[:, :, ::1] a, const floating[:, :, ::1] b,
                 floating[:, :, ::1] c, bint trans_a=False, bint trans_b=False,
                 double alpha=1.0, double beta=0.0):
    """c[i] = alpha · op(a[i]) · op(b[i]) + beta · c[i] by the blocked loop nest (no BLAS).

    # IN  a: (batch, M, K), or (batch, K, M) with trans_a
    # IN  b: (batch, K, N), or (batch, N, K) with trans_b
    # OUT c: (batch, M, N)
    """
    cdef Py_ssize_t batch = c.shape[0], m = c.shape[1], n = c.shape[2]
    cdef Py_ssize_t k = a.shape[1] if trans_a else a.shape[2]
    cdef Py_ssize_t i
    cdef floating* bp
    cdef floating* ap
    if batch == 0 or m == 0 or n == 0:
        return
    bp = <floating*>malloc(KC * NC * sizeof(floating))
    ap = <floating*>malloc(((m + MC - 1) // MC) * MC * KC * sizeof(floating))
    try:
        if bp == NULL or ap == NULL:
            raise MemoryError()
        with nogil:
            for i in range(batch):
                _blocked(&a[i, 0, 0], &b[i, 0, 0], &c[i, 0, 0], m, n, k, trans_a, trans_b,
                         <floating>alpha, <floating>beta, bp, ap)
    finally:
        free(bp)
        free(ap)
