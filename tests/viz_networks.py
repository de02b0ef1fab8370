"""Networks drawn by tests/test_viz.py, written against MXNet's API so that the same builder
runs under mxref (the tests) and under MXNet 1.9.1 (tests/data/mxnet-viz/make_reference.py,
which recorded MXNet's output for each case).

Each builder takes the ``mx`` module and the fixtures folder and returns a Symbol.
"""
import os


def mlp(mx, fixtures):
    """The Module tutorial's MLP, as MXNet saved it."""
    return mx.sym.load(os.path.join(fixtures, 'mlp-symbol.json'))


def lenet(mx, fixtures):
    """LeNet as MXNet saved it (needs Convolution and Pooling)."""
    return mx.sym.load(os.path.join(fixtures, 'lenet-symbol.json'))


def abcd(mx, fixtures):
    """The Symbol tutorial's E = (A*B) + (C*D)."""
    A, B, C, D = (mx.sym.Variable(n) for n in 'ABCD')
    return (A * B) + (C * D)


def branches(mx, fixtures):
    """Normalisation, two activations, concat/flatten/reshape and two heads, without
    convolutions."""
    data = mx.sym.Variable('data')
    bn = mx.sym.BatchNorm(data, name='bn1')
    prelu = mx.sym.LeakyReLU(bn, act_type='prelu', name='prelu1')
    elu = mx.sym.LeakyReLU(bn, act_type='elu', name='elu1')
    cat = mx.sym.Concat(prelu, elu, dim=1, name='cat')
    flat = mx.sym.Flatten(cat, name='flat')
    reshaped = mx.sym.Reshape(flat, shape=(0, -1), name='resh')
    fc = mx.sym.FullyConnected(reshaped, num_hidden=10, no_bias=True, name='fc')
    out = mx.sym.SoftmaxOutput(fc, name='softmax')
    probs = mx.sym.BlockGrad(mx.sym.softmax(fc, name='sm'), name='probs')
    return mx.sym.Group([out, probs])


def split(mx, fixtures):
    """A multi-output operator feeding an addition."""
    parts = mx.sym.SliceChannel(mx.sym.Variable('data'), num_outputs=3, axis=1, name='split')
    return parts[0] + parts[2]


def embed(mx, fixtures):
    """Embedding then a FullyConnected on its 3-d output."""
    emb = mx.sym.Embedding(mx.sym.Variable('words'), input_dim=100, output_dim=16, name='embed')
    return mx.sym.FullyConnected(emb, num_hidden=3, name='fco')


def convnet(mx, fixtures):
    """Convolutions with stride/pad/no_bias/groups and the pooling variants (needs
    Convolution and Pooling)."""
    data = mx.sym.Variable('data')
    c1 = mx.sym.Convolution(data, kernel=(3, 3), stride=(2, 2), pad=(1, 1), num_filter=8,
                            name='conv1')
    a1 = mx.sym.Activation(c1, act_type='relu', name='relu1')
    p1 = mx.sym.Pooling(a1, kernel=(2, 2), stride=(2, 2), pool_type='avg', name='pool1')
    c2 = mx.sym.Convolution(data, kernel=(1, 1), num_filter=4, no_bias=True, name='conv2')
    p2 = mx.sym.Pooling(c2, kernel=(4, 4), stride=(4, 4), pool_type='max', name='pool2')
    c3 = mx.sym.Convolution(p1, kernel=(3, 3), pad=(1, 1), num_filter=4, num_group=2,
                            name='conv3')
    gp = mx.sym.Pooling(c3, global_pool=True, kernel=(1, 1), pool_type='max', name='gpool')
    cat = mx.sym.Concat(mx.sym.Flatten(gp, name='f1'), mx.sym.Flatten(p2, name='f2'),
                        name='cat')
    return mx.sym.SoftmaxOutput(mx.sym.FullyConnected(cat, num_hidden=5, name='fc'),
                                name='softmax')


def tanh(mx, fixtures):
    """One operator with an automatic name."""
    return mx.sym.Activation(mx.sym.Variable('x'), act_type='tanh')


NETWORKS = {f.__name__: f for f in (mlp, lenet, abcd, branches, split, embed, convnet, tanh)}

# operators a network needs beyond the core ones (its tests skip until they are registered)
NEEDS_OPERATORS = {'lenet': ('Convolution', 'Pooling'), 'convnet': ('Convolution', 'Pooling')}

# name, network, plot_network keyword arguments, print_summary keyword arguments
CASES = [
    {'name': 'mlp', 'network': 'mlp', 'plot': {'shape': {'data': (32, 16)}},
     'summary': {'shape': {'data': (32, 16)}}},
    {'name': 'mlp_noshape', 'network': 'mlp', 'plot': {}},
    {'name': 'lenet', 'network': 'lenet', 'plot': {'shape': {'data': (100, 1, 28, 28)}},
     'summary': {'shape': {'data': (100, 1, 28, 28)}}},
    {'name': 'abcd', 'network': 'abcd', 'plot': {'title': 'E', 'save_format': 'png'},
     'summary': {'shape': {'A': (2, 3), 'B': (2, 3), 'C': (2, 3), 'D': (2, 3)}}},
    {'name': 'abcd_types', 'network': 'abcd',
     'plot': {'shape': {'A': (2, 3), 'B': (2, 3), 'C': (2, 3), 'D': (2, 3)},
              'dtype': {'A': 'float32', 'B': 'float32', 'C': 'float32', 'D': 'float32'}}},
    {'name': 'branches', 'network': 'branches',
     'plot': {'shape': {'data': (2, 3, 4, 4)}, 'hide_weights': False},
     'summary': {'shape': {'data': (2, 3, 4, 4)}, 'line_length': 80,
                 'positions': [30, 50, 60, 80]}},
    {'name': 'branches_attrs', 'network': 'branches',
     'plot': {'node_attrs': {'shape': 'oval', 'fixedsize': 'false'}}},
    {'name': 'split', 'network': 'split', 'plot': {'shape': {'data': (2, 3, 16, 16)}}},
    {'name': 'embed', 'network': 'embed', 'plot': {'shape': {'words': (4, 7)}},
     'summary': {'shape': {'words': (4, 7)}}},
    {'name': 'convnet', 'network': 'convnet', 'plot': {'shape': {'data': (2, 3, 16, 16)}},
     'summary': {'shape': {'data': (2, 3, 16, 16)}}},
    {'name': 'tanh', 'network': 'tanh', 'plot': {}},
]
