"""``mx.viz``: draw a network (:func:`plot_network`) or print its layer table (:func:`print_summary`).

Both read the graph the way MXNet's ``mxnet.visualization`` does: from the symbol's JSON (one
entry per node, operators and variables in depth-first order) plus, when input shapes are
given, the shapes that shape inference assigns to every output.

The drawing is a :class:`graphviz.Digraph` (the ``graphviz`` Python package builds its DOT
source; Graphviz's ``dot`` program, installed separately, renders it).  It follows MXNet's
layout: one box per operator, coloured by operator family, one oval per input variable,
weights and biases hidden, and edges pointing from a layer's input to the layer (DOT draws the
inputs at the bottom), labelled with the tensor shape without its batch axis.

>>> import mxref as mx
>>> net = mx.sym.FullyConnected(mx.sym.Variable('data'), num_hidden=64, name='fc1')
>>> net = mx.sym.Activation(net, act_type='relu', name='relu1')
>>> mx.viz.print_summary(net, shape={'data': (32, 100)}, line_length=80)
... # doctest: +NORMALIZE_WHITESPACE
________________________________________________________________________________
Layer (type)                       Output Shape    Param # Previous Layer
================================================================================
data(null)                         100             0
________________________________________________________________________________
fc1(FullyConnected)                64              6464    data
________________________________________________________________________________
relu1(Activation)                  64              0       fc1
================================================================================
Total params: 6464
________________________________________________________________________________
"""
import functools
import json
import re
import warnings

import numpy as np

from .base import MXNetError, MXNetTypeError, MXNetValueError
from .operator import get as get_operator
from .symbol import Symbol

__all__ = ['plot_network', 'print_summary']

# MXNet's eight colours (ColorBrewer "Set3"), and the operator families that use them.
COLORS = ('#8dd3c7', '#fb8072', '#ffffb3', '#bebada', '#80b1d3', '#fdb462', '#b3de69', '#fccde5')
VARIABLE_COLOR = COLORS[0]
OTHER_COLOR = COLORS[7]
FAMILY_COLORS = {
    'Convolution': COLORS[1], 'FullyConnected': COLORS[1],      # layers with weights
    'Activation': COLORS[2], 'LeakyReLU': COLORS[2],            # nonlinearities
    'BatchNorm': COLORS[3],                                     # normalisation
    'Pooling': COLORS[4],                                       # pooling
    'Concat': COLORS[5], 'Flatten': COLORS[5], 'Reshape': COLORS[5],   # shape changes
    'Softmax': COLORS[6],
}

# Variables whose names end like this are parameters; plot_network hides them by default.
WEIGHT_SUFFIXES = ('_weight', '_bias', '_beta', '_gamma',
                   '_moving_var', '_moving_mean', '_running_var', '_running_mean')

# Arguments of an operator that are learned parameters when a variable feeds them
# (FullyConnected/Convolution weight and bias, BatchNorm/LayerNorm gamma and beta, PReLU gamma,
# Embedding weight, RNN parameters).  print_summary counts their sizes.
PARAMETER_ARGUMENTS = ('weight', 'bias', 'gamma', 'beta', 'parameters')

DEFAULT_NODE_ATTRS = {'shape': 'box', 'fixedsize': 'true', 'width': '1.3',
                      'height': '0.8034', 'style': 'filled'}

INSTALL_DOT = ("Graphviz's 'dot' program is needed to render the network and was not found on "
               "the PATH. Install Graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: "
               "brew install graphviz; conda: conda install graphviz) or use the DOT text in "
               "the returned graph's .source attribute.")


def _numbers(text):
    """The integers written in a shape attribute: ``'(5, 5)'`` -> ``['5', '5']``."""
    return re.findall(r'\d+', text)


def _shape_label(shape):
    """``(32, 20, 24, 24)`` -> ``'20x24x24'``: the shape without its batch axis."""
    return 'x'.join(str(d) for d in shape[1:])


