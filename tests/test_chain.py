"""``mx.sym.chain``: the same graph as the explicit composition, and clear errors."""
import json

import numpy as np
import pytest

import mxref as mx
from mxref.base import MXNetError


def _explicit_mlp():
    data = mx.sym.Variable('data')
    fc1 = mx.sym.FullyConnected(data, name='fc1', num_hidden=128)
    act1 = mx.sym.Activation(fc1, name='relu1', act_type='relu')
    fc2 = mx.sym.FullyConnected(act1, name='fc2', num_hidden=64)
    act2 = mx.sym.Activation(fc2, name='relu2', act_type='relu')
    fc3 = mx.sym.FullyConnected(act2, name='fc3', num_hidden=10)
    return mx.sym.SoftmaxOutput(fc3, name='softmax')


def _chained_mlp():
    return mx.sym.chain(
        mx.sym.Variable('data'),
        mx.sym.FullyConnected(name='fc1', num_hidden=128),
        mx.sym.Activation(name='relu1', act_type='relu'),
        mx.sym.FullyConnected(name='fc2', num_hidden=64),
        mx.sym.Activation(name='relu2', act_type='relu'),
        mx.sym.FullyConnected(name='fc3', num_hidden=10),
        mx.sym.SoftmaxOutput(name='softmax'))


def test_chain_builds_the_explicit_graph():
    explicit, chained = _explicit_mlp(), _chained_mlp()
    assert json.loads(chained.tojson()) == json.loads(explicit.tojson())
    assert chained.list_arguments() == ['data', 'fc1_weight', 'fc1_bias', 'fc2_weight',
                                        'fc2_bias', 'fc3_weight', 'fc3_bias', 'softmax_label']
    assert chained.infer_shape(data=(5, 784))[1] == [(5, 10)]


def test_chain_computes_the_same_outputs():
    explicit, chained = _explicit_mlp(), _chained_mlp()
    shapes = dict(zip(explicit.list_arguments(), explicit.infer_shape(data=(3, 784))[0]))
    values = {n: mx.nd.array(np.random.uniform(-0.1, 0.1, s)) for n, s in shapes.items()}
    out = [s.bind(mx.cpu(), values).forward()[0].asnumpy() for s in (explicit, chained)]
    np.testing.assert_array_equal(out[0], out[1])


def test_chain_with_unnamed_layers_and_functions():
    """LeNet's first block as in MXNet.jl: unnamed layers get automatic names, in order; a
    function of the previous symbol is a layer too."""
    mx.name.NameManager.current = mx.name.NameManager()
    data = mx.sym.Variable('data')
    block = mx.sym.chain(mx.sym.Convolution(data, kernel=(5, 5), num_filter=20),
                         mx.sym.Activation(act_type='tanh'),
                         mx.sym.Pooling(pool_type='max', kernel=(2, 2), stride=(2, 2)),
                         lambda x: mx.sym.Flatten(x, name='flat'))
    assert block.name == 'flat'
    names = [n['name'] for n in json.loads(block.tojson())['nodes']]
    assert names == ['data', 'convolution0_weight', 'convolution0_bias', 'convolution0',
                     'activation0', 'pooling0', 'flat']
    assert block.infer_shape(data=(2, 1, 28, 28))[1] == [(2, 20 * 12 * 12)]


def test_chain_of_one_is_the_symbol_itself():
    data = mx.sym.Variable('data')
    assert mx.sym.chain(data) is data


def test_chain_errors():
    data = mx.sym.Variable('data')
    with pytest.raises(MXNetError, match='first element must be a Symbol'):
        mx.sym.chain('data', mx.sym.Activation(act_type='relu'))
    with pytest.raises(MXNetError, match="already has its data input connected to 'x'"):
        mx.sym.chain(data, mx.sym.FullyConnected(mx.sym.Variable('x'), num_hidden=3))
    with pytest.raises(MXNetError, match='layer 1 .* is a variable'):
        mx.sym.chain(data, mx.sym.Variable('other'))
    with pytest.raises(MXNetError, match='layer 2 must be a Symbol or a function'):
        mx.sym.chain(data, mx.sym.Activation(act_type='relu'), 42)
    with pytest.raises(MXNetError, match='returned int, expected a Symbol'):
        mx.sym.chain(data, lambda x: 1)
