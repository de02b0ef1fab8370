"""mxref's compiled CPU kernels (Cython).

Each ``*.pyx`` here holds a ``nogil`` core with its loop nest in the docstring and a thin
``def`` wrapper over typed memoryviews.  Only :mod:`mxref.backend.cpu` imports them, through
:func:`require`, which turns a missing build into an error that says how to fix it.
"""
import importlib
import os

__all__ = ['require']

# OpenMP threads that busy-wait between parallel regions fight with NumPy's BLAS threads for
# the cores: on a 2-core machine a 10-class softmax took 4.5 ms instead of microseconds.
# Idle OpenMP threads must sleep instead.  This has to be set before libgomp is loaded, i.e.
# before the first kernel module is imported; a value the user set is kept.
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')


def require(name):
    """Import the compiled kernel module ``mxref._kernels.<name>``."""
    try:
        return importlib.import_module(__name__ + '.' + name)
    except ImportError as err:
        raise ImportError(
            "mxref's compiled kernel module '%s' is missing or broken (%s). Build the kernels "
            "with `pip install -e .` (or `python setup.py build_ext --inplace`) in the mxref "
            "source tree; this needs a C compiler, Cython and NumPy." % (name, err)) from None
