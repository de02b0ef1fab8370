"""GPU memory: allocation, host transfers, copies, views and NumPy-style indexing.

Basic indexing (integers, slices with any step, ``...``, ``None``) is a strided view read by the
copy kernel.  Advanced indexing (integer or boolean arrays) follows NumPy's rules exactly by
letting NumPy compute *where* each selected element lives: the flat position of every element
is a sum of per-axis terms ``i_k * stride_k``, and indexing those (broadcast, so never
materialised at the array's full size) with the key gives the positions of the selection.
Only that index list, of the selection's size, crosses to the device; the data stays there.
"""
import numbers

import numpy as np

from ...base import MXNetError, MXNetIndexError, MXNetTypeError, MXNetValueError
from . import geometry, runtime
from .buffer import DeviceBuffer, View
from .elementwise import fill, new_buffer, run_expression

__all__ = ['empty', 'zeros', 'full', 'from_numpy', 'to_numpy', 'copy', 'reshape', 'rows',
           'getitem', 'setitem', 'synchronize', 'empty_cache']


def empty(shape, dtype):
    """An uninitialised buffer on the current GPU."""
    return new_buffer(shape, dtype)


def zeros(shape, dtype):
    buf = new_buffer(shape, dtype)
    fill(buf, 0)
    return buf


def full(shape, value, dtype):
    buf = new_buffer(shape, dtype)
    fill(buf, value)
    return buf


def _driver_call(what, function, *args):
    try:
        function(*args)
    except runtime.cuda.Error as err:
        raise MXNetError('%s failed on the GPU: %s (an earlier kernel may have failed)'
                         % (what, err)) from None


def from_numpy(array, dtype=None):
    """A new GPU buffer holding a copy of the host array ``array`` (cast to ``dtype``)."""
    host = np.asarray(array, dtype=dtype, order="C")
    buf = new_buffer(host.shape, host.dtype)
    if buf.nbytes:
        _driver_call('copying to the GPU', runtime.cuda.memcpy_htod, buf.ptr, host)
    return buf


def to_numpy(buf):
    """A host copy of ``buf`` (waits for the kernels writing it)."""
    host = np.empty(buf.shape, dtype=buf.dtype)
    if buf.nbytes:
        runtime.ensure_current(buf.device_id)
        _driver_call('copying from the GPU', runtime.cuda.memcpy_dtoh, host, buf.ptr)
    return host


def copy(src, dst):
    """dst[...] = src, casting to dst's dtype and broadcasting src.

    Either side may also be a host ``numpy.ndarray`` (an explicit transfer); buffers on two
    different GPUs are copied through host memory.
    """
    if isinstance(dst, np.ndarray):
        np.copyto(dst, to_numpy(src) if isinstance(src, DeviceBuffer) else src,
                  casting='unsafe')
        return
    if isinstance(src, np.ndarray) or isinstance(src, (numbers.Number, np.generic)):
        host = np.asarray(src)
        if host.dtype != dst.dtype or host.shape != dst.shape:
            host = np.broadcast_to(host.astype(dst.dtype), dst.shape)
        host = np.asarray(host, order="C")
        runtime.ensure_current(dst.device_id)
        if dst.nbytes:
            _driver_call('copying to the GPU', runtime.cuda.memcpy_htod, dst.ptr, host)
        return
    if src.device_id != dst.device_id:
        copy(to_numpy(src), dst)
        return
    if src.ptr == dst.ptr and src.shape == dst.shape and src.dtype == dst.dtype:
        return
    if (src.dtype == dst.dtype and src.shape == dst.shape and src.nbytes
            and not View.of(src).overlaps(View.of(dst))):
        runtime.ensure_current(dst.device_id)
        _driver_call('a device copy', runtime.cuda.memcpy_dtod, dst.ptr, src.ptr, src.nbytes)
        return
    run_expression('x', dst, 'write', {'x': src})


def reshape(buf, shape):
    """A view of ``buf`` with a new shape (same number of elements)."""
    shape = tuple(int(n) for n in shape)
    if int(np.prod(shape, dtype=np.int64)) != buf.size:
        raise MXNetValueError('reshape: cannot view %d elements of shape %s as %s'
                              % (buf.size, buf.shape, shape))
    return buf.view(shape)


def rows(buf, start, stop):
    """A view of rows ``start:stop`` of the first axis (still C-contiguous)."""
    row = int(np.prod(buf.shape[1:], dtype=np.int64))
    return buf.view((stop - start,) + buf.shape[1:], start * row)


def synchronize():
    """Wait for every kernel queued on the current GPU."""
    runtime.synchronize()


