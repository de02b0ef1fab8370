"""The other samplers (_random_exponential ... _sample_* , _sample_multinomial, _shuffle) and
ROIPooling.  Random values cannot match MXNet's generator: distributions are tested by their
moments with fixed seeds; shapes, types, JSON, errors and gradients are MXNet 1.9.1's."""
import json

import numpy as np
import pytest

import mxref as mx
from mxref.base import MXNetValueError
from mxref.test_utils import check_numeric_gradient

nd = mx.nd


@pytest.mark.parametrize('call, mean, var', [
    (lambda: nd.random_exponential(lam=2, shape=(40000,)), 0.5, 0.25),
    (lambda: nd.random.exponential(4, shape=(40000,)), 4, 16),          # scale = 1 / lam
    (lambda: nd.random_gamma(alpha=3, beta=2, shape=(40000,)), 6, 12),
    (lambda: nd.random.poisson(3.5, shape=(40000,)), 3.5, 3.5),
    (lambda: nd.random.negative_binomial(3, 0.4, shape=(40000,)), 4.5, 11.25),
    (lambda: nd.random.generalized_negative_binomial(2, 0.5, shape=(40000,)), 2, 4),
    (lambda: nd.random.generalized_negative_binomial(2, 0, shape=(40000,)), 2, 2),   # Poisson
])
def test_scalar_samplers_moments(call, mean, var):
    values = call().asnumpy().astype(np.float64)
    assert values.dtype == np.float64 and values.shape == (40000,)
    assert abs(values.mean() - mean) < 0.05 * mean and abs(values.var() - var) < 0.08 * var


def test_scalar_samplers_types_shapes_and_seed():
    assert nd.random.poisson(2).shape == (1,)                  # MXNet: shape 1 by default
    assert nd.random_poisson(lam=3, shape=(3,), dtype='float64').dtype == np.float64
    assert nd.random.gamma(shape=(2, 3)).dtype == np.float32
    assert (nd.random_poisson(lam=0, shape=(5,)).asnumpy() == 0).all()        # as MXNet
    assert (nd.random_negative_binomial(k=0, p=0.5, shape=(5,)).asnumpy() == 0).all()
    assert (nd.random_negative_binomial(k=2, p=1, shape=(5,)).asnumpy() == 0).all()
    assert (nd.random_generalized_negative_binomial(mu=0, shape=(5,)).asnumpy() == 0).all()
    for draw in (lambda: nd.random.gamma(2, 3, shape=(6,)), lambda: nd.random.poisson(2, shape=(6,)),
                 lambda: nd.sample_normal(nd.array([0, 5]), nd.array([1, 2]), shape=(3,))):
        mx.random.seed(11)
        first = draw().asnumpy()
        mx.random.seed(11)
        assert (draw().asnumpy() == first).all()
        assert not (draw().asnumpy() == first).all()


@pytest.mark.parametrize('call, message', [           # MXNet 1.9.1's checks, mxref's wording
    (lambda: nd.random_exponential(lam=0, shape=(2,)), r"_random_exponential.*lam.*positive.*lam=0"),
    (lambda: nd.random_gamma(alpha=-1, shape=(2,)), r"_random_gamma.*alpha.*positive.*alpha=-1"),
    (lambda: nd.random_gamma(beta=0, shape=(2,)), r"_random_gamma.*beta.*positive.*beta=0"),
    (lambda: nd.random_poisson(lam=-1, shape=(2,)), r"_random_poisson.*lam.*non-negative.*lam=-1"),
    (lambda: nd.random_negative_binomial(k=-1, shape=(2,)), r"negative_binomial.*k.*non-negative"),
    (lambda: nd.random_negative_binomial(k=2.5, shape=(2,)), r"negative_binomial.*k"),   # an int
    (lambda: nd.random_negative_binomial(p=0, shape=(2,)), r"negative_binomial.*p.*\(0, 1\].*p=0"),
    (lambda: nd.random_generalized_negative_binomial(mu=-1, shape=(2,)), r"mu.*non-negative"),
    (lambda: nd.random_generalized_negative_binomial(alpha=-1, shape=(2,)), r"alpha.*non-negative"),
    (lambda: nd.random_poisson(lam=3, shape=(3,), dtype='int32'), r"_random_poisson.*dtype.*int32"),
    (lambda: nd.sample_gamma(nd.array([1, -1]), nd.array([1, 1])), r"_sample_gamma.*alpha.*positive.*alpha=-1"),
    (lambda: nd.sample_normal(nd.array([0]), nd.array([-1])), r"_sample_normal.*sigma.*non-negative"),
    (lambda: nd.sample_uniform(nd.array([0, 1, 2]), nd.array([1, 2])), r"_sample_uniform.*high.*\(3,\)"),
    (lambda: nd.random.uniform(nd.array([0]), 1), r"random.uniform.*all be NDArrays or all numbers"),
    (lambda: nd.random.multinomial(nd.array([0.5, 0.5]), dtype='int64'), r"_sample_multinomial.*dtype"),
])
def test_sampler_errors(call, message):
    with pytest.raises(mx.base.MXNetError, match=message):
        call()


