"""Elementwise kernels generated from the shared expression language (pure Python).

An operator writes ``'dy * y * (1 - y)'`` once; the CPU backend evaluates it with NumPy and
this module turns it into a CUDA kernel.  The expression is parsed with Python's own parser
(it *is* Python syntax), checked against the language of :mod:`mxref.backend.exprs`, and
printed as C++ in which every operation keeps NumPy's meaning:

* names become local variables of the *computation type*: the NumPy result type of all the
  inputs (``numpy.result_type``, so a Python float next to float32 arrays stays float32, and
  next to int32 arrays gives float64, exactly as on the CPU);
* ``a / b`` becomes ``mx_truediv(a, b)`` (true division, in double for two integers);
* functions become their ``mx_`` twins of ``common.cuh`` (``exp`` -> ``mx_exp``);
* float literals take the floating computation type (``0.5 * x`` stays in float for float32).

A kernel is memoised per (expression, dtypes, number of axes, write request): sizes and strides
are kernel arguments, so a new shape never recompiles.

>>> print(translate('dy * y * (1 - y)', 'float'))
((v_dy * v_y) * (1 - v_y))
>>> print(translate('where(x > 0, x, s * expm1(x))', 'float'))
mx_where((v_x > 0), v_x, (v_s * mx_expm1(v_x)))
>>> print(translate('1 / sqrt(x + 0.5)', 'double'))
mx_truediv(1, mx_sqrt((v_x + ((double)0.5))))
"""
import ast
import functools
import math
import numbers

import numpy as np

from ...base import MXNetValueError
from .. import exprs
from .sources import c_type

__all__ = ['translate', 'names_in', 'compute_dtype', 'ElementwiseSpec', 'elementwise_source']

# how many arguments each function of the language takes
_ARITY = {name: 1 for name in exprs.FUNCTIONS}
_ARITY.update({'fmax': 2, 'fmin': 2, 'power': 2, 'hypot': 2, 'mod': 2, 'div': 2, 'where': 3})

_BINARY = {ast.Add: '+', ast.Sub: '-', ast.Mult: '*'}
_BINARY_CALLS = {ast.Div: 'mx_truediv', ast.Mod: 'mx_mod', ast.Pow: 'mx_power'}
_COMPARE = {ast.Eq: '==', ast.NotEq: '!=', ast.Lt: '<', ast.LtE: '<=', ast.Gt: '>',
            ast.GtE: '>='}


def _fail(expr, what):
    raise MXNetValueError("elementwise expression '%s': %s" % (expr, what))


class _Printer:
    """Prints one parsed expression as C++ (see the module docstring for the rules)."""

    def __init__(self, expr, float_ctype):
        self.expr = expr
        self.float_ctype = float_ctype
        self.names = []

    def visit(self, node):
        method = getattr(self, 'visit_' + type(node).__name__, None)
        if method is None:
            _fail(self.expr, '%s is not part of the expression language'
                  % type(node).__name__)
        return method(node)

    def visit_Expression(self, node):
        return self.visit(node.body)

    def visit_Name(self, node):
        if node.id in exprs.FUNCTIONS:
            _fail(self.expr, "'%s' is a function; call it" % node.id)
        if node.id not in self.names:
            self.names.append(node.id)
        return 'v_' + node.id

    def visit_Constant(self, node):
        value = node.value
        if isinstance(value, bool):
            return 'true' if value else 'false'
        if isinstance(value, numbers.Integral):
            return str(value) if abs(value) < 2 ** 31 else '%dLL' % value
        if isinstance(value, float):
            if math.isinf(value):
                return '((%s)INFINITY)' % self.float_ctype
            return '((%s)%r)' % (self.float_ctype, value)
        _fail(self.expr, 'constant %r is not a number' % (value,))

    def visit_UnaryOp(self, node):
        operand = self.visit(node.operand)
        if isinstance(node.op, ast.USub):
            return '(-%s)' % operand
        if isinstance(node.op, ast.UAdd):
            return operand
        _fail(self.expr, 'unary operator %s is not supported' % type(node.op).__name__)

    def visit_BinOp(self, node):
        left, right = self.visit(node.left), self.visit(node.right)
        op = type(node.op)
        if op in _BINARY:
            return '(%s %s %s)' % (left, _BINARY[op], right)
        if op in _BINARY_CALLS:
            return '%s(%s, %s)' % (_BINARY_CALLS[op], left, right)
        _fail(self.expr, 'operator %s is not supported' % op.__name__)

    def visit_Compare(self, node):
        terms = [self.visit(node.left)] + [self.visit(c) for c in node.comparators]
        parts = []
        for op, left, right in zip(node.ops, terms, terms[1:]):
            if type(op) not in _COMPARE:
                _fail(self.expr, 'comparison %s is not supported' % type(op).__name__)
            parts.append('(%s %s %s)' % (left, _COMPARE[type(op)], right))
        return parts[0] if len(parts) == 1 else '(%s)' % ' && '.join(parts)

    def visit_Call(self, node):
        if not isinstance(node.func, ast.Name) or node.func.id not in exprs.FUNCTIONS:
            name = getattr(node.func, 'id', ast.dump(node.func))
            _fail(self.expr, "unknown function '%s' (known: %s)"
                  % (name, ', '.join(sorted(exprs.FUNCTIONS))))
        if node.keywords or len(node.args) != _ARITY[node.func.id]:
            _fail(self.expr, '%s takes %d positional argument(s)'
                  % (node.func.id, _ARITY[node.func.id]))
        return 'mx_%s(%s)' % (node.func.id, ', '.join(self.visit(a) for a in node.args))


