"""PyCUDA underneath the GPU backend: devices, contexts, memory, compiled modules, launches.

PyCUDA is optional.  This module imports it if it can; without it (or without a driver or a
device) :func:`device_count` is 0 and :func:`activate` raises
:class:`~mxref.backend.GPUUnavailableError` saying what is missing, so everything on the CPU
keeps working.

One CUDA *primary context* per device is made current in the calling thread by
:func:`activate` (which ``backend.get(mx.gpu(i))`` calls).  Memory comes from a PyCUDA
``DeviceMemoryPool`` per device, so freeing and reallocating same-sized arrays during training
costs no ``cuMemAlloc``.  Modules are compiled once per (device, source) with
``pycuda.compiler.SourceModule`` (PyCUDA also keeps compiled binaries in its on-disk cache, so a
new process does not run ``nvcc`` again), and their kernels are *prepared* with the argument
format read from their C signatures (:func:`~mxref.backend.gpu.sources.kernel_signatures`).
All work goes to the default stream, so kernels run in the order they are launched and a copy
to the host waits for them.
"""
import atexit
import threading

import numpy as np

from .. import GPUUnavailableError
from ...base import MXNetError, MXNetTypeError
from . import sources

try:
    import pycuda.driver as cuda
    IMPORT_ERROR = None
except ImportError as _err:            # no PyCUDA, or no libcuda for it to load
    cuda = None
    IMPORT_ERROR = _err

__all__ = ['device_count', 'activate', 'current_device', 'allocate', 'synchronize',
           'empty_cache', 'get_kernel', 'launch', 'device_info']

_local = threading.local()              # .device: the device whose context is current here
_devices = {}                           # device id -> _Device
_lock = threading.RLock()


class _Device:
    """What mxref keeps per GPU: its primary context, memory pool and compiled kernels."""

    def __init__(self, device_id):
        self.device_id = device_id
        self.device = cuda.Device(device_id)
        self.context = self.device.retain_primary_context()
        self.context.push()
        try:
            self.pool = cuda.DeviceMemoryPool()
        finally:
            cuda.Context.pop()
        self.kernels = {}                # (module key, kernel name) -> prepared Function
        self.sm_count = self.device.get_attribute(
            cuda.device_attribute.MULTIPROCESSOR_COUNT)
        self.name = self.device.name()
        self.capability = self.device.compute_capability()


def _driver_error(device_id, err):
    return GPUUnavailableError(
        'mx.gpu(%d) cannot be used: the CUDA driver reports "%s". Check that an NVIDIA '
        'driver is installed and a GPU is visible (nvidia-smi).' % (device_id, err))


def device_count():
    """How many CUDA devices the driver sees (0 without PyCUDA, a driver or a device)."""
    if cuda is None:
        return 0
    try:
        cuda.init()
        return cuda.Device.count()
    except cuda.Error:
        return 0


def activate(device_id):
    """Make ``gpu(device_id)`` the current device of this thread."""
    if getattr(_local, 'device', None) == device_id:
        return
    if cuda is None:
        raise GPUUnavailableError(
            "mx.gpu(%d) needs PyCUDA, which could not be imported (%s). Install it with "
            "pip install -e '.[gpu]' on a machine with an NVIDIA driver and the CUDA toolkit."
            % (device_id, IMPORT_ERROR))
    try:
        cuda.init()
        count = cuda.Device.count()
    except cuda.Error as err:
        raise _driver_error(device_id, err) from None
    if not 0 <= device_id < count:
        raise GPUUnavailableError('mx.gpu(%d) does not exist: the driver sees %d GPU(s)'
                                  % (device_id, count))
    with _lock:
        if device_id not in _devices:
            try:
                _devices[device_id] = _Device(device_id)
            except cuda.Error as err:
                raise _driver_error(device_id, err) from None
    if getattr(_local, 'device', None) is not None:
        cuda.Context.pop()
    _devices[device_id].context.push()
    _local.device = device_id


def current_device():
    """The id of the device current in this thread (None before any :func:`activate`)."""
    return getattr(_local, 'device', None)


def ensure_current(device_id):
    """Activate ``device_id`` if another device is current (kernels run where their data is)."""
    if getattr(_local, 'device', None) != device_id:
        activate(device_id)


def _state():
    device_id = getattr(_local, 'device', None)
    if device_id is None:
        raise MXNetError('no GPU is active in this thread: use the GPU backend through '
                         'mxref.backend.get(mx.gpu(i))')
    return _devices[device_id]


