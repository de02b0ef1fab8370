"""The small math language shared by every backend's elementwise evaluator.

Operators state their forward and gradient formulas as strings such as
``'dy * y * (1 - y)'``.  The same string is valid Python (evaluated with NumPy on the CPU)
and valid CUDA C++ (compiled into an elementwise kernel on the GPU), provided it only uses
arithmetic, comparisons and the functions named in :data:`FUNCTIONS`.

>>> sorted(FUNCTIONS)[:4]
['arccos', 'arccosh', 'arcsin', 'arcsinh']
"""
import numpy as np
from scipy import special

__all__ = ['FUNCTIONS', 'numpy_namespace']


def _sign(x):
    return np.sign(x)


def _mod(a, b):
    """Python-style remainder (sign of the divisor); 0 where the divisor is 0, as MXNet."""
    with np.errstate(divide='ignore', invalid='ignore'):
        r = np.mod(a, b)
    return np.where(b == 0, 0, r).astype(np.result_type(a, b), copy=False)


def _div(a, b):
    """True division for floats, truncating division for integers (as MXNet's kernels)."""
    a = np.asarray(a)
    b = np.asarray(b)
    if a.dtype.kind in 'iub' and b.dtype.kind in 'iub':
        with np.errstate(divide='ignore', invalid='ignore'):
            q = np.trunc(np.true_divide(a, b))
        return np.where(b == 0, 0, q).astype(np.result_type(a, b))
    return np.true_divide(a, b)


def _power(a, b):
    """a ** b; for integers the result truncates toward zero (2 ** -1 is 0), as in MXNet."""
    a = np.asarray(a)
    b = np.asarray(b)
    if a.dtype.kind in 'iub' and b.dtype.kind in 'iub':
        with np.errstate(divide='ignore', invalid='ignore', over='ignore'):
            value = np.trunc(np.power(a.astype(np.float64), b))
        return value.astype(np.result_type(a, b))
    return np.power(a, b)


def _float_result(function):
    """Apply a SciPy special function, keeping float32 inputs float32."""
    def apply(x):
        x = np.asarray(x)
        return function(x).astype(np.result_type(x, np.float32), copy=False)
    apply.__name__ = function.__name__
    return apply


def _where(cond, a, b):
    return np.where(cond, a, b)


# name -> NumPy implementation.  The CUDA backend defines a device function of each name.
FUNCTIONS = {
    'exp': np.exp, 'expm1': np.expm1, 'log': np.log, 'log1p': np.log1p,
    'log2': np.log2, 'log10': np.log10, 'sqrt': np.sqrt, 'cbrt': np.cbrt,
    'sin': np.sin, 'cos': np.cos, 'tan': np.tan,
    'arcsin': np.arcsin, 'arccos': np.arccos, 'arctan': np.arctan,
    'sinh': np.sinh, 'cosh': np.cosh, 'tanh': np.tanh,
    'arcsinh': np.arcsinh, 'arccosh': np.arccosh, 'arctanh': np.arctanh,
    'fabs': np.fabs, 'sign': _sign, 'floor': np.floor, 'ceil': np.ceil,
    'rint': np.rint, 'trunc': np.trunc,
    'round': lambda x: np.where(x >= 0, np.floor(x + 0.5), np.ceil(x - 0.5)),
    'fmax': np.maximum, 'fmin': np.minimum, 'power': _power, 'hypot': np.hypot,
    'mod': _mod, 'div': _div, 'where': _where,
    # special functions: SciPy's vectorised implementations (already a dependency for BLAS);
    # they return inf/nan at the poles as MXNet does, instead of raising
    'erf': _float_result(special.erf), 'lgamma': _float_result(special.gammaln),
    'tgamma': _float_result(special.gamma), 'digamma': _float_result(special.psi),
}


def numpy_namespace():
    """A fresh dict mapping every function name to its NumPy implementation (for ``eval``)."""
    namespace = dict(FUNCTIONS)
    namespace['__builtins__'] = {}
    return namespace
