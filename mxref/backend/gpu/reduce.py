"""Reductions on the GPU: sum/mean/prod/max/min/nansum/nanprod, norms, arg-extrema, sum_to.

The planning (which axes are kept and which reduced, merged where memory allows; how many
chunks a long reduction is split into) is pure Python in :func:`plan_reduction`; the kernels
are in ``reduce.cu``, whose header explains the two passes.
"""
import numpy as np

from ...base import MXNetValueError
from . import geometry, runtime
from .buffer import View, coalesce, contiguous_strides
from .elementwise import new_buffer, run_expression

__all__ = ['reduce', 'norm', 'argreduce', 'sum_to', 'plan_reduction', 'KINDS']

KINDS = {'sum': 0, 'mean': 1, 'prod': 2, 'max': 3, 'min': 4, 'nansum': 5, 'nanprod': 6,
         'l1': 7, 'l2': 8}
MAX_DIMS = 8
_ACCUM = {'float': np.float32, 'double': np.float64, 'long long': np.int64}


def _dims_args(shape, strides):
    """The 17 integers of an ``mx_dims`` struct (ndim, shape[8], stride[8])."""
    if len(shape) > MAX_DIMS:
        raise MXNetValueError('GPU reductions handle at most %d axes after merging, got %d'
                              % (MAX_DIMS, len(shape)))
    pad = MAX_DIMS - len(shape)
    return [len(shape)] + list(shape) + [1] * pad + list(strides) + [0] * pad


def plan_reduction(shape, axes, sm_count):
    """How to reduce an array of ``shape`` (C-contiguous) over ``axes``.

    Returns a dict with the merged ``kept`` and ``reduced`` (shape, strides), ``n_out``,
    ``n_red``, the ``layout`` ('columns' when outputs are adjacent in memory and the reduction
    walks across them, else 'groups'), ``whole_block`` (one block rather than one warp per
    output), ``splits`` and ``chunk``.

    >>> p = plan_reduction((64, 500), (0,), sm_count=132)         # bias gradient
    >>> p['layout'], p['kept'], p['reduced'], p['splits']
    ('columns', ((500,), (1,)), ((64,), (500,)), 1)
    >>> p = plan_reduction((4, 3, 5, 5), (0, 2, 3), sm_count=132)  # BatchNorm statistics
    >>> p['layout'], p['kept'], p['reduced']
    ('groups', ((3,), (25,)), ((4, 25), (75, 1)))
    >>> plan_reduction((1 << 24,), (0,), sm_count=132)['splits']   # a whole-array sum
    528
    """
    strides = contiguous_strides(shape)
    axes = sorted(set(a % len(shape) for a in axes)) if shape else []
    kept_axes = [a for a in range(len(shape)) if a not in axes]

    def merged(which):
        if not which:
            return (1,), (0,)
        sub_shape = tuple(shape[a] for a in which)
        sub_shape, (sub_strides,) = coalesce(sub_shape, [tuple(strides[a] for a in which)])
        return sub_shape, sub_strides

    kept, reduced = merged(kept_axes), merged(axes)
    n_out = int(np.prod([shape[a] for a in kept_axes], dtype=np.int64))
    n_red = int(np.prod([shape[a] for a in axes], dtype=np.int64))
    columns = kept[1][-1] == 1 and reduced[1][-1] != 1 and n_out >= 32
    if columns:
        threads_busy = n_out
        whole_block = False
    else:
        whole_block = n_red >= 4096 or n_out < sm_count * 4
        threads_busy = n_out * (256 if whole_block else 32)
    # split long reductions until the GPU has ~4 blocks of work per multiprocessor
    target = sm_count * 4 * 256
    splits = 1
    if threads_busy < target and n_red >= 2048:
        splits = min(geometry.ceil_div(target, threads_busy), geometry.ceil_div(n_red, 1024),
                     65535)
    chunk = geometry.ceil_div(max(n_red, 1), splits)
    splits = geometry.ceil_div(max(n_red, 1), chunk)
    return {'kept': kept, 'reduced': reduced, 'n_out': n_out, 'n_red': n_red,
            'layout': 'columns' if columns else 'groups', 'whole_block': whole_block,
            'splits': splits, 'chunk': chunk}