def test_per_element_samplers():
    lo, hi = nd.array([0, 10]), nd.array([1, 20])
    # shapes and types printed by MXNet 1.9.1
    assert nd.sample_uniform(lo, hi).shape == (2,)
    assert nd.sample_uniform(lo, hi, shape=(2, 3)).shape == (2, 2, 3)
    assert nd.sample_uniform(lo, hi, shape=3).shape == (2, 3)
    assert nd.random.uniform(lo, hi, shape=(2,)).shape == (2, 2)
    assert nd.sample_uniform(lo.astype('float64'), hi.astype('float64')).dtype == np.float32
    assert nd.sample_uniform(lo, hi, dtype='float16').dtype == np.float16
    assert nd.sample_poisson(nd.array([[1.0, 2], [3, 4]]), shape=(2,)).shape == (2, 2, 2)
    mx.random.seed(3)
    u = nd.sample_uniform(lo, hi, shape=(20000,)).asnumpy()
    assert (u[0] >= 0).all() and (u[0] < 1).all() and (u[1] >= 10).all() and (u[1] < 20).all()
    assert abs(u[1].mean() - 15) < 0.1
    cases = [(nd.random.normal(nd.array([1, -5]), nd.array([0.5, 2]), shape=(20000,)),
              [1, -5], [0.25, 4]),
             (nd.random.gamma(nd.array([2, 9]), nd.array([1, 0.5]), shape=(20000,)),
              [2, 4.5], [2, 2.25]),
             (nd.random.exponential(nd.array([1, 4]), shape=(20000,)), [1, 4], [1, 16]),
             (nd.random.poisson(nd.array([0.5, 8]), shape=(20000,)), [0.5, 8], [0.5, 8]),
             (nd.random.negative_binomial(nd.array([2.5, 4]), nd.array([0.5, 0.8]),
                                          shape=(20000,)), [2.5, 1], [5, 1.25]),
             (nd.random.generalized_negative_binomial(nd.array([3, 1]), nd.array([0.2, 1]),
                                                      shape=(20000,)), [3, 1], [4.8, 2])]
    for got, means, variances in cases:
        got = got.asnumpy().astype(np.float64)
        assert got.shape == (2, 20000)
        np.testing.assert_allclose(got.mean(axis=1), means, rtol=0.06, atol=0.02)
        np.testing.assert_allclose(got.var(axis=1), variances, rtol=0.1)


def test_out_gives_shape_context_and_type():
    out = nd.zeros((3,), dtype='float64')
    assert nd.random.gamma(2, out=out) is out and out.dtype == np.float64
    assert (out.asnumpy() > 0).all()
    out = nd.zeros((2, 4))
    nd.random.poisson(nd.array([1, 2]), shape=(4,), out=out)
    assert out.shape == (2, 4)


