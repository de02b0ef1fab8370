"""Fused optimizer updates: one pass over the weight, its gradient and its states.

Written with NumPy, ``mom = momentum * mom - lr * wd * weight - lr * rescale_grad * grad``
makes five temporary arrays and reads every operand once per operator; here each element is
loaded once, updated in registers and stored once, which is what MXNet's ``sgd_mom_update``
kernel does too.  With ``G`` the rescaled gradient, clipped to ``[-clip, clip]`` when
``clip > 0``::

    sgd_update:      for i: weight[i] = (1 - lr·wd)·weight[i] - lr·G[i]
    sgd_mom_update:  for i: mom[i] = momentum·mom[i] - lr·wd·weight[i] - lr·G[i]
                            weight[i] += mom[i]
    adam_update:     for i: G = clip(rescale·grad[i] + wd·weight[i])
                            mean[i] = beta1·mean[i] + (1 - beta1)·G
                            var[i]  = beta2·var[i] + (1 - beta2)·G²
                            weight[i] -= lr·mean[i] / (sqrt(var[i]) + epsilon)

Arithmetic is in the buffers' type (float32 or float64), the scalars rounded to it first, as
NumPy does with Python scalars.  Each ``def`` returns False, doing nothing, when the buffers
are not all C-contiguous arrays of one floating type and one size; the caller then takes the
expression path (:mod:`mxref.backend.cpu`).  The expression path is also the reference the
tests compare with.

The updates are memory-bound and the weights of the tutorials' networks small, so the loops
are serial; only very large weights (2^20 elements and more) are split between threads.
"""
import numpy as np

cimport numpy as cnp
from cython.parallel cimport prange
from libc.math cimport sqrt

from ._parallel cimport mxref_max_threads

cnp.import_array()

ctypedef fused floating:
    float
    double

cdef Py_ssize_t PARALLEL_FROM = 1 << 20


cdef inline int _threads(Py_ssize_t n) noexcept nogil:
    return mxref_max_threads() if n >= PARALLEL_FROM else 1


cdef inline floating _clip(floating g, floating clip) noexcept nogil:
    if clip > 0:
        if g > clip:
            return clip
        if g < -clip:
            return -clip
    return g


cdef void _sgd(floating* w, const floating* g, Py_ssize_t n, double lr, double wd,
               double rescale, double clip) noexcept nogil:
    """weight = (1 - lr·wd)·weight - lr·clip(rescale·grad)."""
    cdef floating decay = <floating>(1.0 - lr * wd), flr = <floating>lr
    cdef floating fr = <floating>rescale, fc = <floating>clip
    cdef Py_ssize_t i
    for i in prange(n, nogil=True, schedule='static', num_threads=_threads(n)):
        w[i] = decay * w[i] - flr * _clip(fr * g[i], fc)


cdef void _sgd_mom(floating* w, const floating* g, floating* m, Py_ssize_t n, double lr,
                   double wd, double momentum, double rescale, double clip) noexcept nogil:
    """mom = momentum·mom - lr·wd·weight - lr·clip(rescale·grad); weight += mom."""
    cdef floating flr = <floating>lr, flrwd = <floating>(lr * wd), fmom = <floating>momentum
    cdef floating fr = <floating>rescale, fc = <floating>clip
    cdef floating step
    cdef Py_ssize_t i
    for i in prange(n, nogil=True, schedule='static', num_threads=_threads(n)):
        step = fmom * m[i] - flrwd * w[i] - flr * _clip(fr * g[i], fc)
        m[i] = step
        w[i] = w[i] + step


cdef void _adam(floating* w, const floating* g, floating* mean, floating* var, Py_ssize_t n,
                double lr, double beta1, double beta2, double epsilon, double wd,
                double rescale, double clip) noexcept nogil:
    """Adam's moments and step (lr already holds the bias correction)."""
    cdef floating flr = <floating>lr, fb1 = <floating>beta1, fb2 = <floating>beta2
    cdef floating fc1 = <floating>(1.0 - beta1), fc2 = <floating>(1.0 - beta2)
    cdef floating feps = <floating>epsilon, fwd = <floating>wd, fr = <floating>rescale
    cdef floating fc = <floating>clip
    cdef floating G, mi, vi
    cdef Py_ssize_t i
    for i in prange(n, nogil=True, schedule='static', num_threads=_threads(n)):
        G = _clip(fr * g[i] + fwd * w[i], fc)
        mi = fb1 * mean[i] + fc1 * G
        vi = fb2 * var[i] + fc2 * G * G
        mean[i] = mi
        var[i] = vi
        w[i] = w[i] - flr * mi / (<floating>sqrt(vi) + feps)


