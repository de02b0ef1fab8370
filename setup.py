"""Builds mxref's Cython kernels (every ``mxref/_kernels/*.pyx``).

    pip install -e .                       # editable install, compiles the kernels
    python setup.py build_ext --inplace    # compile in place for development

Compiler directives are set once here, not in each file: no bounds or wraparound checks,
C division, and OpenMP for ``prange`` (set MXREF_NO_OPENMP=1 to build without it).
"""
import glob
import os

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

OPENMP = os.environ.get('MXREF_NO_OPENMP') != '1'
COMPILE_ARGS = ['-O3'] + (['-fopenmp'] if OPENMP else [])
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