# ----------------------------------------------------------------------------------------------
# the graph as plain data
# ----------------------------------------------------------------------------------------------
class _Graph:
    """The symbol's JSON nodes, with the name and the inferred shape/type of every entry."""

    def __init__(self, symbol, shape=None, dtype=None, caller='plot_network', partial=False):
        if not isinstance(symbol, Symbol):
            raise MXNetTypeError('%s: symbol must be an mx.sym.Symbol, got %s'
                                 % (caller, type(symbol).__name__))
        conf = json.loads(symbol.tojson())
        self.nodes = conf['nodes']
        self.shapes = self._infer(symbol, 'shape', shape, caller, partial)
        self.types = self._infer(symbol, 'type', dtype, caller, False)
        self._operators = {}

    @staticmethod
    def _infer(symbol, what, given, caller, partial):
        """``{output name: shape or dtype}`` over every internal output."""
        internals = symbol.get_internals()
        if given is None:
            if not partial:
                return None
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                _, outs, _ = internals.infer_shape_partial()
        else:
            if not isinstance(given, dict):
                raise MXNetTypeError('%s: %s must be a dict {input name: %s}, got %s'
                                     % (caller, what, what, type(given).__name__))
            infer = internals.infer_shape if what == 'shape' else internals.infer_type
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                _, outs, _ = infer(**given)
            if outs is None:
                raise MXNetValueError('Input %s is incomplete: %s could not infer every %s '
                                      'from %s' % (what, caller, what, given))
        # Partial inference writes unknown shapes as () or with 0 for unknown sizes.
        return {name: value for name, value in zip(internals.list_outputs(), outs)
                if value is not None and (what != 'shape' or (value and 0 not in value))}

    def operator(self, index):
        """The operator instance of node ``index`` (for its argument and output names)."""
        if index not in self._operators:
            node = self.nodes[index]
            self._operators[index] = get_operator(node['op'])(node.get('attrs', {}),
                                                              node['name'])
        return self._operators[index]

    def entry_name(self, entry):
        """The output name of an input entry ``[node, output index, version]``."""
        node = self.nodes[entry[0]]
        if node['op'] == 'null':
            return node['name']
        outputs = self.operator(entry[0]).list_outputs()
        return '%s_%s' % (node['name'], outputs[entry[1]])

    def shape_of(self, entry):
        return None if self.shapes is None else self.shapes.get(self.entry_name(entry))

    def type_of(self, entry):
        return None if self.types is None else self.types.get(self.entry_name(entry))


# ----------------------------------------------------------------------------------------------
# plot_network
# ----------------------------------------------------------------------------------------------
def _conv_label(attrs):
    stride = 'x'.join(_numbers(attrs['stride'])) if 'stride' in attrs else '1'
    return 'Convolution\n%s/%s, %s' % ('x'.join(_numbers(attrs['kernel'])), stride,
                                       attrs['num_filter'])


def _pool_label(attrs):
    kernel = 'x'.join(_numbers(attrs['kernel'])) if 'kernel' in attrs else '[]'
    stride = 'x'.join(_numbers(attrs['stride'])) if 'stride' in attrs else '1'
    return 'Pooling\n%s, %s/%s' % (attrs.get('pool_type', 'max'), kernel, stride)


# op name -> label from the node's attributes (string values, as in symbol JSON); other
# operators are labelled with the node name.
LABELS = {
    'Convolution': _conv_label,
    'FullyConnected': lambda attrs: 'FullyConnected\n%s' % attrs['num_hidden'],
    'Activation': lambda attrs: 'Activation\n%s' % attrs['act_type'],
    'LeakyReLU': lambda attrs: 'LeakyReLU\n%s' % attrs.get('act_type', 'leaky'),
    'Pooling': _pool_label,
    'Custom': lambda attrs: attrs['op_type'],
}