def test_per_element_symbols_json_shapes_and_zero_gradient():
    a, b = mx.sym.var('a'), mx.sym.var('b')
    with mx.name.NameManager():
        s = mx.sym.random.uniform(a, b, shape=(2,))
        e = mx.sym.random.exponential(a)
    # as MXNet 1.9.1 writes them
    assert json.loads(s.tojson())['nodes'][-1] == {'op': '_sample_uniform', 'name': '_sample_uniform0',
                                                   'attrs': {'shape': '(2,)'},
                                                   'inputs': [[0, 0, 0], [1, 0, 0]]}
    assert [n['op'] for n in json.loads(e.tojson())['nodes']] == ['null', '_rdiv_scalar',
                                                                   '_sample_exponential']
    assert s.infer_shape(a=(3,), b=(3,)) == ([(3,), (3,)], [(3, 2)], [])
    assert s.infer_type(a=np.float64, b=np.float64)[1] == [np.float32]
    for build in (lambda: mx.sym.sample_normal(a, b, shape=(2,)),
                  lambda: mx.sym.sample_gamma(a, b, shape=(2,))):
        ex = build().simple_bind(mx.cpu(), a=(2,), b=(2,), grad_req='write')
        ex.arg_dict['a'][:] = 1
        ex.arg_dict['b'][:] = 2
        ex.grad_dict['a'][:] = 7
        ex.forward(is_train=True)
        ex.backward(nd.ones((2, 2)))
        assert ex.grad_dict['a'].asnumpy().tolist() == [0, 0]      # MXNet 1.9.1: zeros
        assert ex.grad_dict['b'].asnumpy().tolist() == [0, 0]
    n = mx.sym.random.normal(mx.sym.var('m'), mx.sym.var('s'), shape=(2,))
    assert json.loads(n.tojson())['nodes'][-1]['op'] == '_sample_normal'      # as MXNet
    assert n.list_arguments() == ['m', 's']
    with pytest.raises(mx.base.MXNetError, match='all be Symbols or all numbers'):
        mx.sym.random.gamma(a, 1)
    node = json.loads(mx.sym.random.negative_binomial(2, 0.5, shape=(2,)).tojson())['nodes'][-1]
    assert node['attrs'] == {'k': '2', 'p': '0.5', 'shape': '(2,)'}          # MXNet 1.9.1's
    node = json.loads(mx.sym.random.exponential(2, shape=(2, 3)).tojson())['nodes'][-1]
    assert node['op'] == '_random_exponential' and node['attrs'] == {'lam': '0.5', 'shape': '(2, 3)'}


def test_multinomial():
    p = nd.array([[0.1, 0.2, 0.7], [0.5, 0.5, 0.0]])
    assert nd.random.multinomial(p).shape == (2,) and nd.random.multinomial(p).dtype == np.int32
    assert nd.random.multinomial(nd.array([0.3, 0.7])).shape == (1,)          # as MXNet
    assert nd.random.multinomial(nd.array([0.3, 0.7]), shape=(2, 3)).shape == (2, 3)
    assert nd.random.multinomial(p, dtype='uint8').dtype == np.uint8
    idx, logp = nd.random.multinomial(p.astype('float64'), shape=(4,), get_prob=True)
    assert idx.shape == logp.shape == (2, 4) and logp.dtype == np.float64
    np.testing.assert_allclose(logp.asnumpy(), np.log(p.asnumpy()[[[0], [1]], idx.asnumpy()]))
    # MXNet 1.9.1 walks the cumulative sums: [2, 2] always gives 0, [0, 0] gives K = 2
    assert set(nd.random.multinomial(nd.array([2.0, 2.0]), shape=(50,)).asnumpy()) == {0}
    assert set(nd.random.multinomial(nd.array([0.0, 0.0]), shape=(50,)).asnumpy()) == {2}
    mx.random.seed(2)
    draws = nd.random.multinomial(nd.array([0.2, 0.3, 0.5]), shape=(30000,)).asnumpy()
    np.testing.assert_allclose(np.bincount(draws) / 30000, [0.2, 0.3, 0.5], atol=0.015)
    sym = mx.sym.random.multinomial(mx.sym.var('d'))     # mx.sym.random: get_prob=True
    assert json.loads(sym.tojson())['nodes'][-1]['attrs'] == {'dtype': 'int32', 'get_prob': 'True'}
    with mx.name.NameManager():       # output names as MXNet 1.9.1 gives them
        assert mx.sym.random.multinomial(mx.sym.var('d')).list_outputs() == [
            '_sample_multinomial0_output0', '_sample_multinomial0_output1']
        assert mx.sym.sample_multinomial(mx.sym.var('d')).list_outputs() == [
            'sample_multinomial0_output']
    assert sym.infer_shape(d=(2, 3))[1] == [(2,), (2,)]
    assert sym.infer_type(d=np.float64)[1] == [np.int32, np.float64]


