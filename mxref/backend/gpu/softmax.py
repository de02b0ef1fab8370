"""softmax / log-softmax, their gradient and SoftmaxOutput's gradient on the GPU
(kernels in ``softmax.cu``, whose header describes the two-pass online algorithm)."""
import numpy as np

from ...base import MXNetTypeError, MXNetValueError
from . import geometry, runtime
from .elementwise import new_buffer, run_expression
from .reduce import _reduce_kernel
from .sources import KERNEL_FILES

__all__ = ['softmax', 'softmax_backward', 'softmax_output_grad']


def _lines(shape, axis):
    outer = int(np.prod(shape[:axis], dtype=np.int64))
    inner = int(np.prod(shape[axis + 1:], dtype=np.int64))
    return outer, shape[axis], inner


def _check_dtype(what, *bufs):
    allowed = KERNEL_FILES['softmax.cu']['real_t']
    for buf in bufs:
        if buf.dtype not in allowed or buf.dtype != bufs[0].dtype:
            raise MXNetTypeError('%s on the GPU needs arrays of one floating type (%s), got %s'
                                 % (what, ', '.join(d.name for d in allowed),
                                    ', '.join(b.dtype.name for b in bufs)))


def _run(kind, arrays, shape, axis, req, temperature, log):
    """Launch the row kernel (axis last) or the line kernel (axis inside) for ``kind``
    ('softmax' or 'softmax_backward'); ``arrays`` are the pointers in kernel order."""
    outer, n, inner = _lines(shape, axis)
    if outer * n * inner == 0:
        return
    dtype = arrays[0].dtype
    pointers = [a.ptr for a in arrays]
    flags = [float(temperature), int(log), int(req == 'add')]
    if inner == 1:
        mode, threads = geometry.rows_geometry(outer, n)
        whole_block = mode == 'block'
        if whole_block:
            rows_per_block = 1                   # one block of ``threads`` per row
        else:
            rows_per_block, threads = 8, 256      # eight warps, one row each
        name = 'softmax_rows' if kind == 'softmax' else 'softmax_rows_backward'
        kernel = runtime.file_kernel('softmax.cu', name, dtype)
        blocks = min(geometry.ceil_div(outer, rows_per_block), runtime.sm_count() * 64)
        runtime.launch(kernel, blocks, threads, pointers + [outer, n] + flags
                       + [int(whole_block)])
    else:
        name = 'softmax_lines' if kind == 'softmax' else 'softmax_lines_backward'
        kernel = runtime.file_kernel('softmax.cu', name, dtype)
        blocks, threads = geometry.grid_1d(outer * inner, runtime.sm_count())
        runtime.launch(kernel, blocks, threads, pointers + [outer, n, inner] + flags)


def softmax(x, axis, out, req, temperature=1.0, log=False):
    """out (req)= softmax (or log-softmax) of x / temperature along ``axis``."""
    if req == 'null':
        return
    _check_dtype('softmax', x, out)
    runtime.ensure_current(out.device_id)
    _run('softmax', [x, out], x.shape, axis, req, temperature, log)


def softmax_backward(y, dy, axis, dx, req, temperature=1.0, log=False):
    """dx (req)= gradient of softmax (from its output y):  y * (dy - sum(dy * y)) / T,
    or for log-softmax:  (dy - exp(y) * sum(dy)) / T."""
    if req == 'null':
        return
    _check_dtype('softmax_backward', y, dy, dx)
    runtime.ensure_current(dx.device_id)
    _run('softmax_backward', [y, dy, dx], y.shape, axis, req, temperature, log)


def softmax_output_grad(prob, label, dx, req, grad_scale=1.0, ignore_label=-1.0,
                        use_ignore=False, normalization='null', smooth_alpha=0.0,
                        head_grad=None):
    """dx (req)= (prob − target(label)) · grad_scale / N, the SoftmaxOutput gradient (the CPU
    backend's docstring states the rules for the target and N).

    For ``normalization='valid'`` the count of labels not equal to ``ignore_label`` is summed
    on the GPU and read there by the gradient kernel: no round trip to the host.
    """
    if req == 'null':
        return
    _check_dtype('softmax_output_grad', prob, dx)
    runtime.ensure_current(dx.device_id)
    n, k = prob.shape[0], prob.shape[1]
    s = prob.size // max(n * k, 1)
    if label.dtype != prob.dtype:
        converted = new_buffer(label.shape, prob.dtype)
        run_expression('x', converted, 'write', {'x': label})
        label = converted
    if head_grad is not None and head_grad.dtype != prob.dtype:
        converted = new_buffer(head_grad.shape, prob.dtype)
        run_expression('x', converted, 'write', {'x': head_grad})
        head_grad = converted
    valid_ptr, divisor = 0, 1.0
    if normalization == 'batch':
        divisor = float(label.size)
    elif normalization == 'valid':
        counting = np.float64 if prob.dtype == np.float64 else np.float32   # accum_t
        flags = new_buffer((1, label.size), counting)
        run_expression('(trunc(l) != trunc(t))', flags, 'write',
                       {'l': label.view((1, label.size)), 't': float(ignore_label)})
        count = new_buffer((1,), counting)
        _reduce_kernel('sum', flags, (1,), count, 'write')
        valid_ptr = count.ptr
    elif normalization == 'null':
        divisor = float(s) if prob.ndim == 3 else 1.0
    else:
        raise MXNetValueError("softmax_output_grad: normalization must be 'null', 'batch' or "
                              "'valid', got %r" % (normalization,))
    kernel = runtime.file_kernel('softmax.cu', 'softmax_output_grad', prob.dtype)
    blocks, threads = geometry.grid_1d(prob.size, runtime.sm_count())
    runtime.launch(kernel, blocks, threads, [
        prob.ptr, label.ptr, 0 if head_grad is None else head_grad.ptr, valid_ptr, dx.ptr,
        n, k, s, float(grad_scale), float(ignore_label), int(bool(use_ignore)),
        float(smooth_alpha), divisor, int(req == 'add')])
