"""The one place where a device maps to code.

Every backend is a module exporting the same flat set of functions over *buffers*
(C-contiguous arrays of the device: ``numpy.ndarray`` on the CPU).  NDArray and the operators
call ``backend.get(ctx).<function>(...)``; nothing outside this package asks which device it is
on.  The function set is documented in :mod:`mxref.backend.cpu`, the reference backend.

>>> import mxref as mx
>>> from mxref import backend
>>> backend.get(mx.cpu()).name
'cpu'
"""
from ..base import MXNetError

__all__ = ['get', 'num_gpus', 'GPUUnavailableError']


class GPUUnavailableError(MXNetError):
    """Raised when a GPU context is used but PyCUDA, a driver or the device is missing."""


_cpu = []                           # the CPU backend module, once imported


def get(ctx):
    """Return the backend module that runs code for context ``ctx``."""
    if ctx.device_type == 'gpu':
        return _gpu_backend(ctx.device_id)
    if not _cpu:                   # imported on first use (it loads the compiled kernels)
        from . import cpu
        _cpu.append(cpu)
    return _cpu[0]


def _gpu_backend(device_id):
    try:
        from . import gpu
    except ImportError as err:
        raise GPUUnavailableError(
            "mx.gpu(%d) needs PyCUDA, which could not be imported (%s). Install it with "
            "pip install -e '.[gpu]' on a machine with an NVIDIA driver and the CUDA toolkit."
            % (device_id, err)) from None
    gpu.activate(device_id)
    return gpu


def num_gpus():
    """How many CUDA devices are visible (0 when PyCUDA or the driver is missing)."""
    try:
        from . import gpu
    except ImportError:
        return 0
    return gpu.device_count()
