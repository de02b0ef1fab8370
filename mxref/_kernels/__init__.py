"""mxref's compiled CPU kernels (Cython).

Each ``*.pyx`` here holds a ``nogil`` core with its loop nest in the docstring and a thin
``def`` wrapper over typed memoryviews.  Only :mod:`mxref.backend.cpu` imports them, through
:func:`require`, which turns a missing build into an error that says how to fix it.
"""
import importlib
import os

__all__ = ['require']

# How idle OpenMP threads wait for the next parallel region.  libgomp's default is to spin for
# about 300,000 iterations (a millisecond or so) before sleeping: those spinning threads fight
# with NumPy's BLAS threads and with other processes for the cores (on 2 cores a 10-class
# softmax took 4.5 ms instead of microseconds).  Sleeping at once (OMP_WAIT_POLICY=PASSIVE
# alone) costs tens of microseconds to wake a thread at each of the tutorials' small products
# (the MLP's 100x64x128 product ran at 0.5-0.7x NumPy's speed).  So the threads spin briefly,
# GOMP_SPINCOUNT=3000 iterations (tens of microseconds: the gap between two kernels of a
# training step), then sleep.  Measured on the 2-core development machine (see
# benchmarks/README.md): every GEMM shape at 1.02x NumPy or better, training 22-51% faster
# than with PASSIVE alone; but two trainings sharing the two cores run 14-55% slower.  Set
# OMP_WAIT_POLICY=PASSIVE yourself when the machine is shared.  Both have to be set before
# libgomp is loaded, i.e. before the first kernel module is imported; a value the user set
# (either variable) is kept.
if 'OMP_WAIT_POLICY' not in os.environ and 'GOMP_SPINCOUNT' not in os.environ:
    os.environ['OMP_WAIT_POLICY'] = 'PASSIVE'
    os.environ['GOMP_SPINCOUNT'] = '3000'


def require(name):
    """Import the compiled kernel module ``mxref._kernels.<name>``."""
    try:
        return importlib.import_module(__name__ + '.' + name)
    except ImportError as err:
        raise ImportError(
            "mxref's compiled kernel module '%s' is missing or broken (%s). Build the kernels "
            "with `pip install -e .` (or `python setup.py build_ext --inplace`) in the mxref "
            "source tree; this needs a C compiler, Cython and NumPy." % (name, err)) from None