@functools.lru_cache(maxsize=None)
def _digraph_class():
    """``graphviz.Digraph`` whose rendering explains how to install ``dot`` when it is missing."""
    try:
        import graphviz
    except ImportError:
        raise ImportError("mx.viz.plot_network needs the graphviz Python package: "
                          "pip install graphviz (and Graphviz's dot program to render: "
                          "apt-get install graphviz)") from None

    class GraphvizNotFound(graphviz.ExecutableNotFound, MXNetError):
        """Graphviz's ``dot`` is not installed; the message says how to install it."""

        def __init__(self, args):               # pylint: disable=super-init-not-called
            RuntimeError.__init__(self, INSTALL_DOT + ' (tried to run %s)' % (args,))

    class Network(graphviz.Digraph):
        """A :class:`graphviz.Digraph` that names the missing program when it cannot render."""

        def pipe(self, *args, **kwargs):
            try:
                return super().pipe(*args, **kwargs)
            except graphviz.ExecutableNotFound as err:
                raise GraphvizNotFound(err.args) from None

        def render(self, *args, **kwargs):
            try:
                return super().render(*args, **kwargs)
            except graphviz.ExecutableNotFound as err:
                raise GraphvizNotFound(err.args) from None

    for cls in (Network, GraphvizNotFound):
        cls.__module__, cls.__qualname__ = __name__, cls.__name__
    return Network, GraphvizNotFound


def __getattr__(name):
    # The two classes above exist once the graphviz package is imported; reaching them as
    # mxref.visualization.Network (pickle does) builds them.
    if name in ('Network', 'GraphvizNotFound'):
        network, not_found = _digraph_class()
        return network if name == 'Network' else not_found
    raise AttributeError('module %r has no attribute %r' % (__name__, name))


