"""The GPU backend: buffers in NVIDIA GPU memory and mxref's own CUDA kernels, run by PyCUDA.

It exports the function set of :mod:`mxref.backend.cpu` under the same names and with the same
semantics (buffers in, results into ``out`` under ``req`` = write / add / null), so NDArray and
the operators run unchanged on ``mx.gpu(i)``.  A buffer is a
:class:`~mxref.backend.gpu.buffer.DeviceBuffer`.  Nothing falls back to the host: a function
without a GPU kernel does not exist here, and calling it raises an error that names it.

Layout of the package (the pure-Python parts need no PyCUDA and are tested everywhere):

========================  =======================================================
``buffer``                DeviceBuffer, strided View, axis merging            (pure)
``codegen``               expression language -> CUDA elementwise kernels     (pure)
``sources``               the ``.cu`` files, type prologues, argument formats (pure)
``geometry``              launch geometry                                     (pure)
``runtime``               PyCUDA: devices, contexts, memory pool, compile, launch
``memory``                allocation, transfers, copies, indexing
``elementwise``           elementwise math, transpose, slices, concat, tile...
``reduce``                reductions, norms, arg-extrema, sum_to
``linalg``                tiled GEMM
``softmax``               softmax family and the SoftmaxOutput gradient
``indexing``              take, pick, one_hot
``random``                Philox samplers
``optimizer``             fused SGD / SGD-momentum / Adam updates
``conv``                  convolution (im2col + GEMM) and pooling
========================  =======================================================

Without PyCUDA, a driver or a device, importing this package still works (so that
``mx.context.num_gpus()`` answers 0 and the docs build), and :func:`activate` raises
:class:`~mxref.backend.GPUUnavailableError` saying what is missing.

>>> from mxref.backend import gpu
>>> gpu.name
'gpu'
"""
from ...base import MXNetError
from .runtime import activate, device_count
from .memory import (empty, zeros, full, from_numpy, to_numpy, copy, reshape, rows, getitem,
                     setitem, synchronize, empty_cache)
from .elementwise import (elementwise, store, transpose, strided_slice, strided_slice_backward,
                          concat, split, tile, repeat)
from .reduce import reduce, norm, argreduce, sum_to
from .linalg import gemm
from .softmax import softmax, softmax_backward, softmax_output_grad
from .indexing import take, take_backward, pick, pick_backward, one_hot
from .random import (seed, random_uniform, random_normal, random_randint, random_shuffle_rows,
                     random_generator)
from .optimizer import sgd_update, sgd_mom_update, adam_update
from .conv import (conv2d_forward, conv2d_backward_data, conv2d_backward_weight,
                   conv2d_backward_bias, pool2d_forward, pool2d_backward)

name = 'gpu'


class MissingKernelError(MXNetError, AttributeError):
    """A backend function the GPU backend does not provide."""


def __getattr__(attr):
    """A backend function the GPU does not have: say so, naming it (no silent fallback)."""
    if attr.startswith('_'):
        raise AttributeError(attr)
    raise MissingKernelError("the GPU backend has no kernel for '%s': this operation cannot "
                             "run on mx.gpu() (mxref never moves it to the CPU silently)"
                             % attr)