@pytest.mark.parametrize('req', ['write', 'add'])
def test_multinomial_log_prob_gradient(req):
    """d/dp log p[j] = 1 / p[j] at each sampled j, times the head gradient (MXNet 1.9.1)."""
    p = np.array([[0.1, 0.2, 0.7], [0.5, 0.5, 0.0]], dtype=np.float32)
    s = mx.sym.random.multinomial(mx.sym.var('d'), shape=(3,), get_prob=True)
    ex = s.simple_bind(mx.cpu(), d=(2, 3), grad_req=req)
    ex.arg_dict['d'][:] = p
    ex.grad_dict['d'][:] = 1
    idx = ex.forward(is_train=True)[0].asnumpy()
    head = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.float32)
    ex.backward([nd.ones((2, 3)), nd.array(head)])
    want = np.zeros((2, 3))
    for i in range(2):
        for j in range(3):
            want[i, idx[i, j]] += head[i, j] / p[i, idx[i, j]]
    want += 1 if req == 'add' else 0
    np.testing.assert_allclose(ex.grad_dict['d'].asnumpy(), want, rtol=1e-5)
    # (MXNet 1.9.1 gave exactly this rule: samples [[2, 2, 2], [1, 0, 1]] with this head
    # gradient -> [[0, 0, 8.571428], [10, 20, 0]], i.e. 6 / 0.7, 5 / 0.5, (4 + 6) / 0.5)
    noprob = mx.sym.sample_multinomial(mx.sym.var('d')).simple_bind(mx.cpu(), d=(2, 3))
    noprob.arg_dict['d'][:] = 0.3
    noprob.forward(is_train=True)
    noprob.backward(nd.ones((2,)))
    assert (noprob.grad_dict['d'].asnumpy() == 0).all()          # MXNet 1.9.1: zeros


def test_shuffle(ctx):
    x = nd.arange(40, ctx=ctx).reshape((10, 4))
    got = nd.random.shuffle(x).asnumpy()
    assert sorted(map(tuple, got)) == sorted(map(tuple, x.asnumpy()))
    assert not np.array_equal(got, x.asnumpy())
    assert nd.shuffle(nd.arange(5, dtype='int32', ctx=ctx)).dtype == np.int32
    assert nd.random.shuffle(nd.array([3.0], ctx)).asnumpy().tolist() == [3.0]
    sym = mx.sym.random.shuffle(mx.sym.var('d'))
    assert json.loads(sym.tojson())['nodes'][-1]['op'] == '_shuffle'
    assert sym.infer_shape(d=(4, 3))[1] == [(4, 3)]
    ex = sym.simple_bind(ctx, d=(4, 3))
    ex.forward(is_train=True)
    with pytest.raises(mx.base.MXNetError, match="_shuffle.*no gradient"):
        ex.backward(nd.ones((4, 3), ctx))          # MXNet 1.9.1: non-differentiable


# ----------------------------------------------------------------------------------------------
# ROIPooling
# ----------------------------------------------------------------------------------------------
def _roi_inputs():
    data = np.arange(2 * 2 * 6 * 8).reshape(2, 2, 6, 8)
    data = (data % 7 + data * 0.01).astype(np.float32)
    rois = np.array([[0, 0, 0, 7, 5], [1, 2.4, 1, 9, 6.6], [0, 3, 3, 3, 3], [1, -4, -4, 2, 2],
                     [0, 1, 1, 20, 20]], dtype=np.float32)
    return data, rois


