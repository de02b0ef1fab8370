"""Builds mxref's Cython kernels (every ``mxref/_kernels/*.pyx``).

    pip install -e .                       # editable install, compiles the kernels
    python setup.py build_ext --inplace    # compile in place for development

Compiler directives are set once here, not in each file: no bounds or wraparound checks,
C division, and OpenMP for ``prange`` (set MXREF_NO_OPENMP=1 to build without it).

C flags: ``-O3`` (vectorisation), ``-fno-trapping-math`` (lets the compiler turn
``a if a > b else b`` into vector max/blend instructions; we never read floating-point
exception flags) and ``-fno-math-errno`` (sqrt and friends inline; nothing reads errno).
Neither changes any result, unlike ``-ffast-math``, which we do not use.

``-march=native`` lets those loops use the building CPU's widest vectors (AVX2 + FMA here:
softmax runs twice as fast as with the default SSE2).  The kernels are compiled on the machine
that runs them (``pip install -e .``); to build for other machines set ``MXREF_MARCH`` to
another target (``MXREF_MARCH=x86-64-v2``) or to an empty string for the compiler's default.
"""
import glob
import os
import platform

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

OPENMP = os.environ.get('MXREF_NO_OPENMP') != '1'
MARCH = os.environ.get('MXREF_MARCH',
                       'native' if platform.machine().lower() in ('x86_64', 'amd64') else '')
COMPILE_ARGS = (['-O3', '-fno-trapping-math', '-fno-math-errno']
                + (['-march=' + MARCH] if MARCH else []) + (['-fopenmp'] if OPENMP else []))
LINK_ARGS = ['-fopenmp'] if OPENMP else []

extensions = [
    Extension('mxref._kernels.' + os.path.splitext(os.path.basename(path))[0], [path],
              include_dirs=[numpy.get_include()],
              define_macros=[('NPY_NO_DEPRECATED_API', 'NPY_1_7_API_VERSION')],
              extra_compile_args=COMPILE_ARGS, extra_link_args=LINK_ARGS)
    for path in sorted(glob.glob(os.path.join('mxref', '_kernels', '*.pyx')))
]

setup(
    ext_modules=cythonize(extensions, compiler_directives={
        'language_level': 3, 'boundscheck': False, 'wraparound': False, 'cdivision': True,
        'initializedcheck': False, 'nonecheck': False}),
)