def empty_cache():
    """Return the memory pool's cached blocks to the driver."""
    runtime.empty_cache()


# ----------------------------------------------------------------------------------------------
# indexing
# ----------------------------------------------------------------------------------------------
def _basic_view(buf, key):
    """The View ``buf[key]`` when ``key`` is basic indexing, else None."""
    items = key if isinstance(key, tuple) else (key,)
    if any(isinstance(k, (np.ndarray, list)) or (isinstance(k, (bool, np.bool_)))
           for k in items):
        return None
    if sum(1 for k in items if k is Ellipsis) > 1:
        raise MXNetIndexError("an index can only have a single ellipsis ('...')")
    consumed = sum(1 for k in items if k is not None and k is not Ellipsis)
    if consumed > buf.ndim:
        raise MXNetIndexError('too many indices for an array of shape %s' % (buf.shape,))
    expanded = []
    for k in items:
        if k is Ellipsis:
            expanded += [slice(None)] * (buf.ndim - consumed)
        else:
            expanded.append(k)
    expanded += [slice(None)] * (buf.ndim - sum(1 for k in expanded if k is not None))
    view, axis = View.of(buf), 0
    for k in expanded:
        if k is None:
            view = view.insert_axis(axis, 1, 0)
            axis += 1
        elif isinstance(k, slice):
            view = view.slice(axis, k.start, k.stop, k.step)
            axis += 1
        elif isinstance(k, (numbers.Integral, np.integer)):
            try:
                view = view.index(axis, int(k))
            except MXNetValueError as err:
                raise MXNetIndexError(str(err)) from None
        else:
            raise MXNetTypeError('invalid index %r' % (k,))
    return view


def _positions(buf, key):
    """Flat element positions of ``buf[key]`` (any NumPy key), as a host int64 array."""
    shape = buf.shape
    if not shape:
        return np.zeros((), dtype=np.int64)[key]
    flat = None
    stride = 1
    for axis in range(len(shape) - 1, -1, -1):
        grid = (np.arange(shape[axis], dtype=np.int64) * stride).reshape(
            [shape[axis] if i == axis else 1 for i in range(len(shape))])
        term = np.broadcast_to(grid, shape)[key]
        flat = term if flat is None else flat + term
        stride *= shape[axis]
    return np.asarray(flat, dtype=np.int64, order="C")


def getitem(buf, key):
    """A new C-contiguous buffer holding ``buf[key]`` (NumPy indexing rules)."""
    view = _basic_view(buf, key)
    if view is not None:
        out = new_buffer(view.shape, buf.dtype)
        run_expression('x', out, 'write', {'x': view})
        return out
    try:
        positions = _positions(buf, key)
    except IndexError as err:
        raise MXNetIndexError('index %r is invalid for shape %s: %s'
                              % (key, buf.shape, err)) from None
    out = new_buffer(positions.shape, buf.dtype)
    _gather_scatter('gather_flat', buf, out, positions)
    return out


def setitem(buf, key, value):
    """buf[key] = value, where value is a scalar or a GPU buffer broadcastable to the selection."""
    if isinstance(value, np.ndarray):
        raise MXNetTypeError('setitem: the value is a host array; copy it to the GPU first')
    if key is Ellipsis:
        key = ()
    view = _basic_view(buf, key)
    if view is not None:
        if isinstance(value, DeviceBuffer):
            value = _drop_leading_ones(View.of(value), view.ndim)
        run_expression('v', view, 'write', {'v': value})
        return
    positions = _positions(buf, key)
    values = new_buffer(positions.shape, buf.dtype)
    if isinstance(value, DeviceBuffer):
        run_expression('v', values, 'write',
                       {'v': _drop_leading_ones(View.of(value), values.ndim)})
    else:
        fill(values, value)
    _gather_scatter('scatter_flat', buf, values, positions)


def _drop_leading_ones(view, ndim):
    """NumPy lets a value have extra leading axes of size 1 in an assignment."""
    while view.ndim > ndim and view.shape[0] == 1:
        view = view.index(0, 0)
    return view


def _gather_scatter(kernel_name, data, packed, positions):
    """gather_flat: packed[i] = data[positions[i]];  scatter_flat: data[positions[i]] = packed[i]."""
    n = positions.size
    if n == 0:
        return
    runtime.ensure_current(data.device_id)
    index = from_numpy(positions)
    kernel = runtime.file_kernel('indexing.cu', kernel_name, data.dtype)
    blocks, threads = geometry.grid_1d(n, runtime.sm_count())
    runtime.launch(kernel, blocks, threads, [data.ptr, packed.ptr, index.ptr, n])