def device_info(device_id=None):
    """(name, compute capability, multiprocessor count) of a device (default: current)."""
    dev = _devices[device_id] if device_id is not None else _state()
    return dev.name, dev.capability, dev.sm_count


def allocate(nbytes):
    """(pointer, owner) of ``nbytes`` of memory on the current device."""
    dev = _state()
    if nbytes == 0:
        return 0, None
    try:
        block = dev.pool.allocate(nbytes)
    except cuda.MemoryError:
        dev.pool.free_held()
        try:
            block = dev.pool.allocate(nbytes)
        except cuda.MemoryError:
            raise MXNetError('gpu(%d) is out of memory allocating %d bytes'
                             % (dev.device_id, nbytes)) from None
    return int(block), block


def synchronize():
    """Wait until every kernel launched on the current device has finished."""
    if getattr(_local, 'device', None) is None:
        return
    try:
        cuda.Context.synchronize()
    except cuda.Error as err:
        raise MXNetError('a GPU kernel failed: %s' % err) from None


def empty_cache():
    """Give the memory the pool holds for reuse back to the driver."""
    if getattr(_local, 'device', None) is not None:
        synchronize()
        _state().pool.free_held()


def cached_kernel(module_key, name):
    """The kernel already compiled under ``module_key`` on the current device, or None."""
    return _state().kernels.get((module_key, name))


def get_kernel(module_key, source, name, typedefs=None):
    """The prepared kernel ``name`` of ``source`` on the current device, compiled once.

    ``module_key`` identifies the source (it is memoised under it, so it must determine the
    text); ``typedefs`` are the typedefs its signatures use, if any are not in the text.
    ``source`` may be a function returning the text, called only when compiling.
    """
    dev = _state()
    kernel = dev.kernels.get((module_key, name))
    if kernel is not None:
        return kernel
    if callable(source):
        source = source()
    from pycuda.compiler import SourceModule
    try:
        module = SourceModule(source, no_extern_c=True)
    except cuda.CompileError as err:
        raise MXNetError('compiling the CUDA module %s failed:\n%s' % (module_key, err)) from None
    formats = sources.kernel_signatures(source, typedefs)
    for kernel_name, fmt in formats.items():
        function = module.get_function(kernel_name)
        function.prepare(fmt)
        function.mx_format = fmt
        function.mx_count = sources.argument_count(fmt)
        function.mx_name = kernel_name
        dev.kernels[(module_key, kernel_name)] = function
    if (module_key, name) not in dev.kernels:
        raise MXNetError('CUDA module %s has no kernel %s' % (module_key, name))
    return dev.kernels[(module_key, name)]


def file_kernel(filename, name, dtype):
    """Kernel ``name`` of ``mxref/_kernels/cuda/<filename>`` built for element type ``dtype``."""
    key = (filename, np.dtype(dtype).str)
    kernel = _state().kernels.get((key, name))
    if kernel is None:
        allowed = sources.KERNEL_FILES[filename]['real_t']
        if np.dtype(dtype) not in allowed:
            raise MXNetTypeError('the GPU kernel %s (%s) is built for %s, not %s'
                                 % (name, filename, ', '.join(d.name for d in allowed),
                                    np.dtype(dtype).name))
        typedefs = sources.typedefs_for(dtype)
        kernel = get_kernel(key, sources.kernel_source(filename, typedefs), name, typedefs)
    return kernel


def launch(kernel, grid, block, args, shared=0):
    """Launch a prepared kernel on the default stream (``grid``/``block`` are int or tuples)."""
    grid = (grid, 1, 1) if isinstance(grid, int) else tuple(grid) + (1,) * (3 - len(grid))
    block = (block, 1, 1) if isinstance(block, int) else tuple(block) + (1,) * (3 - len(block))
    if len(args) != kernel.mx_count:
        raise MXNetError('kernel %s expects %d arguments (format %s), got %d'
                         % (kernel.mx_name, kernel.mx_count, kernel.mx_format, len(args)))
    kernel.prepared_call(grid, block, *args, shared_size=shared)


def sm_count():
    """Multiprocessors of the current device (sizes grid-stride launches)."""
    return _state().sm_count


@atexit.register
def _release():
    """Pop this thread's context before PyCUDA's own clean-up (which aborts otherwise)."""
    if getattr(_local, 'device', None) is None:
        return
    try:
        cuda.Context.synchronize()
        for dev in _devices.values():
            dev.pool.stop_holding()
        cuda.Context.pop()
    except Exception:               # the process is ending; nothing useful to report
        pass
    _local.device = None
