"""topk, sort and argsort: MXNet 1.9.1's results where NumPy cannot say (tie order, dtypes,
hidden outputs, errors); the NumPy oracles and finite differences are in test_operator.py.

Every hard-coded value below was observed with MXNet 1.9.1 (pip wheel, CPU).
"""
import json

import numpy as np
import pytest

import mxref as mx
from mxref.operator.ordering import libstdcxx_order, order_lines

# np.arange(40) * 7 % 3: a line of 40 elements with three values, many ties
TIES = (np.arange(40) * 7 % 3).astype(np.float32)
# from MXNet 1.9.1: mx.nd.argsort(TIES), argsort(is_ascend=False), topk(k=5), topk(k=6, asc)
ARGSORT_ASC = [0, 21, 18, 24, 15, 27, 12, 30, 9, 33, 6, 36, 3, 39, 31, 34, 28, 37, 25, 22, 1,
               19, 16, 4, 13, 7, 10, 2, 20, 38, 5, 35, 8, 32, 11, 29, 14, 26, 17, 23]
ARGSORT_DESC = [29, 20, 17, 23, 14, 26, 11, 8, 32, 5, 35, 2, 38, 31, 1, 34, 28, 25, 37, 22, 16,
                13, 4, 10, 19, 7, 30, 39, 0, 3, 36, 6, 33, 9, 12, 27, 15, 24, 18, 21]
TOPK_5 = [8, 5, 11, 14, 2]                  # 8·k <= n: std::partial_sort
TOPK_6_ASC = [0, 21, 18, 24, 15, 27]         # 8·k > n: std::sort


def test_ties_come_out_in_mxnets_order():
    x = mx.nd.array(TIES)
    assert mx.nd.argsort(x).asnumpy().astype(int).tolist() == ARGSORT_ASC
    assert mx.nd.argsort(x, is_ascend=False).asnumpy().astype(int).tolist() == ARGSORT_DESC
    assert mx.nd.topk(x, k=5).asnumpy().astype(int).tolist() == TOPK_5
    assert mx.nd.topk(x, k=6, is_ascend=True).asnumpy().astype(int).tolist() == TOPK_6_ASC
    # short lines (insertion sort) keep equal elements in input order, both ways
    row = mx.nd.array([[3, 1, 2, 1], [5, 5, 0, 5]])
    assert mx.nd.argsort(row).asnumpy().tolist() == [[1, 3, 2, 0], [2, 0, 1, 3]]
    assert mx.nd.topk(row, k=0).asnumpy().tolist() == [[0, 2, 1, 3], [0, 1, 3, 2]]
    # 17 equal elements: past the insertion-sort threshold (MXNet 1.9.1)
    assert libstdcxx_order([1.0] * 17, 17, True)[:4] == [8, 16, 15, 14]


def test_nan_and_signed_zero_follow_mxnet():
    nan = float('nan')
    x = mx.nd.array([[1, nan, 0, 2, nan, 1]])
    assert mx.nd.topk(x, k=0).asnumpy().tolist() == [[3, 0, 1, 2, 4, 5]]   # MXNet 1.9.1
    np.testing.assert_array_equal(mx.nd.sort(x).asnumpy(), [[0, 1, nan, 2, nan, 1]])
    z = mx.nd.array([[0.0, -0.0, 1, -0.0]])
    assert mx.nd.argsort(z).asnumpy().tolist() == [[0, 1, 3, 2]]          # equal: input order


