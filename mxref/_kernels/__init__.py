"""mxref's compiled CPU kernels (Cython).

Each ``*.pyx`` here holds a ``nogil`` core with its loop nest in the docstring and a thin
``def`` wrapper over typed memoryviews.  Only :mod:`mxref.backend.cpu` imports them, through
:func:`require`, which turns a missing build into an error that says how to fix it.
"""
import importlib

__all__ = ['require']


def require(name):
    """Import the compiled kernel module ``mxref._kernels.<name>``."""
    try:
        return importlib.import_module(__name__ + '.' + name)
    except ImportError as err:
        raise ImportError(
            "mxref's compiled kernel module '%s' is missing or broken (%s). Build the kernels "
            "with `pip install -e .` (or `python setup.py build_ext --inplace`) in the mxref "
            "source tree; this needs a C compiler, Cython and NumPy." % (name, err)) from None
