"""take / pick / one_hot (and their gradients) on the GPU; kernels in ``indexing.cu`` and
``scatter_add.cu``.

MXNet passes indices as arrays of any type, usually float32.  Before a gather, the indices are
cleaned by one elementwise kernel into int64 positions, as the CPU backend does with NumPy:
truncated toward zero, then clipped into ``[0, size)`` (mode 'clip') or wrapped around it
('wrap'), so the gather kernels never see an index out of range.
"""
import numpy as np

from ...base import MXNetIndexError, MXNetTypeError
from . import geometry, runtime
from .elementwise import fill, new_buffer, run_expression
from .reduce import _reduce_kernel

__all__ = ['take', 'take_backward', 'pick', 'pick_backward', 'one_hot', 'clean_indices']

_CLEAN = {'clip': 'fmin(fmax(trunc(i), 0), n - 1)', 'wrap': 'mod(trunc(i), n)',
          'raise': 'trunc(i)'}


def clean_indices(indices, size, mode):
    """int64 positions in ``[0, size)`` from any index buffer (see the module docstring).

    ``mode='raise'`` checks instead of clipping: the out-of-range indices are counted on the
    GPU, and only that count (one number) is read back; if it is not zero, the offending
    index is looked up and reported, as the CPU backend does.
    """
    out = new_buffer(indices.shape, np.int64)
    run_expression(_CLEAN[mode], out, 'write', {'i': indices, 'n': int(size)})
    if mode == 'raise' and out.size:
        flags = new_buffer((1, out.size), np.int64)
        run_expression('(i < 0) + (i >= n)', flags, 'write',
                       {'i': out.view((1, out.size)), 'n': int(size)})
        count = new_buffer((1,), np.int64)
        _reduce_kernel('sum', flags, (1,), count, 'write')
        from .memory import to_numpy
        if to_numpy(count)[0]:
            idx = to_numpy(out).reshape(-1)
            bad = idx[(idx < 0) | (idx >= size)][0]
            raise MXNetIndexError("take: index %d is out of range for an axis of size %d "
                                  "(mode='raise')" % (bad, size))
    return out


def _lines(shape, axis):
    outer = int(np.prod(shape[:axis], dtype=np.int64))
    inner = int(np.prod(shape[axis + 1:], dtype=np.int64))
    return outer, shape[axis], inner


def _launch(filename, name, dtype, n, args):
    kernel = runtime.file_kernel(filename, name, dtype)
    blocks, threads = geometry.grid_1d(n, runtime.sm_count())
    runtime.launch(kernel, blocks, threads, args)


def take(a, indices, axis, mode, out, req):
    """out (req)= a[..., indices, ...] along ``axis``; mode 'clip' or 'wrap' for bad indices."""
    if req == 'null' or out.size == 0:
        return
    runtime.ensure_current(out.device_id)
    outer, size, inner = _lines(a.shape, axis)
    idx = clean_indices(indices, size, mode)
    target = out if out.dtype == a.dtype else new_buffer(out.shape, a.dtype)
    accumulate = req == 'add' and target is out
    _launch('indexing.cu', 'take', a.dtype, out.size,
            [a.ptr, idx.ptr, target.ptr, outer, size, inner, idx.size, int(accumulate)])
    if target is not out:
        run_expression('v', out, req, {'v': target})


def take_backward(dy, indices, axis, mode, da, req):
    """da (req)= zeros with dy scatter-added at ``indices`` along ``axis`` (repeats accumulate,
    through atomicAdd: float sums may differ from the CPU in the last bits)."""
    if req == 'null' or da.size == 0:
        return
    runtime.ensure_current(da.device_id)
    from .sources import KERNEL_FILES
    if da.dtype not in KERNEL_FILES['scatter_add.cu']['real_t']:
        raise MXNetTypeError('take_backward on the GPU supports %s gradients, got %s'
                             % (', '.join(d.name for d in KERNEL_FILES['scatter_add.cu']
                                          ['real_t']), da.dtype.name))
    outer, size, inner = _lines(da.shape, axis)
    idx = clean_indices(indices, size, mode)
    if req == 'write':
        fill(da, 0)
    if dy.dtype != da.dtype:
        converted = new_buffer(dy.shape, da.dtype)
        run_expression('x', converted, 'write', {'x': dy})
        dy = converted
    if dy.size:
        _launch('scatter_add.cu', 'take_backward', da.dtype, dy.size,
                [dy.ptr, idx.ptr, da.ptr, outer, size, inner, idx.size])


def pick(x, index, axis, mode, out, req):
    """out (req)= x[..., index[...], ...]: one element along ``axis`` per position."""
    if req == 'null' or out.size == 0:
        return
    runtime.ensure_current(out.device_id)
    outer, size, inner = _lines(x.shape, axis)
    idx = clean_indices(index, size, mode)
    target = out if out.dtype == x.dtype else new_buffer(out.shape, x.dtype)
    accumulate = req == 'add' and target is out
    _launch('indexing.cu', 'pick', x.dtype, outer * inner,
            [x.ptr, idx.ptr, target.ptr, outer, size, inner, int(accumulate)])
    if target is not out:
        run_expression('v', out, req, {'v': target})


def pick_backward(dy, index, axis, mode, dx, req):
    """dx (req)= zeros with dy placed at the picked positions."""
    if req == 'null' or dx.size == 0:
        return
    runtime.ensure_current(dx.device_id)
    outer, size, inner = _lines(dx.shape, axis)
    idx = clean_indices(index, size, mode)
    if req == 'write':
        fill(dx, 0)
    if dy.dtype != dx.dtype:
        converted = new_buffer(dy.shape, dx.dtype)
        run_expression('x', converted, 'write', {'x': dy})
        dy = converted
    _launch('indexing.cu', 'pick_backward', dx.dtype, outer * inner,
            [dy.ptr, idx.ptr, dx.ptr, outer, size, inner, 1])


def one_hot(indices, depth, on_value, off_value, out):
    """out[..., k] = on_value where k == indices[...], else off_value (out-of-range: all off)."""
    if out.size == 0:
        return
    runtime.ensure_current(out.device_id)
    idx = new_buffer(indices.shape, np.int64)
    run_expression('trunc(i)', idx, 'write', {'i': indices})
    _launch('indexing.cu', 'one_hot', out.dtype, out.size,
            [idx.ptr, out.ptr, idx.size, int(depth), float(on_value), float(off_value)])