cdef bint _takes(cnp.ndarray weight, tuple others):
    """True when weight and ``others`` are C-contiguous float32 (or all float64) arrays of the
    same size and the weight is writeable."""
    cdef int typenum = cnp.PyArray_TYPE(weight)
    cdef cnp.ndarray other
    if typenum != cnp.NPY_FLOAT32 and typenum != cnp.NPY_FLOAT64:
        return False
    if not cnp.PyArray_IS_C_CONTIGUOUS(weight) or not cnp.PyArray_ISWRITEABLE(weight):
        return False
    for item in others:
        if type(item) is not np.ndarray:
            return False
        other = <cnp.ndarray>item
        if (cnp.PyArray_TYPE(other) != typenum or not cnp.PyArray_IS_C_CONTIGUOUS(other)
                or cnp.PyArray_SIZE(other) != cnp.PyArray_SIZE(weight)):
            return False
    return True


def sgd_update(cnp.ndarray weight, cnp.ndarray grad, double lr, double wd,
               double rescale_grad, double clip_gradient):
    """In place: weight = (1 - lr·wd)·weight - lr·clip(rescale_grad·grad).

    # IN/OUT weight;  IN grad (same size, C-contiguous, float32 or float64)

    ``clip_gradient`` <= 0 means no clipping.  Returns False, doing nothing, for buffers
    this kernel does not take (see the module docstring).
    """
    if not _takes(weight, (grad,)):
        return False
    cdef Py_ssize_t n = cnp.PyArray_SIZE(weight)
    cdef void* w = cnp.PyArray_DATA(weight)
    cdef void* g = cnp.PyArray_DATA(grad)
    if cnp.PyArray_TYPE(weight) == cnp.NPY_FLOAT32:
        with nogil:
            _sgd[float](<float*>w, <float*>g, n, lr, wd, rescale_grad, clip_gradient)
    else:
        with nogil:
            _sgd[double](<double*>w, <double*>g, n, lr, wd, rescale_grad, clip_gradient)
    return True


def sgd_mom_update(cnp.ndarray weight, cnp.ndarray grad, cnp.ndarray mom, double lr,
                   double wd, double momentum, double rescale_grad, double clip_gradient):
    """In place: mom = momentum·mom - lr·wd·weight - lr·clip(rescale_grad·grad);
    weight += mom.

    # IN/OUT weight, mom;  IN grad (same size, C-contiguous, float32 or float64)

    Returns False, doing nothing, for buffers this kernel does not take.
    """
    if not _takes(weight, (grad, mom)) or not cnp.PyArray_ISWRITEABLE(mom):
        return False
    cdef Py_ssize_t n = cnp.PyArray_SIZE(weight)
    cdef void* w = cnp.PyArray_DATA(weight)
    cdef void* g = cnp.PyArray_DATA(grad)
    cdef void* m = cnp.PyArray_DATA(mom)
    if cnp.PyArray_TYPE(weight) == cnp.NPY_FLOAT32:
        with nogil:
            _sgd_mom[float](<float*>w, <float*>g, <float*>m, n, lr, wd, momentum,
                            rescale_grad, clip_gradient)
    else:
        with nogil:
            _sgd_mom[double](<double*>w, <double*>g, <double*>m, n, lr, wd, momentum,
                             rescale_grad, clip_gradient)
    return True


def adam_update(cnp.ndarray weight, cnp.ndarray grad, cnp.ndarray mean, cnp.ndarray var,
                double lr, double beta1, double beta2, double epsilon, double wd,
                double rescale_grad, double clip_gradient):
    """In place: Adam's update of mean, var and weight (see the module docstring).

    # IN/OUT weight, mean, var;  IN grad (same size, C-contiguous, float32 or float64)

    Returns False, doing nothing, for buffers this kernel does not take.
    """
    if (not _takes(weight, (grad, mean, var)) or not cnp.PyArray_ISWRITEABLE(mean)
            or not cnp.PyArray_ISWRITEABLE(var)):
        return False
    cdef Py_ssize_t n = cnp.PyArray_SIZE(weight)
    cdef void* w = cnp.PyArray_DATA(weight)
    cdef void* g = cnp.PyArray_DATA(grad)
    cdef void* m = cnp.PyArray_DATA(mean)
    cdef void* v = cnp.PyArray_DATA(var)
    if cnp.PyArray_TYPE(weight) == cnp.NPY_FLOAT32:
        with nogil:
            _adam[float](<float*>w, <float*>g, <float*>m, <float*>v, n, lr, beta1, beta2,
                         epsilon, wd, rescale_grad, clip_gradient)
    else:
        with nogil:
            _adam[double](<double*>w, <double*>g, <double*>m, <double*>v, n, lr, beta1,
                          beta2, epsilon, wd, rescale_grad, clip_gradient)
    return True
