"""CUDA sources: the ``.cu`` files shipped in ``mxref/_kernels/cuda``, their type prologues, and
the argument formats of their kernels (pure Python: no PyCUDA needed).

Kernel files are written for abstract element types (``real_t``, ``accum_t``); a module for
float32 is the file with ``typedef float real_t; typedef float accum_t;`` in front, and
``#include "x.cuh"`` lines replaced by the header's text, so the string handed to PyCUDA is
self-contained.  Which type combinations each file is built for is stated once, in
:data:`KERNEL_FILES`; the test suite compiles every one of them with ``nvcc``.

A kernel's launch arguments are packed by PyCUDA from a struct format string.  Rather than
writing those formats by hand next to the C signatures (where they could drift apart), they
are read from the signatures themselves by :func:`kernel_signatures`.

>>> src = 'extern "C" __global__ void scale(real_t* y, const real_t* x, accum_t a, long long n)'
>>> kernel_signatures(src, {'real_t': 'float', 'accum_t': 'float'})
{'scale': 'PPfq'}
"""
import itertools
import os
import re

import numpy as np

from ...base import MXNetTypeError, MXNetValueError

__all__ = ['CUDA_DIR', 'C_TYPES', 'KERNEL_FILES', 'c_type', 'accum_type', 'typedefs_for',
           'kernel_source', 'kernel_signatures', 'instances', 'FLOAT_DTYPES', 'ALL_DTYPES']

CUDA_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), '_kernels', 'cuda')

# NumPy dtype -> the C type of its elements in device code
C_TYPES = {
    np.dtype(np.float16): '__half', np.dtype(np.float32): 'float',
    np.dtype(np.float64): 'double', np.dtype(np.int8): 'signed char',
    np.dtype(np.uint8): 'unsigned char', np.dtype(np.int16): 'short',
    np.dtype(np.int32): 'int', np.dtype(np.int64): 'long long',
    np.dtype(np.uint16): 'unsigned short', np.dtype(np.uint32): 'unsigned int',
    np.dtype(np.uint64): 'unsigned long long', np.dtype(np.bool_): 'bool',
}

FLOAT_DTYPES = tuple(np.dtype(t) for t in (np.float32, np.float64, np.float16))
ALL_DTYPES = tuple(C_TYPES)

# How each kernel file is instantiated: typedef name -> the dtypes it takes (all combinations
# are built; ``accum_t`` follows ``real_t``).
KERNEL_FILES = {
    'reduce.cu': {'real_t': ALL_DTYPES},
    'gemm.cu': {'real_t': FLOAT_DTYPES[:2]},
    'transpose.cu': {'real_t': ALL_DTYPES},
    'softmax.cu': {'real_t': FLOAT_DTYPES},
    'indexing.cu': {'real_t': ALL_DTYPES},
    'scatter_add.cu': {'real_t': FLOAT_DTYPES + tuple(np.dtype(t) for t in (np.int32, np.int64))},
    'random.cu': {'real_t': FLOAT_DTYPES + tuple(np.dtype(t) for t in (np.int32, np.int64))},
    'optimizer.cu': {'real_t': FLOAT_DTYPES},
    'conv.cu': {'real_t': FLOAT_DTYPES[:2]},
    'pool.cu': {'real_t': FLOAT_DTYPES[:2]},
}

# struct format characters of the scalar C types that appear in kernel signatures
_FORMATS = {
    'float': 'f', 'double': 'd', 'int': 'i', 'unsigned int': 'I', 'unsigned': 'I',
    'long long': 'q', 'unsigned long long': 'Q', 'bool': '?', 'signed char': 'b',
    'unsigned char': 'B', 'short': 'h', 'unsigned short': 'H',
}
# structs passed by value: (format, C definition in common.cuh)
STRUCT_FORMATS = {'mx_dims': '17q'}


def c_type(dtype):
    """The device C type of ``dtype``'s elements."""
    try:
        return C_TYPES[np.dtype(dtype)]
    except KeyError:
        raise MXNetTypeError('the GPU backend does not support dtype %s (supported: %s)'
                             % (np.dtype(dtype).name,
                                ', '.join(d.name for d in C_TYPES))) from None


def accum_type(dtype):
    """The C type sums of ``dtype`` accumulate in: float for half and float, double for
    double, long long for integers and bool (NumPy sums int32 into int64 too)."""
    dtype = np.dtype(dtype)
    if dtype.kind == 'f':
        return 'double' if dtype == np.float64 else 'float'
    c_type(dtype)
    return 'long long'


