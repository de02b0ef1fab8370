"""``mx.test_utils``: the checking helpers MXNet users' own tests call, with MXNet's signatures.

>>> import numpy as np
>>> import mxref as mx
>>> from mxref.test_utils import check_numeric_gradient
>>> x = mx.sym.Variable('x')
>>> check_numeric_gradient(mx.sym.tanh(x), [np.random.uniform(-1, 1, (3, 4))])
"""
import numbers
import os

import numpy as np

from .base import MXNetError, MXNetValueError
from .context import Context, cpu, current_context
from .ndarray.ndarray import NDArray, array as nd_array

__all__ = ['default_context', 'set_default_context', 'default_dtype', 'default_rtols',
           'default_atols', 'default_numeric_eps', 'get_rtol', 'get_atol', 'almost_equal',
           'assert_almost_equal', 'same', 'rand_ndarray', 'rand_shape_2d', 'rand_shape_3d',
           'rand_shape_nd', 'numeric_grad', 'check_numeric_gradient', 'check_symbolic_forward',
           'check_symbolic_backward', 'check_consistency', 'assert_exception', 'get_mnist']

_default_ctx = [None]


def default_context():
    """The context tests run on: ``set_default_context``'s, else ``MXNET_TEST_DEVICE`` /
    ``MXREF_TEST_DEVICE`` ('gpu' or 'cpu'), else the current context."""
    if _default_ctx[0] is not None:
        return _default_ctx[0]
    device = os.environ.get('MXREF_TEST_DEVICE', os.environ.get('MXNET_TEST_DEVICE'))
    if device:
        return Context(device.split(':')[0], int(device.split(':')[1]) if ':' in device else 0)
    return current_context()


def set_default_context(ctx):
    """Make ``ctx`` the context :func:`default_context` returns."""
    _default_ctx[0] = ctx


def default_dtype():
    return np.float32


def default_rtols():
    """Relative tolerance per dtype."""
    return {np.dtype(np.float16): 1e-2, np.dtype(np.float32): 1e-4,
            np.dtype(np.float64): 1e-5, np.dtype(np.bool_): 0, np.dtype(np.int8): 0,
            np.dtype(np.uint8): 0, np.dtype(np.int32): 0, np.dtype(np.uint32): 0,
            np.dtype(np.int64): 0, np.dtype(np.uint64): 0}


def default_atols():
    """Absolute tolerance per dtype."""
    return {np.dtype(np.float16): 1e-1, np.dtype(np.float32): 1e-3,
            np.dtype(np.float64): 1e-20, np.dtype(np.bool_): 0, np.dtype(np.int8): 0,
            np.dtype(np.uint8): 0, np.dtype(np.int32): 0, np.dtype(np.uint32): 0,
            np.dtype(np.int64): 0, np.dtype(np.uint64): 0}


def default_numeric_eps():
    """Finite-difference step per dtype (powers of two: exact as an input change)."""
    return {np.dtype(np.float16): 1.0 / 2 ** 6, np.dtype(np.float32): 1.0 / 2 ** 9,
            np.dtype(np.float64): 1.0 / 2 ** 14}


def get_rtol(rtol=None, dtype=np.dtype(np.float64)):
    return default_rtols()[np.dtype(dtype)] if rtol is None else rtol


def get_atol(atol=None, dtype=np.dtype(np.float64)):
    return default_atols()[np.dtype(dtype)] if atol is None else atol


def _host(value):
    if isinstance(value, NDArray):
        return value.asnumpy()
    return np.asarray(value)


def _tolerances(a, b, rtol, atol):
    dtypes = [np.dtype(x.dtype) for x in (a, b)]
    rtol = rtol if isinstance(rtol, numbers.Number) else max(
        (rtol or {}).get(d, default_rtols().get(d, 0)) for d in dtypes)
    atol = atol if isinstance(atol, numbers.Number) else max(
        (atol or {}).get(d, default_atols().get(d, 0)) for d in dtypes)
    return rtol, atol


def almost_equal(a, b, rtol=None, atol=None, equal_nan=False, use_broadcast=True):
    """True when ``|a - b| <= atol + rtol·|b|`` everywhere."""
    a, b = _host(a), _host(b)
    if not use_broadcast and a.shape != b.shape:
        return False
    rtol, atol = _tolerances(a, b, rtol, atol)
    return bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