def plot_network(symbol, title='plot', save_format='pdf', shape=None, dtype=None, node_attrs={},
                 hide_weights=True):
    """Draw the computation graph of ``symbol`` as a Graphviz digraph (MXNet's layout).

    Each operator is a box labelled with its type and main parameters (``FullyConnected\\n64``,
    ``Convolution\\n5x5/1x1, 20``, ``Activation\\nrelu``, ``Pooling\\nmax, 2x2/2x2``), other
    operators with their node name; each input variable is an oval.  Colours follow MXNet:
    variables ``#8dd3c7``; Convolution and FullyConnected ``#fb8072``; Activation and LeakyReLU
    ``#ffffb3``; BatchNorm ``#bebada``; Pooling ``#80b1d3``; Concat, Flatten and Reshape
    ``#fdb462``; everything else ``#fccde5``.

    Parameters
    ----------
    symbol : Symbol
        The network to draw (everything needed to compute its outputs).
    title : str, optional
        The graph's name (the DOT ``digraph`` name, and the file name when rendered).
    save_format : str, optional
        The format :meth:`graphviz.Digraph.render` writes: 'pdf', 'png', 'svg', ...
    shape : dict of str to tuple, optional
        Input shapes, e.g. ``{'data': (100, 1, 28, 28)}``.  When given, each edge is labelled
        with the shape of the tensor it carries, batch axis left out (``20x24x24``).
    dtype : dict of str to numpy type, optional
        Input types; when given, each edge label also names its type (``(float32)``).
    node_attrs : dict of str to str, optional
        Graphviz node attributes that replace the defaults (``shape='box'``,
        ``fixedsize='true'``, ``width='1.3'``, ``height='0.8034'``, ``style='filled'``), e.g.
        ``{'shape': 'oval', 'fixedsize': 'false'}``.
    hide_weights : bool, optional
        Leave out variables named ``*_weight``, ``*_bias``, ``*_gamma``, ``*_beta``,
        ``*_moving_mean``, ``*_moving_var`` (default).  With False they are drawn as plain
        ovals, as MXNet does.

    Returns
    -------
    graphviz.Digraph
        ``.source`` is the DOT text; ``.render()``, ``.view()`` and ``.pipe()`` need Graphviz's
        ``dot`` program.  Without it they raise an error that is both a
        ``graphviz.ExecutableNotFound`` and an ``mx.base.MXNetError`` and says how to install
        Graphviz (``apt-get install graphviz``).

    Examples
    --------
    >>> import mxref as mx
    >>> net = mx.sym.Variable('data')
    >>> net = mx.sym.FullyConnected(net, num_hidden=128, name='fc1')
    >>> net = mx.sym.Activation(net, act_type='relu', name='relu1')
    >>> net = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(net, num_hidden=10, name='fc2'),
    ...                            name='out')
    >>> dot = mx.viz.plot_network(net, shape={'data': (100, 200)})
    >>> print(dot.source)                                    # doctest: +NORMALIZE_WHITESPACE
    digraph plot {
        data [label=data fillcolor="#8dd3c7" fixedsize=true height=0.8034 shape=oval
              style=filled width=1.3]
        fc1 [label="FullyConnected
    128" fillcolor="#fb8072" fixedsize=true height=0.8034 shape=box style=filled width=1.3]
        relu1 [label="Activation
    relu" fillcolor="#ffffb3" fixedsize=true height=0.8034 shape=box style=filled width=1.3]
        fc2 [label="FullyConnected
    10" fillcolor="#fb8072" fixedsize=true height=0.8034 shape=box style=filled width=1.3]
        out_label [label=out_label fillcolor="#8dd3c7" fixedsize=true height=0.8034 shape=oval
                   style=filled width=1.3]
        out [label=out fillcolor="#fccde5" fixedsize=true height=0.8034 shape=box style=filled
             width=1.3]
        fc1 -> data [label=200 arrowtail=open dir=back]
        relu1 -> fc1 [label=128 arrowtail=open dir=back]
        fc2 -> relu1 [label=128 arrowtail=open dir=back]
        out -> fc2 [label=10 arrowtail=open dir=back]
        out -> out_label [label="" arrowtail=open dir=back]
    }

    ``dot.render()`` writes ``plot.pdf``; in a notebook the graph displays itself.
    """
    network_class, _ = _digraph_class()
    graph = _Graph(symbol, shape, dtype)
    names = [node['name'] for node in graph.nodes]
    if len(names) != len(set(names)):
        seen = set()
        repeated = sorted({n for n in names if n in seen or seen.add(n)})
        warnings.warn('There are multiple variables with the same name in your graph, this may '
                      'result in cyclic graph. Repeated names: ' + ','.join(repeated),
                      RuntimeWarning, stacklevel=2)

    base_attrs = dict(DEFAULT_NODE_ATTRS)
    base_attrs.update(node_attrs)
    dot = network_class(name=title, format=save_format)

    hidden = set()
    for node in graph.nodes:
        op, name = node['op'], node['name']
        attrs = dict(base_attrs)
        if op == 'null':
            if name.endswith(WEIGHT_SUFFIXES):
                # Hidden: no node and no edges.  Shown: no node statement either, so the edge
                # creates a plain default-styled oval, as in MXNet.
                if hide_weights:
                    hidden.add(name)
                continue
            attrs['shape'] = 'oval'
            attrs['fillcolor'] = VARIABLE_COLOR
            label = name
        else:
            attrs['fillcolor'] = FAMILY_COLORS.get(op, OTHER_COLOR)
            make_label = LABELS.get(op)
            label = make_label(node.get('attrs', {})) if make_label else name
        dot.node(name=name, label=label, **attrs)

    for node in graph.nodes:
        if node['op'] == 'null':
            continue
        for entry in node['inputs']:
            source = graph.nodes[entry[0]]['name']
            if source in hidden:
                continue
            label = ''
            if shape is not None:
                entry_shape = graph.shape_of(entry)
                label = _shape_label(entry_shape) if entry_shape is not None else ''
            if dtype is not None:
                entry_type = graph.type_of(entry)
                if entry_type is not None:
                    label += '(%s)' % np.dtype(entry_type).name
            # The edge runs from the layer to its input with dir=back: dot ranks inputs below
            # the layers that use them and draws the arrow head at the layer.
            dot.edge(tail_name=node['name'], head_name=source, label=label,
                     dir='back', arrowtail='open')
    return dot


# ----------------------------------------------------------------------------------------------
# print_summary
# ----------------------------------------------------------------------------------------------
def _print_row(fields, positions):
    """One table row: each field cut or padded to end at its column position."""
    line = ''
    for field, end in zip(fields, positions):
        line += str(field)
        line = line[:end]
        line += ' ' * (end - len(line))
    print(line)