def test_roi_pooling_matches_mxnet():
    data, rois = _roi_inputs()
    out = nd.ROIPooling(nd.array(data), nd.array(rois), pooled_size=(2, 3), spatial_scale=0.5)
    # printed by MXNet 1.9.1 for the same call (first channel of each roi)
    want = [[[2.09, 4.11, 5.12], [4.25, 6.27, 6.27]], [[3.14, 5.16, 6.17], [4.22, 6.24, 7.25]],
            [[4.18, 4.18, 4.18], [4.18, 4.18, 4.18]], [[0, 0, 0], [0, 7.04, 7.04]],
            [[6.41, 6.2, 5.47], [0, 0, 0]]]
    np.testing.assert_allclose(out.asnumpy()[:, 0], want, rtol=1e-5)
    np.testing.assert_allclose(out.asnumpy()[4, 1], [[6.9, 6.76, 4.95], [0, 0, 0]], rtol=1e-5)
    sym = mx.sym.ROIPooling(mx.sym.var('data'), mx.sym.var('rois'), pooled_size=(2, 3),
                            spatial_scale=0.5)
    ex = sym.bind(mx.cpu(), {'data': nd.array(data), 'rois': nd.array(rois)},
                  args_grad={'data': nd.zeros(data.shape), 'rois': nd.ones(rois.shape)})
    ex.forward(is_train=True)
    ex.backward(nd.array(np.arange(60).reshape(5, 2, 2, 3) + 1))
    g = ex.grad_dict['data'].asnumpy()
    # MXNet 1.9.1's data gradient (nonzero entries) and zero rois gradient
    want = {(0, 0, 1, 1): 1, (0, 0, 1, 3): 2, (0, 0, 1, 4): 3, (0, 0, 2, 2): 165, (0, 0, 2, 4): 50,
            (0, 0, 3, 1): 4, (0, 0, 3, 3): 11, (0, 0, 5, 1): 49, (0, 0, 5, 7): 51, (0, 1, 0, 0): 7,
            (0, 1, 1, 3): 8, (0, 1, 1, 4): 9, (0, 1, 2, 2): 201, (0, 1, 3, 1): 10, (0, 1, 3, 3): 11,
            (0, 1, 3, 4): 68, (0, 1, 5, 2): 55, (0, 1, 5, 7): 57, (1, 0, 1, 0): 83, (1, 0, 2, 2): 13,
            (1, 0, 2, 4): 14, (1, 0, 2, 5): 15, (1, 0, 3, 2): 16, (1, 0, 3, 4): 17, (1, 0, 3, 5): 18,
            (1, 1, 1, 0): 47, (1, 1, 1, 1): 67, (1, 1, 2, 4): 20, (1, 1, 2, 5): 21, (1, 1, 3, 2): 22,
            (1, 1, 3, 4): 23, (1, 1, 3, 5): 24}
    assert {tuple(int(i) for i in ix): g[tuple(ix)] for ix in np.argwhere(g)} == want
    assert (ex.grad_dict['rois'].asnumpy() == 0).all()