def assert_almost_equal(a, b, rtol=None, atol=None, names=('a', 'b'), equal_nan=False,
                        use_broadcast=True, mismatches=(10, 10)):
    """Raise AssertionError listing the worst mismatches unless ``a`` and ``b`` are close."""
    a, b = _host(a), _host(b)
    if not use_broadcast and a.shape != b.shape:
        raise AssertionError('shapes differ: %s %s vs %s %s' % (names[0], a.shape, names[1],
                                                                b.shape))
    rtol, atol = _tolerances(a, b, rtol, atol)
    try:
        close = np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)
    except ValueError as err:
        raise AssertionError('cannot compare %s %s with %s %s: %s'
                             % (names[0], a.shape, names[1], b.shape, err)) from None
    if close.all():
        return
    a_b, b_b = np.broadcast_arrays(a, b)
    with np.errstate(all='ignore'):
        error = np.abs(a_b.astype(np.float64) - b_b) / (atol + rtol * np.abs(b_b.astype(np.float64)))
    error = np.where(np.isnan(error), np.inf, error)
    bad = np.argwhere(~close)
    worst = sorted(bad.tolist(), key=lambda idx: -error[tuple(idx)])[:mismatches[0]]
    lines = ['Items are not equal (rtol=%g, atol=%g): %d of %d elements differ; worst error %g'
             % (rtol, atol, len(bad), close.size, np.max(error))]
    for idx in worst:
        lines.append('  at %s: %s=%s %s=%s' % (tuple(idx), names[0], a_b[tuple(idx)], names[1],
                                               b_b[tuple(idx)]))
    raise AssertionError('\n'.join(lines))


def same(a, b):
    """True when ``a`` and ``b`` hold exactly the same values."""
    return bool(np.array_equal(_host(a), _host(b)))


def assert_exception(f, exception_type, *args, **kwargs):
    """Assert that ``f(*args, **kwargs)`` raises ``exception_type``."""
    try:
        f(*args, **kwargs)
    except exception_type:
        return
    raise AssertionError('%s did not raise %s' % (getattr(f, '__name__', f),
                                                  exception_type.__name__))


def rand_shape_2d(dim0=10, dim1=10, allow_zero_size=False):
    low = 0 if allow_zero_size else 1
    return (np.random.randint(low, dim0 + 1), np.random.randint(low, dim1 + 1))


def rand_shape_3d(dim0=10, dim1=10, dim2=10, allow_zero_size=False):
    low = 0 if allow_zero_size else 1
    return tuple(np.random.randint(low, d + 1) for d in (dim0, dim1, dim2))


def rand_shape_nd(num_dim, dim=10, allow_zero_size=False):
    low = 0 if allow_zero_size else 1
    return tuple(np.random.randint(low, dim + 1, size=num_dim).tolist())


def rand_ndarray(shape, stype='default', density=None, dtype=None, modifier_func=None,
                 shuffle_csr_indices=False, distribution=None, ctx=None):
    """A dense NDArray of uniform [0, 1) values (``modifier_func`` applied to them)."""
    if stype != 'default':
        raise MXNetValueError("rand_ndarray: only stype='default' exists in mxref, got %r"
                              % stype)
    values = np.random.uniform(0, 1, size=shape)
    if modifier_func is not None:
        values = modifier_func(values)
    return nd_array(values, ctx=ctx or default_context(), dtype=dtype or np.float32)


# ----------------------------------------------------------------------------------------------
# checking symbols
# ----------------------------------------------------------------------------------------------
def _as_dict(values, names, what):
    if values is None:
        return {}
    if isinstance(values, dict):
        unknown = set(values) - set(names)
        if unknown:
            raise MXNetValueError('%s names %s are not in the symbol (%s)'
                                  % (what, sorted(unknown), names))
        return dict(values)
    if len(values) != len(names):
        raise MXNetValueError('%s has %d values, the symbol has %d (%s)'
                              % (what, len(values), len(names), names))
    return dict(zip(names, values))


def _to_nd(values, ctx, dtype):
    return {k: v.as_in_context(ctx) if isinstance(v, NDArray)
            else nd_array(np.asarray(v), ctx=ctx, dtype=dtype) for k, v in values.items()}


def _central_differences(executor, location, aux_states, eps, loss):
    """``{name: d loss / d argument}`` by central differences, moving one element of one
    argument at a time (auxiliary states are restored before every evaluation)."""
    grads = {}
    for name, value in location.items():
        value = np.asarray(value)
        grad = np.zeros(value.shape, dtype=np.float64)
        flat = value.reshape(-1).copy()
        for i in range(flat.size):
            original = flat[i]
            for sign in (1, -1):
                flat[i] = original + sign * eps
                executor.arg_dict[name][:] = flat.reshape(value.shape)
                for aux_name, aux_value in (aux_states or {}).items():
                    executor.aux_dict[aux_name][:] = aux_value
                grad.flat[i] += sign * loss()
            flat[i] = original
            grad.flat[i] /= 2 * eps
        executor.arg_dict[name][:] = value
        grads[name] = grad
    return grads