def _parse(expr):
    try:
        return ast.parse(expr.strip(), mode='eval')
    except SyntaxError as err:
        _fail(expr, 'syntax error (%s)' % err.msg)


@functools.lru_cache(maxsize=4096)
def translate(expr, float_ctype='float'):
    """The C++ text of ``expr``; float literals are cast to ``float_ctype``."""
    return _Printer(expr, float_ctype).visit(_parse(expr))


def names_in(expr):
    """The input names ``expr`` uses, in order of first appearance."""
    return list(_names(expr))


@functools.lru_cache(maxsize=4096)
def _names(expr):
    printer = _Printer(expr, 'float')
    printer.visit(_parse(expr))
    return tuple(printer.names)


def compute_dtype(array_dtypes, scalars):
    """NumPy's result type of the array inputs and the scalar inputs: the type every input is
    converted to before the expression is evaluated (float16 computes in float32)."""
    operands = [np.dtype(d) for d in array_dtypes] + list(scalars)
    dtype = np.result_type(*operands) if operands else np.dtype(np.float64)
    return np.dtype(np.float32) if dtype == np.float16 else dtype


class ElementwiseSpec:
    """Everything that decides the text of one elementwise kernel.

    Parameters
    ----------
    expr : str
    out_dtype : numpy dtype
    arrays : list of (name, dtype)
        The array inputs, in kernel-argument order.
    scalars : list of str
        The names of the scalar inputs (passed as the computation type).
    compute : numpy dtype
        The computation type (:func:`compute_dtype`).
    ndim : int
        Number of axes after :func:`~mxref.backend.gpu.buffer.coalesce`.
    req : {'write', 'add'}
    wide : bool
        Whether indices need 64 bits (more than 2**31 - 1 elements or offsets).
    """

    def __init__(self, expr, out_dtype, arrays, scalars, compute, ndim, req, wide=False):
        self.expr = expr
        self.out_dtype = np.dtype(out_dtype)
        self.arrays = tuple((name, np.dtype(dtype)) for name, dtype in arrays)
        self.scalars = tuple(scalars)
        self.compute = np.dtype(compute)
        self.ndim = int(ndim)
        self.req = req
        self.wide = bool(wide)
        self._key = (expr, self.out_dtype, self.arrays, self.scalars, self.compute, self.ndim,
                     req, self.wide)

    def key(self):
        return self._key


KERNEL_NAME = 'mx_elementwise'


