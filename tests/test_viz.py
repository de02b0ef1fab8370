"""mx.viz against what MXNet 1.9.1 draws and prints for the same networks.

The reference files in tests/data/mxnet-viz were written by MXNet 1.9.1 itself
(tests/data/mxnet-viz/make_reference.py, from the builders in tests/viz_networks.py).  DOT
sources are compared as parsed statements (node names, labels, attributes; edges with their
labels), so the formatting of a given graphviz package version does not matter.  Rendering
is checked where Graphviz's ``dot`` is installed.
"""
import os
import re
import shutil

import numpy as np
import pytest

import mxref as mx
from mxref import visualization
from viz_networks import NETWORKS, CASES, NEEDS_OPERATORS

graphviz = pytest.importorskip('graphviz')

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.path.join(HERE, 'data', 'mxnet-viz')
FIXTURES = os.path.join(HERE, '..', '..', 'shared', 'fixtures', 'mxnet-1.9.1')
CASES_BY_NAME = {case['name']: case for case in CASES}
NEEDS_FIXTURES = {'mlp', 'lenet'}

needs_dot = pytest.mark.skipif(shutil.which('dot') is None,
                               reason="Graphviz's dot is not installed (apt-get install graphviz)")

# Where mxref deliberately prints another number than MXNet 1.9.1 (see print_summary's
# docstring): (case, MXNet's text, mxref's text).
SUMMARY_CORRECTIONS = {
    # PReLU's gamma (one per channel) is a learned parameter; MXNet counts 0.
    'branches': [('prelu1(LeakyReLU)             3x4x4               0 ',
                  'prelu1(LeakyReLU)             3x4x4               3 '),
                 ('Total params: 966', 'Total params: 969')],
    # FullyConnected on a (7, 16) input has 7*16*3 weights + 3 biases; MXNet counts (7+1)*3.
    'embed': [('fco(FullyConnected)                                 3                       24  ',
               'fco(FullyConnected)                                 3                       339 '),
              ('Total params: 1624', 'Total params: 1939')],
}

_ATTR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^\s\]]+)')
_STATEMENT = re.compile(r'^\t(?:"((?:[^"\\]|\\.)*)"|(\w+))(?: -> (?:"((?:[^"\\]|\\.)*)"|(\w+)))?'
                        r'(?: \[(.*?)\])?$', re.S | re.M)


def parse_dot(source):
    """``(title, nodes, edges)``: nodes ``{name: {attr: value}}`` in order, edges a list of
    ``(tail, head, {attr: value})``, all quotes removed."""
    title = re.match(r'digraph (\S+) \{', source).group(1)
    # split into statements: every statement starts on a line beginning with a tab
    body = source[source.index('{') + 1:source.rindex('}')]
    statements = re.split(r'\n(?=\t)', body.strip('\n'))
    nodes, edges = {}, []
    for statement in statements:
        match = _STATEMENT.match(statement)
        assert match, 'cannot parse DOT statement %r' % statement
        tail = match.group(1) or match.group(2)
        head = match.group(3) or match.group(4)
        attrs = {key: value[1:-1] if value.startswith('"') else value
                 for key, value in _ATTR.findall(match.group(5) or '')}
        if head is None:
            nodes[tail] = attrs
        else:
            edges.append((tail, head, attrs))
    return title.strip('"'), nodes, edges


def reference(name, kind):
    with open(os.path.join(REFERENCE, '%s.%s' % (name, kind))) as f:
        return f.read()


def build(name):
    """The network of case ``name``, with automatic names counted from 0 as in the reference."""
    network = CASES_BY_NAME[name]['network']
    if network in NEEDS_FIXTURES and not os.path.isdir(FIXTURES):
        pytest.skip('MXNet 1.9.1 fixtures not found at %s' % FIXTURES)
    missing = [op for op in NEEDS_OPERATORS.get(network, ())
               if op not in mx.operator.registered_names()]
    if missing:
        pytest.skip('%s needs %s, not registered yet' % (network, ', '.join(missing)))
    with mx.name.NameManager():
        return NETWORKS[network](mx, FIXTURES)