def numeric_grad(executor, location, aux_states=None, eps=1e-4, use_forward_train=True,
                 dtype=np.float32):
    """Central finite differences of ``sum(outputs)`` w.r.t. each array in ``location``.

    ``location`` maps argument names to NumPy arrays; returns ``{name: gradient}``.
    """
    def total():
        outputs = executor.forward(is_train=use_forward_train)
        return sum(float(np.sum(o.asnumpy(), dtype=np.float64)) for o in outputs)

    location = {k: np.asarray(v, dtype=dtype) for k, v in location.items()}
    return _central_differences(executor, location, aux_states, eps, total)


def check_numeric_gradient(sym, location, aux_states=None, numeric_eps=None, rtol=None,
                           atol=None, grad_nodes=None, use_forward_train=True, ctx=None,
                           grad_stype_dict=None, dtype=np.float32):
    """Compare the symbol's backward pass with finite differences.

    The check projects the outputs onto a fixed random direction (so every output element
    matters): ``loss = Σ_k sum(output_k · r_k)``; the executor's gradient of that loss (head
    gradients ``r_k``) must match its central difference in every checked input.
    """
    ctx = ctx or default_context()
    dtype = np.dtype(dtype)
    arg_names = sym.list_arguments()
    location = {k: _host(v).astype(dtype) for k, v in
                _as_dict(location, arg_names, 'location').items()}
    missing = set(arg_names) - set(location)
    if missing:
        raise MXNetValueError('check_numeric_gradient: location misses %s' % sorted(missing))
    aux_names = sym.list_auxiliary_states()
    aux_states = {k: _host(v).astype(dtype) for k, v in
                  _as_dict(aux_states, aux_names, 'aux_states').items()}
    if grad_nodes is None:
        grad_nodes = list(arg_names)
    elif isinstance(grad_nodes, dict):
        grad_nodes = list(grad_nodes)
    unknown = [n for n in grad_nodes if n not in arg_names]
    if unknown:
        raise MXNetValueError('check_numeric_gradient: grad_nodes %s are not arguments of the '
                              'symbol (%s)' % (unknown, arg_names))
    eps = numeric_eps if numeric_eps is not None else default_numeric_eps()[dtype]
    rtol = get_rtol(rtol if rtol is not None else {np.dtype(np.float16): 1e-1,
                                                   np.dtype(np.float32): 1e-2,
                                                   np.dtype(np.float64): 1e-4}[dtype], dtype)
    atol = get_atol(atol if atol is not None else {np.dtype(np.float16): 1e-1,
                                                   np.dtype(np.float32): 1e-3,
                                                   np.dtype(np.float64): 1e-5}[dtype], dtype)

    _, out_shapes, _ = sym.infer_shape(**{k: v.shape for k, v in location.items()})
    if out_shapes is None:
        raise MXNetValueError('check_numeric_gradient: cannot infer the output shapes')
    projections = [np.random.normal(0, 0.1, size=s).astype(dtype) for s in out_shapes]

    def projected_executor(grad_req):
        args = _to_nd(location, ctx, dtype)
        grads = {k: NDArray(args[k].backend.zeros(args[k].shape, dtype), ctx)
                 for k in grad_nodes}
        reqs = {k: (grad_req if k in grad_nodes else 'null') for k in arg_names}
        aux = _to_nd(aux_states, ctx, dtype) if aux_states else None
        return sym.bind(ctx, args, args_grad=grads, grad_req=reqs, aux_states=aux)

    executor = projected_executor('write')
    executor.forward(is_train=use_forward_train)
    executor.backward([nd_array(p, ctx=ctx, dtype=dtype) for p in projections])
    symbolic = {k: executor.grad_dict[k].asnumpy() for k in grad_nodes}

    # the projected loss, evaluated in float64 on the host for accurate differences
    numeric_executor = projected_executor('null')

    def loss():
        outputs = numeric_executor.forward(is_train=use_forward_train)
        return sum(float(np.sum(o.asnumpy().astype(np.float64) * p))
                   for o, p in zip(outputs, projections))

    numeric = _central_differences(numeric_executor, {n: location[n] for n in grad_nodes},
                                   aux_states, eps, loss)
    for name in grad_nodes:
        assert_almost_equal(numeric[name], symbolic[name], rtol=rtol, atol=atol,
                            names=('NUMERICAL_%s' % name, 'BACKWARD_%s' % name))