def test_fast_path_agrees_with_the_libstdcxx_steps():
    rng = np.random.RandomState(0)
    for n in (1, 2, 16, 17, 40, 129):
        lines = np.concatenate([rng.randint(0, 3, (4, n)), rng.permutation(n)[None]]).astype(
            np.float32)
        for k in sorted({1, max(1, n // 8), n // 8 + 1, n}):
            for ascending in (True, False):
                want = [libstdcxx_order(r.tolist(), k, ascending) for r in lines]
                assert order_lines(lines, k, ascending).tolist() == want


def test_outputs_dtypes_and_shapes():
    x = mx.nd.array([[3, 1, 2, 1], [5, 5, 0, 5]])
    value, index = mx.nd.topk(x, k=2, ret_typ='both')
    assert value.asnumpy().tolist() == [[3, 2], [5, 5]] and value.dtype == np.float32
    assert index.asnumpy().tolist() == [[0, 2], [0, 1]] and index.dtype == np.float32
    mask = mx.nd.topk(x, k=2, ret_typ='mask', dtype='int32')     # dtype is for indices only
    assert mask.asnumpy().tolist() == [[1, 0, 1, 0], [1, 1, 0, 0]] and mask.dtype == np.float32
    assert mx.nd.topk(x, axis=0).asnumpy().tolist() == [[1, 1, 0, 1]]
    flat = mx.nd.topk(x, axis=None, k=3)
    assert flat.shape == (3,) and flat.asnumpy().tolist() == [4, 5, 7]
    assert mx.nd.topk(x, k=-1).shape == (2, 4)                     # k <= 0: all
    assert mx.nd.sort(x, axis=None).asnumpy().tolist() == [0, 1, 1, 2, 3, 5, 5, 5]
    assert mx.nd.sort(x, axis=0).asnumpy().tolist() == [[3, 1, 0, 1], [5, 5, 2, 5]]
    assert mx.nd.argsort(x, axis=None).asnumpy().tolist() == [6, 1, 3, 2, 0, 4, 5, 7]
    for dtype in ('int32', 'int64', 'float16', 'uint8'):
        assert mx.nd.argsort(x, dtype=dtype).dtype == np.dtype(dtype)
    ints = mx.nd.array([[3, 1, 2, 1]], dtype='int32')
    v, i = mx.nd.topk(ints, k=2, ret_typ='both')
    assert v.dtype == np.int32 and i.dtype == np.float32 and v.asnumpy().tolist() == [[3, 2]]
    assert mx.nd.sort(ints).dtype == np.int32


def test_symbols_infer_and_serialise_as_mxnet():
    d = mx.sym.Variable('data')
    # MXNet 1.9.1: list_outputs, node_row_ptr (hidden outputs counted), types for float64
    cases = [(mx.sym.topk(d, name='t'), ['t_output'], 2, [(2, 4, 1)], ['float32']),
             (mx.sym.topk(d, ret_typ='both', k=2, dtype='int32', name='t'),
              ['t_output0', 't_output1'], 3, [(2, 4, 2)] * 2, ['float64', 'int32']),
             (mx.sym.topk(d, ret_typ='value', name='t'), ['t_output0'], 3, [(2, 4, 1)],
              ['float64']),
             (mx.sym.topk(d, ret_typ='mask', axis=None, name='t'), ['t_output'], 2,
              [(2, 4, 3)], ['float64']),
             (mx.sym.sort(d, name='s'), ['s_output0'], 3, [(2, 4, 3)], ['float64']),
             (mx.sym.argsort(d, dtype='int32', axis=None, name='a'), ['a_output'], 2, [(24,)],
              ['int32'])]
    for sym, outputs, rows, shapes, types in cases:
        assert sym.list_outputs() == outputs
        assert json.loads(sym.tojson())['node_row_ptr'][-1] == rows
        assert sym.infer_shape(data=(2, 4, 3))[1] == shapes
        assert [np.dtype(t).name for t in sym.infer_type(data='float64')[1]] == types
    node = json.loads(mx.sym.topk(d, ret_typ='both', k=2, dtype='int32').tojson())['nodes'][1]
    assert node['attrs'] == {'dtype': 'int32', 'k': '2', 'ret_typ': 'both'}
    node = json.loads(mx.sym.argsort(d, axis=None).tojson())['nodes'][1]
    assert node['attrs'] == {'axis': 'None'}
    assert mx.sym.topk(d, k=3, axis=1).infer_shape(data=(2, 4, 3))[1] == [(2, 3, 3)]
    loaded = mx.sym.load_json(mx.sym.topk(d, k=2, ret_typ='both', name='t').tojson())
    assert loaded.list_outputs() == ['t_output0', 't_output1']


def _grad(sym, x, heads, req='write', start=0.0):
    ex = sym.simple_bind(mx.cpu(), data=x.shape, grad_req=req)
    ex.grad_dict['data'][:] = start
    ex.forward(is_train=True, data=mx.nd.array(x))
    ex.backward([mx.nd.array(h) for h in heads])
    return ex.outputs, ex.grad_dict['data'].asnumpy()


def test_gradients_go_where_mxnet_sends_them():
    d = mx.sym.Variable('data')
    x = np.array([[3, 1, 2, 1], [5, 5, 0, 5]], np.float32)
    dy = np.array([[1, 2], [3, 4]], np.float32)
    # MXNet 1.9.1 values
    for ret_typ in ('value', 'both'):
        sym = mx.sym.topk(d, k=2, ret_typ=ret_typ)
        heads = [dy, np.full((2, 2), 100, np.float32)][:len(sym.list_outputs())]
        assert _grad(sym, x, heads)[1].tolist() == [[1, 0, 2, 0], [3, 4, 0, 0]]
        assert _grad(sym, x, heads, 'add', 10)[1].tolist() == [[11, 10, 12, 10], [13, 14, 10, 10]]
    for sym in (mx.sym.topk(d, k=2), mx.sym.topk(d, k=2, ret_typ='mask'), mx.sym.argsort(d)):
        heads = [np.ones(sym.infer_shape(data=(2, 4))[1][0], np.float32)]
        assert not _grad(sym, x, heads)[1].any()
        assert (_grad(sym, x, heads, 'add', 10)[1] == 10).all()
    y = np.array([[2, 7, 7, 1, 7], [0, 0, 3, 3, 0]], np.float32)
    outs, grad = _grad(mx.sym.sort(d, axis=1, is_ascend=False), y,
                       [np.arange(1, 11, dtype=np.float32).reshape(2, 5)])
    assert outs[0].asnumpy().tolist() == [[7, 7, 7, 2, 1], [3, 3, 0, 0, 0]]
    assert grad.tolist() == [[4, 1, 2, 5, 3], [8, 9, 6, 7, 10]]
    _, grad = _grad(mx.sym.sort(d, axis=None), x, [np.arange(1, 9, dtype=np.float32)])
    assert grad.tolist() == [[5, 2, 4, 3], [6, 7, 1, 8]]


@pytest.mark.parametrize('call,words', [
    (lambda x: mx.nd.topk(x, k=5), ['topk', 'k=5', 'expected k <= 4']),
    (lambda x: mx.nd.topk(x, axis=2), ['topk', 'axis=2', '-2 <= axis < 2']),
    (lambda x: mx.nd.sort(x, axis=-3), ['sort', 'axis=-3', '-2 <= axis < 2']),
    (lambda x: mx.nd.argsort(x, axis=5), ['argsort', 'axis=5']),
    (lambda x: mx.nd.topk(x, ret_typ='foo'), ['topk', 'ret_typ', "'both'"]),
    (lambda x: mx.nd.topk(x, dtype='bool'), ['topk', 'dtype=bool', 'uint8']),
    (lambda x: mx.nd.argsort(x, dtype='int8'), ['argsort', 'dtype=int8', 'float32']),
])
def test_errors_name_the_operator_and_the_argument(call, words):
    # MXNet 1.9.1 rejects each of these too (k above the line length, axis out of range, an
    # unknown ret_typ, an index dtype outside float16/32/64, int32/64, uint8)
    with pytest.raises(mx.base.MXNetError) as info:
        call(mx.nd.array([[3, 1, 2, 1], [5, 5, 0, 5]]))
    for word in words:
        assert word in str(info.value)


def test_a_gpu_context_is_refused_with_the_operator_name():
    from mxref.operator import get as get_op
    for name in ('topk', 'sort', 'argsort'):
        with pytest.raises(NotImplementedError, match="%s '%s': has no GPU kernel" % (name, name)):
            get_op(name)().to(mx.gpu(0))


def test_an_empty_ordering_axis_gives_empty_results():
    # a zero-length line used to crash in NumPy's reshape (it cannot infer -1 next to a 0)
    assert mx.nd.sort(mx.nd.zeros((3, 0))).shape == (3, 0)
    assert mx.nd.argsort(mx.nd.zeros((0,))).shape == (0,)
    assert mx.nd.topk(mx.nd.zeros((3, 0)), k=0).shape == (3, 0)