def plot_kwargs(name):
    kwargs = dict(CASES_BY_NAME[name].get('plot', {}))
    if 'dtype' in kwargs:
        kwargs['dtype'] = {k: np.dtype(v).type for k, v in kwargs['dtype'].items()}
    return kwargs


# ----------------------------------------------------------------------------------------------
# plot_network
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize('name', [case['name'] for case in CASES])
def test_plot_network_matches_mxnet(name):
    dot = mx.viz.plot_network(build(name), **plot_kwargs(name))
    assert isinstance(dot, graphviz.Digraph)
    expected = parse_dot(reference(name, 'dot'))
    got = parse_dot(dot.source)
    assert got[0] == expected[0]                                     # title
    assert list(got[1].items()) == list(expected[1].items())         # nodes, in order
    assert got[2] == expected[2]                                     # edges, in order
    assert dot.format == CASES_BY_NAME[name]['plot'].get('save_format', 'pdf')


def test_plot_network_labels_and_colours():
    data = mx.sym.Variable('data')
    net = mx.sym.FullyConnected(data, num_hidden=64, name='fc1')
    net = mx.sym.Activation(net, act_type='relu', name='relu1')
    net = mx.sym.LeakyReLU(net, name='leaky1')
    net = mx.sym.BatchNorm(net, name='bn1')
    net = mx.sym.Reshape(net, shape=(0, 8, 8), name='r')
    net = mx.sym.exp(net, name='e')
    _, nodes, edges = parse_dot(mx.viz.plot_network(net).source)
    assert list(nodes) == ['data', 'fc1', 'relu1', 'leaky1', 'bn1', 'r', 'e']
    assert nodes['data']['shape'] == 'oval' and nodes['data']['fillcolor'] == '#8dd3c7'
    assert nodes['fc1']['label'] == 'FullyConnected\n64'
    assert nodes['fc1']['fillcolor'] == '#fb8072' and nodes['fc1']['shape'] == 'box'
    assert nodes['relu1']['label'] == 'Activation\nrelu'
    assert nodes['relu1']['fillcolor'] == '#ffffb3'
    assert nodes['leaky1']['label'] == 'LeakyReLU\nleaky'     # act_type left to its default
    assert nodes['bn1']['label'] == 'bn1' and nodes['bn1']['fillcolor'] == '#bebada'
    assert nodes['r']['fillcolor'] == '#fdb462'
    assert nodes['e']['label'] == 'e' and nodes['e']['fillcolor'] == '#fccde5'
    # weights, biases, gamma/beta and moving statistics are hidden, with their edges
    assert all(not n.endswith(('_weight', '_bias', '_gamma', '_beta', '_mean', '_var'))
               for edge in edges for n in edge[:2])
    assert [(t, h) for t, h, _ in edges] == [('fc1', 'data'), ('relu1', 'fc1'),
                                             ('leaky1', 'relu1'), ('bn1', 'leaky1'),
                                             ('r', 'bn1'), ('e', 'r')]
    assert all(a == {'label': '', 'arrowtail': 'open', 'dir': 'back'} for _, _, a in edges)


def test_plot_network_conv_and_pool_labels():
    """Labels from the JSON attributes alone (no Convolution operator needed to draw)."""
    if 'Convolution' not in mx.operator.registered_names():
        pytest.skip('Convolution/Pooling have not landed yet')
    data = mx.sym.Variable('data')
    conv = mx.sym.Convolution(data, kernel=(5, 5), stride=(1, 1), num_filter=20, name='c1')
    conv2 = mx.sym.Convolution(conv, kernel=(3, 3), num_filter=7, name='c2')
    pool = mx.sym.Pooling(conv2, kernel=(2, 2), stride=(2, 2), pool_type='max', name='p')
    _, nodes, _ = parse_dot(mx.viz.plot_network(pool).source)
    assert nodes['c1']['label'] == 'Convolution\n5x5/1x1, 20'
    assert nodes['c2']['label'] == 'Convolution\n3x3/1, 7'           # no stride given
    assert nodes['p']['label'] == 'Pooling\nmax, 2x2/2x2'
    assert nodes['p']['fillcolor'] == '#80b1d3'