def check_symbolic_forward(sym, location, expected, rtol=None, atol=None, aux_states=None,
                           ctx=None, equal_nan=False, dtype=np.float32):
    """Bind ``location``, run forward (inference) and compare every output with ``expected``.
    Returns the outputs as NumPy arrays."""
    ctx = ctx or default_context()
    args = _to_nd(_as_dict(location, sym.list_arguments(), 'location'), ctx, dtype)
    aux = _to_nd(_as_dict(aux_states, sym.list_auxiliary_states(), 'aux_states'), ctx, dtype)
    executor = sym.bind(ctx, args, grad_req='null', aux_states=aux or None)
    outputs = [o.asnumpy() for o in executor.forward(is_train=False)]
    if isinstance(expected, dict):
        expected = [expected[k] for k in sym.list_outputs()]
    for name, want, got in zip(sym.list_outputs(), expected, outputs):
        assert_almost_equal(got, _host(want), rtol, atol, ('FORWARD_%s' % name,
                                                           'EXPECTED_%s' % name), equal_nan)
    return outputs


def check_symbolic_backward(sym, location, out_grads, expected, rtol=None, atol=None,
                            aux_states=None, grad_req='write', ctx=None, grad_stypes=None,
                            equal_nan=False, dtype=np.float32):
    """Bind ``location``, run forward (training) and backward with ``out_grads``, and compare
    the argument gradients with ``expected`` (list or dict).  With ``grad_req='add'`` the
    gradient arrays start from random values that the check accounts for.  Returns the
    gradients as NumPy arrays by name."""
    ctx = ctx or default_context()
    arg_names = sym.list_arguments()
    args = _to_nd(_as_dict(location, arg_names, 'location'), ctx, dtype)
    aux = _to_nd(_as_dict(aux_states, sym.list_auxiliary_states(), 'aux_states'), ctx, dtype)
    expected = _as_dict(expected, arg_names, 'expected')
    reqs = grad_req if isinstance(grad_req, dict) else {k: grad_req for k in arg_names}
    initial = {k: np.random.normal(size=args[k].shape).astype(dtype) if reqs.get(k) == 'add'
               else np.zeros(args[k].shape, dtype) for k in arg_names}
    grads = {k: nd_array(initial[k], ctx=ctx, dtype=dtype) for k in arg_names
             if reqs.get(k, 'null') != 'null'}
    executor = sym.bind(ctx, args, args_grad=grads, grad_req=reqs, aux_states=aux or None)
    executor.forward(is_train=True)
    if isinstance(out_grads, dict):
        out_grads = [out_grads[k] for k in sym.list_outputs()]
    executor.backward([nd_array(_host(g), ctx=ctx, dtype=dtype) for g in (out_grads or [])])
    results = {k: g.asnumpy() for k, g in executor.grad_dict.items()}
    for name, want in expected.items():
        if reqs.get(name, 'null') == 'null':
            continue
        want = _host(want) + (initial[name] if reqs[name] == 'add' else 0)
        assert_almost_equal(results[name], want, rtol, atol,
                            ('BACKWARD_%s' % name, 'EXPECTED_%s' % name), equal_nan)
    return results