def elementwise_source(spec):
    """The CUDA source of the kernel for ``spec`` (without the common header's text).

    The kernel walks the output in a grid-stride loop; each index is split into coordinates
    over the (coalesced) shape, and each operand's element is found through its own strides::

        for i in range(n):
            c = coordinates of i in shape
            out[dot(c, out_strides)] (req)= expr(x[dot(c, x_strides)], ..., scalars)
    """
    ct = c_type(spec.compute)
    float_ct = ct if spec.compute.kind == 'f' else 'double'
    idx_t = 'unsigned long long' if spec.wide else 'unsigned int'
    off_t = 'long long' if spec.wide else 'int'
    d = spec.ndim
    out_ct = c_type(spec.out_dtype)
    params = ['%s n' % idx_t]
    params += ['%s shape%d' % (idx_t, k) for k in range(1, d)]
    params.append('%s* __restrict__ out' % out_ct)
    params += ['%s out_stride%d' % (off_t, k) for k in range(d)]
    for name, dtype in spec.arrays:
        params.append('const %s* __restrict__ in_%s' % (c_type(dtype), name))
        params += ['%s in_%s_stride%d' % (off_t, name, k) for k in range(d)]
    params += ['%s s_%s' % (ct, name) for name in spec.scalars]

    lines = ['#include "common.cuh"', '',
             '// out (%s)= %s' % (spec.req, spec.expr),
             'extern "C" __global__ void %s(%s)' % (KERNEL_NAME, ',\n    '.join(params)),
             '{',
             '  for (%s i = blockIdx.x * (%s)blockDim.x + threadIdx.x; i < n;'
             ' i += (%s)blockDim.x * gridDim.x) {' % (idx_t, idx_t, idx_t)]
    # coordinates, innermost axis first
    lines.append('    %s rest = i;' % idx_t)
    for k in range(d - 1, 0, -1):
        lines.append('    const %s c%d = rest %% shape%d; rest /= shape%d;' % (off_t, k, k, k))
    lines.append('    const %s c0 = rest;' % off_t)

    def offset(prefix):
        return ' + '.join('c%d * %s_stride%d' % (k, prefix, k) for k in range(d))

    for name, dtype in spec.arrays:
        lines.append('    const %s v_%s = mx_load<%s>(in_%s[%s]);'
                     % (ct, name, ct, name, offset('in_' + name)))
    for name in spec.scalars:
        lines.append('    const %s v_%s = s_%s;' % (ct, name, name))
    value = translate(spec.expr, float_ct)
    if spec.out_dtype == np.float16:                # half is stored from a float
        value = 'static_cast<float>(%s)' % value
    lines.append('    %s* target = out + (%s);' % (out_ct, offset('out')))
    if spec.req == 'add':
        acc = np.result_type(spec.out_dtype, spec.compute)
        acc_ct = c_type(np.float32 if acc == np.float16 else acc)
        total = 'mx_load<%s>(*target) + static_cast<%s>(%s)' % (acc_ct, acc_ct, value)
        if spec.out_dtype == np.float16:
            total = 'static_cast<float>(%s)' % total
        lines.append('    *target = mx_store<%s>(%s);' % (out_ct, total))
    else:
        lines.append('    *target = mx_store<%s>(%s);' % (out_ct, value))
    lines += ['  }', '}', '']
    return '\n'.join(lines)


def _is_scalar(value):
    return isinstance(value, (numbers.Number, np.number, np.bool_)) and not isinstance(
        value, complex)


def plan_elementwise(expr, out, req, inputs):
    """The kernel spec and launch arguments of ``out (req)= expr(**inputs)``.

    ``out`` is a :class:`~mxref.backend.gpu.buffer.View`; each input is a View (broadcast
    against ``out``'s shape) or a Python/NumPy scalar.  Returns ``(spec, args, n)`` where
    ``args`` follow the kernel's parameter order and ``n`` is the number of elements.
    """
    from .buffer import View, coalesce
    arrays, scalars = [], []
    for name in _names(expr):
        if name not in inputs:
            _fail(expr, "uses '%s', which was not given (given: %s)"
                  % (name, ', '.join(sorted(inputs)) or 'nothing'))
        value = inputs[name]
        if isinstance(value, View):
            try:
                arrays.append((name, value.broadcast_to(out.shape)))
            except MXNetValueError:
                _fail(expr, "input '%s' of shape %s does not broadcast to the output shape %s"
                      % (name, value.shape, out.shape))
        elif _is_scalar(value):
            scalars.append((name, value))
        else:
            _fail(expr, "input '%s' must be a GPU buffer or a number, got %s (host arrays "
                  "must be copied to the GPU first)" % (name, type(value).__name__))
    compute = compute_dtype([v.dtype for _, v in arrays], [v for _, v in scalars])
    shape, strides = coalesce(out.shape, [out.strides] + [v.strides for _, v in arrays])
    n = out.size
    extent = max([n] + [sum(abs(s) * (k - 1) for s, k in zip(st, shape)) + 1
                        for st in strides])
    wide = extent >= 2 ** 31 - 1
    spec = ElementwiseSpec(expr, out.dtype, [(name, v.dtype) for name, v in arrays],
                           [name for name, _ in scalars], compute, len(shape), req, wide)
    args = [n] + list(shape[1:]) + [out.ptr] + list(strides[0])
    for (name, view), st in zip(arrays, strides[1:]):
        args += [view.ptr] + list(st)
    cast = bool if compute.kind == 'b' else (float if compute.kind == 'f' else int)
    args += [cast(value) for _, value in scalars]
    return spec, args, n