def _reduce_kernel(kind, x, axes, out, req):
    if req == 'null':
        return
    if out.size == 0:
        return
    runtime.ensure_current(out.device_id)
    if x.size == 0:                               # NumPy: sum of nothing is 0, prod 1
        if kind in ('max', 'min'):
            raise MXNetValueError('%s: zero-size array to a reduction without identity' % kind)
        run_expression('v', out, req, {'v': 1 if kind in ('prod', 'nanprod') else 0})
        return
    target = out if out.dtype == x.dtype else new_buffer(out.shape, x.dtype)
    plan = plan_reduction(x.shape, axes, runtime.sm_count())
    if plan['n_out'] != out.size:
        raise MXNetValueError('reduce: output of shape %s does not hold the %d results of '
                              'reducing %s over %s' % (out.shape, plan['n_out'], x.shape, axes))
    from .sources import accum_type
    partial = new_buffer((plan['n_out'] * plan['splits'],), _ACCUM[accum_type(x.dtype)])
    dims = _dims_args(*plan['kept']) + _dims_args(*plan['reduced'])
    common = [plan['n_out'], plan['n_red'], plan['chunk'], KINDS[kind]]
    if plan['layout'] == 'columns':
        kernel = runtime.file_kernel('reduce.cu', 'reduce_columns', x.dtype)
        grid = (geometry.ceil_div(plan['n_out'], 256), plan['splits'])
        runtime.launch(kernel, grid, 256, [x.ptr, partial.ptr] + dims + common)
    else:
        kernel = runtime.file_kernel('reduce.cu', 'reduce_groups', x.dtype)
        per_block = 1 if plan['whole_block'] else 8
        grid = (geometry.ceil_div(plan['n_out'], per_block), plan['splits'])
        runtime.launch(kernel, grid, 256, [x.ptr, partial.ptr] + dims + common
                       + [int(plan['whole_block'])])
    finish = runtime.file_kernel('reduce.cu', 'reduce_finish', x.dtype)
    blocks, threads = geometry.grid_1d(plan['n_out'], runtime.sm_count())
    accumulate = req == 'add' and target is out
    runtime.launch(finish, blocks, threads, [partial.ptr, target.ptr, plan['n_out'],
                                             plan['splits'], plan['n_red'], KINDS[kind],
                                             int(accumulate)])
    if target is not out:
        run_expression('v', out, req, {'v': target})


def reduce(kind, x, axis, out, req):
    """out (req)= reduction ``kind`` of x over the axes tuple ``axis`` (out keeps ``out.shape``)."""
    if kind not in KINDS or kind in ('l1', 'l2'):
        raise MXNetValueError("reduce: kind must be one of sum, mean, prod, max, min, nansum, "
                              "nanprod; got %r" % (kind,))
    _reduce_kernel(kind, x, tuple(axis), out, req)


def norm(x, ord, axis, out, req):
    """out (req)= the L1 or L2 norm of x over the axes tuple ``axis``."""
    if ord not in (1, 2):
        raise MXNetValueError('norm: ord must be 1 or 2, got %r' % (ord,))
    _reduce_kernel('l1' if ord == 1 else 'l2', x, tuple(axis), out, req)


def sum_to(x, out, req):
    """out (req)= x summed over the axes along which ``out`` was broadcast to ``x``'s shape."""
    if req == 'null':
        return
    lead = x.ndim - out.ndim
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(out.shape)
                                      if n == 1 and x.shape[lead + i] != 1)
    if not axes:
        run_expression('v', out, req, {'v': View.of(x).reshape(out.shape)})
        return
    _reduce_kernel('sum', x, axes, out, req)


def argreduce(kind, x, axis, out, req):
    """out (req)= index of the max (``'argmax'``) or min of x along ``axis`` (None: flattened)."""
    if req == 'null':
        return
    runtime.ensure_current(out.device_id)
    if axis is None:
        outer, size, inner = 1, x.size, 1
    else:
        axis %= x.ndim
        outer = int(np.prod(x.shape[:axis], dtype=np.int64))
        size = x.shape[axis]
        inner = int(np.prod(x.shape[axis + 1:], dtype=np.int64))
    if size == 0:
        raise MXNetValueError('%s: attempt to get %s of an empty sequence' % (kind, kind))
    lines = outer * inner
    if lines == 0:
        return
    target = max(1, runtime.sm_count() * 4 * 8 // max(lines, 1))
    splits = min(target, geometry.ceil_div(size, 1024), 65535) if size >= 2048 else 1
    chunk = geometry.ceil_div(size, splits)
    splits = geometry.ceil_div(size, chunk)
    from .sources import accum_type
    pval = new_buffer((lines * splits,), _ACCUM[accum_type(x.dtype)])
    pidx = new_buffer((lines * splits,), np.int64)
    result = new_buffer((lines,), np.int64)
    is_max = int(kind == 'argmax')
    kernel = runtime.file_kernel('reduce.cu', 'argreduce_partial', x.dtype)
    runtime.launch(kernel, (geometry.ceil_div(lines, 8), splits), 256,
                   [x.ptr, pval.ptr, pidx.ptr, outer, size, inner, chunk, is_max])
    finish = runtime.file_kernel('reduce.cu', 'argreduce_finish', x.dtype)
    blocks, threads = geometry.grid_1d(lines, runtime.sm_count())
    runtime.launch(finish, blocks, threads, [pval.ptr, pidx.ptr, result.ptr, lines, splits,
                                             is_max])
    run_expression('v', out, req, {'v': View.of(result).reshape(out.shape)})