def _layer_parameters(graph, index):
    """``[(variable name, size)]`` for the learned parameters node ``index`` reads."""
    node = graph.nodes[index]
    argument_names = graph.operator(index).list_arguments()
    found = []
    for arg_name, entry in zip(argument_names, node['inputs']):
        source = graph.nodes[entry[0]]
        if arg_name in PARAMETER_ARGUMENTS and source['op'] == 'null':
            known = graph.shape_of(entry)
            size = int(np.prod(known, dtype=np.int64)) if known is not None else 0
            found.append((source['name'], size))
    return found


def print_summary(symbol, shape=None, line_length=120, positions=[.44, .64, .74, 1.]):
    """Print MXNet's layer table of ``symbol``: each layer's output shape, parameter count and
    inputs, then the total number of parameters.

    Rows are the first input variable (the data) and every operator, in graph order; shapes
    leave out the batch axis.  A layer's parameters are the variables feeding its ``weight``,
    ``bias``, ``gamma``, ``beta`` (or RNN ``parameters``) inputs, counted from their inferred
    shapes: for Convolution, FullyConnected, BatchNorm and Embedding this gives MXNet's
    numbers.  Where MXNet's formula is wrong mxref prints the true count: a FullyConnected layer
    on an N-d input counts its whole flattened input (MXNet counts only axis 1), a PReLU layer
    counts its ``gamma``, and "Total params" counts a parameter shared by several layers once.

    Parameters
    ----------
    symbol : Symbol
        The network.
    shape : dict of str to tuple, optional
        Input shapes, e.g. ``{'data': (100, 1, 28, 28)}``; needed for output shapes and
        parameter counts (without it only shapes declared on variables are used).
    line_length : int, optional
        Width of the table in characters.
    positions : list of float or int, optional
        Where each of the four columns ends: fractions of ``line_length`` when the last is at
        most 1, otherwise character positions.

    Examples
    --------
    >>> import mxref as mx
    >>> a, b = mx.sym.Variable('a'), mx.sym.Variable('b')
    >>> net = mx.sym.elemwise_add(mx.sym.elemwise_mul(a, b, name='ab'), a, name='out')
    >>> mx.viz.print_summary(net, shape={'a': (4, 3), 'b': (4, 3)}, line_length=80)
    ... # doctest: +NORMALIZE_WHITESPACE
    ________________________________________________________________________________
    Layer (type)                       Output Shape    Param # Previous Layer
    ================================================================================
    a(null)                            3               0
    ________________________________________________________________________________
    ab(elemwise_mul)                   3               0       a
    ________________________________________________________________________________
    out(elemwise_add)                  3               0       ab
                                                               a
    ================================================================================
    Total params: 0
    ________________________________________________________________________________
    """
    graph = _Graph(symbol, shape, None, caller='print_summary', partial=True)
    if positions[-1] <= 1:
        positions = [int(line_length * p) for p in positions]
    nodes = graph.nodes
    print('_' * line_length)
    _print_row(['Layer (type)', 'Output Shape', 'Param #', 'Previous Layer'], positions)
    print('=' * line_length)

    counted = {}
    for index, node in enumerate(nodes):
        if node['op'] == 'null' and index > 0:
            continue
        out_shape = graph.shape_of([index, 0, 0])
        previous, params = [], []
        if node['op'] != 'null':
            # Previous layers: the operators feeding this one, and the data (first variable).
            previous = [nodes[e[0]]['name'] for e in node['inputs']
                        if nodes[e[0]]['op'] != 'null' or e[0] == 0]
            params = _layer_parameters(graph, index)
            counted.update(params)
        _print_row(['%s(%s)' % (node['name'], node['op']),
                    _shape_label(out_shape) if out_shape is not None else '',
                    sum(size for _, size in params),
                    previous[0] if previous else ''], positions)
        for name in previous[1:]:
            _print_row(['', '', '', name], positions)
        print(('=' if index == len(nodes) - 1 else '_') * line_length)
    print('Total params: {params}'.format(params=sum(counted.values())))
    print('_' * line_length)