def typedefs_for(real_dtype):
    """The standard prologue typedefs for element type ``real_dtype``."""
    return {'real_t': c_type(real_dtype), 'accum_t': accum_type(real_dtype)}


_INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"\s*$', re.M)


def _inline_includes(text, seen):
    def replace(match):
        name = match.group(1)
        if name in seen:
            return '// %s already included' % name
        seen.add(name)
        with open(os.path.join(CUDA_DIR, name)) as f:
            text = re.sub(r'^\s*#\s*pragma\s+once\s*$', '', f.read(), flags=re.M)
        return _inline_includes(text, seen)
    return _INCLUDE.sub(replace, text)


def kernel_source(filename, typedefs=None, body=None):
    """The self-contained source of kernel file ``filename`` (or of the text ``body``) with a
    typedef prologue (``{'real_t': 'float', ...}``) and local includes inlined."""
    if body is None:
        with open(os.path.join(CUDA_DIR, filename)) as f:
            body = f.read()
    prologue = ''.join('typedef %s %s;\n' % (ctype, name)
                       for name, ctype in sorted((typedefs or {}).items()))
    header = '// mxref CUDA module: %s\n#include <cuda_fp16.h>\n' % filename
    return header + prologue + _inline_includes(body, set())


def instances(filename):
    """Every typedef dict ``filename`` is built with (for the compile-everything test)."""
    spec = KERNEL_FILES[filename]
    result = []
    for combo in itertools.product(*[spec[name] for name in sorted(spec)]):
        chosen = dict(zip(sorted(spec), combo))
        typedefs = {name: c_type(dtype) for name, dtype in chosen.items()}
        if 'real_t' in chosen:
            typedefs['accum_t'] = accum_type(chosen['real_t'])
        result.append(typedefs)
    return result


_COMMENTS = re.compile(r'//[^\n]*|/\*.*?\*/', re.S)
_KERNEL = re.compile(r'extern\s+"C"\s+__global__\s+void\s+(?:__launch_bounds__\s*\([^)]*\)\s*)?'
                     r'(\w+)\s*\(([^)]*)\)', re.S)
_QUALIFIERS = re.compile(r'\b(const|__restrict__|volatile)\b')


def parse_parameter(param, typedefs):
    """(C type with typedefs resolved, name, struct format) of one parameter declaration;
    pointers keep their ``*`` in the type (``'float*'``)."""
    decl = ' '.join(_QUALIFIERS.sub(' ', param).split())
    pointer = '*' in decl
    words = decl.replace('*', ' ').split()
    ctype, name = ' '.join(words[:-1]), words[-1]
    ctype = typedefs.get(ctype, ctype)
    if pointer:
        return ctype + '*', name, 'P'
    if ctype in STRUCT_FORMATS:
        return ctype, name, STRUCT_FORMATS[ctype]
    if ctype not in _FORMATS:
        raise MXNetValueError('kernel parameter %r has a type (%s) mxref cannot pack'
                              % (param, ctype))
    return ctype, name, _FORMATS[ctype]


def kernel_parameters(source, typedefs=None):
    """``{kernel name: [(C type, parameter name, struct format), ...]}`` for every
    ``extern "C" __global__`` kernel of ``source``, resolving the typedefs given and those the
    source declares."""
    typedefs = dict(typedefs or {})
    text = _COMMENTS.sub(' ', source)
    for match in re.finditer(r'typedef\s+([\w\s]+?)\s+(\w+)\s*;', text):
        typedefs.setdefault(match.group(2), ' '.join(match.group(1).split()))
    result = {}
    for name, params in _KERNEL.findall(text):
        params = [p.strip() for p in params.split(',') if p.strip()]
        result[name] = [parse_parameter(p, typedefs) for p in params]
    return result


def kernel_signatures(source, typedefs=None):
    """``{kernel name: struct format}`` for every ``extern "C" __global__`` kernel of
    ``source`` (the format PyCUDA's ``prepare`` takes)."""
    return {name: ''.join(fmt for _, _, fmt in params)
            for name, params in kernel_parameters(source, typedefs).items()}


def argument_count(fmt):
    """How many Python values a struct format takes.

    >>> argument_count('PPi17q')
    20
    """
    return sum(int(count or 1) for count, _ in re.findall(r'(\d*)([a-zA-Z?])', fmt))