def check_consistency(sym, ctx_list, scale=1.0, grad_req='write', arg_params=None,
                      aux_params=None, rtol=None, atol=None, raise_on_err=True,
                      ground_truth=None, equal_nan=False, use_uniform=False,
                      rand_type=np.float64):
    """Run ``sym`` on every context of ``ctx_list`` (dicts such as ``{'ctx': mx.cpu(),
    'data': (2, 3), 'type_dict': {'data': np.float32}}``) with the same random inputs and
    compare outputs and gradients with the most precise run.  Returns that run's results."""
    from .context import Context as _Context
    if not isinstance(sym, (list, tuple)):
        sym = [sym] * len(ctx_list)
    arg_names = sym[0].list_arguments()
    aux_names = sym[0].list_auxiliary_states()
    first = ctx_list[0]
    shapes = {k: v for k, v in first.items() if k not in ('ctx', 'type_dict')}
    arg_shapes, _, aux_shapes = sym[0].infer_shape(**shapes)
    rng = np.random.uniform if use_uniform else np.random.normal
    arg_params = dict(arg_params or {})
    aux_params = dict(aux_params or {})
    for name, shape in zip(arg_names, arg_shapes):
        if name not in arg_params:
            arg_params[name] = (rng(-scale, scale, size=shape) if use_uniform
                                else rng(0, scale, size=shape)).astype(rand_type)
    for name, shape in zip(aux_names, aux_shapes):
        if name not in aux_params:
            aux_params[name] = np.abs(rng(0, scale, size=shape)).astype(rand_type)
    runs = []
    for s, spec in zip(sym, ctx_list):
        ctx = spec['ctx']
        types = spec.get('type_dict', {})
        arg_types, _, aux_types = s.infer_type(**types)
        args = {n: nd_array(_host(arg_params[n]), ctx=ctx, dtype=t)
                for n, t in zip(arg_names, arg_types)}
        aux = {n: nd_array(_host(aux_params[n]), ctx=ctx, dtype=t)
               for n, t in zip(aux_names, aux_types)}
        grads = {n: NDArray(args[n].backend.zeros(args[n].shape, args[n].handle.dtype), ctx)
                 for n in arg_names} if grad_req != 'null' else None
        executor = s.bind(ctx, args, args_grad=grads, grad_req=grad_req, aux_states=aux or None)
        outputs = [o.asnumpy() for o in executor.forward(is_train=grad_req != 'null')]
        if grad_req != 'null':
            executor.backward([nd_array(np.ones(o.shape), ctx=ctx, dtype=o.dtype)
                               for o in outputs])
            grad_values = {k: g.asnumpy() for k, g in executor.grad_dict.items()}
        else:
            grad_values = {}
        runs.append((spec, outputs, grad_values))
    order = sorted(range(len(runs)), key=lambda i: -max(
        np.dtype(o.dtype).itemsize for o in runs[i][1]))
    truth = runs[order[0]] if ground_truth is None else (None, ground_truth['outputs'],
                                                         ground_truth['grads'])
    for spec, outputs, grad_values in runs:
        try:
            for got, want in zip(outputs, truth[1]):
                assert_almost_equal(got, want, rtol, atol,
                                    ('%s output' % spec['ctx'], 'ground truth'), equal_nan)
            for name, got in grad_values.items():
                assert_almost_equal(got, truth[2][name], rtol, atol,
                                    ('%s grad %s' % (spec['ctx'], name), 'ground truth'),
                                    equal_nan)
        except AssertionError:
            if raise_on_err:
                raise
    return {'outputs': truth[1], 'grads': truth[2]}



def get_mnist():
    """The MNIST dataset as NumPy arrays, as MXNet's ``mx.test_utils.get_mnist``.

    Returns a dict with ``train_data`` (60000, 1, 28, 28) and ``test_data`` (10000, 1, 28, 28),
    float32 pixels scaled by 1/255 into [0, 1], and ``train_label`` / ``test_label``, int8
    digits 0-9 (the dtypes MXNet returns).

    The four IDX files come from :func:`mxref.datasets.mnist_files`: ``$MXREF_DATA_DIR/mnist``,
    else the cache (``~/.mxref/datasets``), else a download checked against its SHA-256.  A
    file that does not parse (corrupt or truncated) raises
    :class:`mxref.datasets.DatasetError` naming it; if it was in the download cache it is
    deleted, so the next call downloads it again.

    >>> mnist = get_mnist()                                        # doctest: +SKIP
    >>> mnist['train_data'].shape, mnist['test_label'][:5]         # doctest: +SKIP
    ((60000, 1, 28, 28), array([7, 2, 1, 0, 4], dtype=int8))
    """
    from . import datasets
    from .io.idx import IDXFormatError, read_idx

    files = datasets.mnist_files()
    arrays = {}
    for key, path in files.items():
        try:
            arrays[key] = read_idx(path)
        except IDXFormatError as err:
            cached = os.path.abspath(path).startswith(os.path.abspath(datasets.cache_dir())
                                                      + os.sep)
            if cached:
                os.unlink(path)
            raise datasets.DatasetError(
                'get_mnist: the MNIST file %s is corrupt (%s); %s' % (
                    path, err, 'it was removed from the cache, call again to download it'
                    if cached else 'replace it with a good copy')) from None
    result = {}
    for part in ('train', 'test'):
        images, labels = arrays[part + '_data'], arrays[part + '_label']
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise datasets.DatasetError(
                'get_mnist: %s holds images of shape %s and %s labels of shape %s; expected '
                '(count, 28, 28) and (count,)' % (files[part + '_data'], images.shape,
                                                  files[part + '_label'], labels.shape))
        result[part + '_data'] = (images.reshape(len(images), 1, images.shape[1],
                                                 images.shape[2]).astype(np.float32)
                                  / np.float32(255))
        result[part + '_label'] = labels.astype(np.int8)
    return result