def test_labels_and_colours_from_mxnet_json_attributes(fixtures_dir):
    """Labels and colours come from the JSON attributes alone: check them on LeNet's JSON as
    MXNet wrote it, against MXNet's drawing, even before Convolution/Pooling are registered."""
    import json
    with open(os.path.join(fixtures_dir, 'lenet-symbol.json')) as f:
        nodes = json.load(f)['nodes']
    _, expected, _ = parse_dot(reference('lenet', 'dot'))
    checked = 0
    for node in nodes:
        if node['op'] == 'null':
            continue
        make_label = visualization.LABELS.get(node['op'])
        label = make_label(node.get('attrs', {})) if make_label else node['name']
        assert label == expected[node['name']]['label'], node['name']
        colour = visualization.FAMILY_COLORS.get(node['op'], visualization.OTHER_COLOR)
        assert colour == expected[node['name']]['fillcolor'], node['name']
        checked += 1
    assert checked == 11          # 2 x (conv, tanh, pool), flatten, fc, tanh, fc, softmax


def test_plot_network_shapes_on_edges_use_the_right_output():
    """Edges from a multi-output operator carry the shape of the output they use."""
    data = mx.sym.Variable('data')
    parts = mx.sym.SliceChannel(data, num_outputs=2, axis=1, name='split')
    net = mx.sym.Concat(mx.sym.FullyConnected(parts[1], num_hidden=3, name='fc'),
                        mx.sym.sum(parts[0], axis=2, name='s'), dim=1, name='cat')
    _, _, edges = parse_dot(mx.viz.plot_network(net, shape={'data': (5, 4, 6)}).source)
    labels = {(t, h): a['label'] for t, h, a in edges}
    assert labels == {('split', 'data'): '4x6', ('fc', 'split'): '2x6', ('s', 'split'): '2x6',
                      ('cat', 'fc'): '3', ('cat', 's'): '2'}


def test_plot_network_types_without_shapes():
    a = mx.sym.Variable('a')
    net = mx.sym.Cast(a, dtype='float16', name='c') * 2
    _, _, edges = parse_dot(mx.viz.plot_network(net, dtype={'a': np.float64}).source)
    assert [e[2]['label'] for e in edges] == ['(float64)', '(float16)']


def test_plot_network_node_attrs_override_defaults():
    net = mx.sym.Activation(mx.sym.Variable('x'), act_type='tanh', name='t')
    _, nodes, _ = parse_dot(mx.viz.plot_network(
        net, node_attrs={'shape': 'ellipse', 'fixedsize': 'false', 'fontsize': '9'}).source)
    assert nodes['t'] == {'label': 'Activation\ntanh', 'fillcolor': '#ffffb3',
                          'fixedsize': 'false', 'fontsize': '9', 'height': '0.8034',
                          'shape': 'ellipse', 'style': 'filled', 'width': '1.3'}
    assert nodes['x']['shape'] == 'oval'            # variables are always ovals


def test_plot_network_warns_on_repeated_names():
    net = mx.sym.Variable('x') + mx.sym.Variable('x')
    with pytest.warns(RuntimeWarning, match='Repeated names: x'):
        mx.viz.plot_network(net)


def test_plot_network_errors():
    with pytest.raises(mx.base.MXNetTypeError, match='must be an mx.sym.Symbol'):
        mx.viz.plot_network(mx.nd.ones((2,)))
    net = mx.sym.dot(mx.sym.Variable('a'), mx.sym.Variable('b'))
    with pytest.raises(mx.base.MXNetValueError, match='Input shape is incomplete'):
        mx.viz.plot_network(net, shape={'a': (2, 3)})
    with pytest.raises(mx.base.MXNetTypeError, match='shape must be a dict'):
        mx.viz.plot_network(net, shape=(2, 3))


def test_plot_network_without_the_graphviz_package(monkeypatch):
    visualization._digraph_class.cache_clear()
    monkeypatch.setitem(__import__('sys').modules, 'graphviz', None)
    try:
        with pytest.raises(ImportError, match='pip install graphviz'):
            mx.viz.plot_network(mx.sym.Variable('x') * 2)
    finally:
        visualization._digraph_class.cache_clear()


# ----------------------------------------------------------------------------------------------
# rendering
# ----------------------------------------------------------------------------------------------
MAGIC = {'pdf': b'%PDF', 'png': b'\x89PNG', 'svg': b'<?xml'}