def test_roi_pooling_edges_and_errors():
    x = nd.array(np.arange(16.).reshape(1, 1, 4, 4))
    # corners rounded half away from zero (MXNet 1.9.1: 10 and 15)
    got = nd.ROIPooling(x, nd.array([[0, .5, .5, 1.5, 1.5], [0, 2.5, 2.5, 2.5, 2.5]]),
                        pooled_size=(1, 1), spatial_scale=1)
    assert got.asnumpy().ravel().tolist() == [10, 15]
    half = nd.ROIPooling(x.astype('float16'), nd.array([[0, 0, 0, 3, 3]], dtype='float16'),
                         pooled_size=(2, 2), spatial_scale=1)
    assert half.dtype == np.float16 and half.asnumpy().ravel().tolist() == [5, 7, 13, 15]
    # spatial_scale 0 (accepted by MXNet 1.9.1): every region is the pixel (0, 0)
    assert nd.ROIPooling(x, nd.array([[0, 1, 1, 3, 3]]), pooled_size=(1, 1),
                         spatial_scale=0).asnumpy().ravel().tolist() == [0]
    # a batch index outside the batch gives zeros
    got = nd.ROIPooling(x, nd.array([[5, 0, 0, 3, 3], [-1, 0, 0, 3, 3]]), pooled_size=(1, 1),
                        spatial_scale=1)
    assert (got.asnumpy() == 0).all()
    sym = mx.sym.ROIPooling(mx.sym.var('data'), mx.sym.var('rois'), pooled_size=(2, 2),
                            spatial_scale=0.5, name='r')
    assert json.loads(sym.tojson())['nodes'][-1]['attrs'] == {'pooled_size': '(2, 2)',
                                                              'spatial_scale': '0.5'}
    assert sym.list_outputs() == ['r_output']                       # maxidx is hidden
    assert sym.infer_shape(data=(2, 3, 6, 8), rois=(4, 5))[1] == [(4, 3, 2, 2)]
    assert sym.infer_type(data=np.float64, rois=np.float64)[1] == [np.float64]
    rois = nd.array([[0, 0, 0, 1, 1]])
    for call, message in [
            (lambda: nd.ROIPooling(nd.ones((2, 6, 8)), rois, pooled_size=(2, 2), spatial_scale=1),
             r'ROIPooling.*data must have 4 dimensions.*\(2, 6, 8\)'),
            (lambda: nd.ROIPooling(x, nd.ones((3, 4)), pooled_size=(2, 2), spatial_scale=1),
             r'ROIPooling.*rois.*\(num_rois, 5\).*\(3, 4\)'),
            (lambda: nd.ROIPooling(x, rois, pooled_size=(2,), spatial_scale=1), r'pooled_size'),
            (lambda: nd.ROIPooling(x, rois, pooled_size=(0, 2), spatial_scale=1), r'pooled_size'),
            (lambda: nd.ROIPooling(x, rois, pooled_size=(2, 2), spatial_scale=-1),
             r'spatial_scale.*\[0, 1\].*-1'),
            (lambda: nd.ROIPooling(x, rois, pooled_size=(2, 2)), r'spatial_scale'),
            (lambda: nd.ROIPooling(x.astype('float64'), rois, pooled_size=(1, 1), spatial_scale=1),
             r'ROIPooling.*rois.*float64.*float32')]:
        with pytest.raises(mx.base.MXNetError, match=message):
            call()


def test_roi_pooling_numeric_gradient():
    np.random.seed(0)
    data = np.random.uniform(-1, 1, size=(2, 2, 6, 7))          # no ties
    rois = np.array([[0, 0, 0, 6, 5], [1, 1.2, 0.6, 5.1, 4.2], [1, 2, 2, 3, 3]])
    sym = mx.sym.ROIPooling(mx.sym.var('data'), mx.sym.var('rois'), pooled_size=(2, 2),
                            spatial_scale=1)
    check_numeric_gradient(sym, {'data': data, 'rois': rois}, grad_nodes=['data'],
                           dtype=np.float64, rtol=1e-4, atol=1e-6)


def test_multinomial_needs_a_category_and_roi_pooling_finite_rois():
    with pytest.raises(MXNetValueError, match='at least one category on its last axis'):
        mx.nd.random.multinomial(mx.nd.zeros((2, 0)))
    with pytest.raises(MXNetValueError, match='rois must be finite, got .*nan.* in row 1'):
        mx.nd.ROIPooling(mx.nd.ones((1, 1, 4, 4)),
                         mx.nd.array([[0, 0, 0, 3, 3], [0, np.nan, 0, 3, 3]]),
                         pooled_size=(2, 2), spatial_scale=1.0)