@needs_dot
@pytest.mark.parametrize('fmt', sorted(MAGIC))
def test_render_writes_the_format(tmp_path, fmt):
    net = NETWORKS['abcd'](mx, FIXTURES)
    dot = mx.viz.plot_network(net, title='abcd', save_format=fmt)
    path = dot.render(directory=str(tmp_path))
    assert path.endswith('abcd.gv.' + fmt)
    with open(path, 'rb') as f:
        assert f.read(5).startswith(MAGIC[fmt])


@needs_dot
def test_svg_shows_labels_and_edges():
    net = mx.sym.FullyConnected(mx.sym.Variable('data'), num_hidden=64, name='fc1')
    svg = mx.viz.plot_network(net, shape={'data': (8, 100)}).pipe(format='svg').decode()
    assert '>FullyConnected</text>' in svg and '>64</text>' in svg
    assert '>100</text>' in svg                               # the edge label
    assert svg.count('class="node"') == 2 and svg.count('class="edge"') == 1


def test_render_without_dot_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv('PATH', str(tmp_path))                 # no dot here
    dot = mx.viz.plot_network(mx.sym.Variable('x') * 2)
    for render in (lambda: dot.render(directory=str(tmp_path)),
                   lambda: dot.pipe(format='svg')):
        with pytest.raises(graphviz.ExecutableNotFound, match='apt-get install graphviz') as err:
            render()
        assert isinstance(err.value, mx.base.MXNetError)


# ----------------------------------------------------------------------------------------------
# print_summary
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize('name', [case['name'] for case in CASES if 'summary' in case])
def test_print_summary_matches_mxnet(name, capsys):
    expected = reference(name, 'summary.txt')
    for mxnet_text, mxref_text in SUMMARY_CORRECTIONS.get(name, []):
        assert mxnet_text in expected
        expected = expected.replace(mxnet_text, mxref_text)
    mx.viz.print_summary(build(name), **CASES_BY_NAME[name]['summary'])
    assert capsys.readouterr().out == expected


def test_print_summary_counts_shared_parameters_once(capsys):
    data = mx.sym.Variable('data')
    weight = mx.sym.Variable('shared_weight')
    h = mx.sym.FullyConnected(data, weight=weight, num_hidden=4, no_bias=True, name='l1')
    h = mx.sym.FullyConnected(h, weight=weight, num_hidden=4, no_bias=True, name='l2')
    mx.viz.print_summary(h, shape={'data': (2, 4)}, line_length=80)
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[2] for line in out if line.startswith('l')] == ['16', '16']
    assert 'Total params: 16' in out


def test_print_summary_without_shapes_uses_declared_ones(capsys):
    data = mx.sym.Variable('data', shape=(5, 7))
    mx.viz.print_summary(mx.sym.FullyConnected(data, num_hidden=3, name='fc'), line_length=80)
    out = capsys.readouterr().out.splitlines()
    assert out[3].split() == ['data(null)', '7', '0']
    assert out[5].split() == ['fc(FullyConnected)', '3', '24', 'data']
    mx.viz.print_summary(mx.sym.FullyConnected(mx.sym.Variable('x'), num_hidden=3, name='fc'))
    out = capsys.readouterr().out.splitlines()
    assert out[5].split() == ['fc(FullyConnected)', '0', 'x']
    assert out[-2] == 'Total params: 0'


def test_print_summary_errors():
    with pytest.raises(mx.base.MXNetTypeError, match='print_summary: symbol must be'):
        mx.viz.print_summary('net')
    with pytest.raises(mx.base.MXNetValueError, match='Input shape is incomplete'):
        mx.viz.print_summary(mx.sym.dot(mx.sym.Variable('a'), mx.sym.Variable('b')),
                             shape={'a': (1, 2)})


def test_plot_network_result_is_a_picklable_digraph():
    import pickle
    dot = mx.viz.plot_network(mx.sym.Variable('x') * 2, title='t')
    assert type(dot) is mx.viz.Network and isinstance(dot, graphviz.Digraph)
    assert issubclass(mx.viz.GraphvizNotFound, (graphviz.ExecutableNotFound, mx.base.MXNetError))
    again = pickle.loads(pickle.dumps(dot))
    assert again.source == dot.source and again.format == 'pdf'
