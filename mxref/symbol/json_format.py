"""Symbol JSON exactly as MXNet 1.x writes it (``-symbol.json``), and reading it back.

Content: ``nodes`` in depth-first post-order (each ``{"op", "name", "attrs"?, "inputs"}``),
``arg_nodes`` (ids of every variable), ``node_row_ptr`` (cumulative output counts, hidden
outputs included), ``heads`` and ``attrs`` with the writing version.

Layout, reproduced byte for byte from dmlc's JSON writer: nested scopes are indented by two
spaces; inside a multi-line scope every item but the last ends with ``", "`` and a newline;
objects are multi-line except string maps of at most one key; number lists are multi-line only
beyond 10 items; input entries ``[node, index, version]`` are always on one line; there is no
newline after the final ``}``.
"""
import json

from ..base import MXNetValueError
from ..operator import get as get_op
from .graph import Node, topo_order

__all__ = ['to_json', 'from_json', 'MXNET_VERSION']

MXNET_VERSION = 10901
HIDDEN_KEYS = ('ctx_group', 'lr_mult', 'wd_mult', 'force_mirroring', 'mirror_stage')


class _Writer:
    """dmlc::JSONWriter's whitespace rules."""

    def __init__(self):
        self.parts = []
        self.scopes = []                  # [multi_line, item_count]

    def _separator(self):
        if not self.scopes or self.scopes[-1][0]:
            self.parts.append('\n' + '  ' * len(self.scopes))

    def begin(self, bracket, multi_line):
        self.parts.append(bracket)
        self.scopes.append([multi_line, 0])

    def end(self, bracket):
        multi_line, count = self.scopes.pop()
        if multi_line and count:
            self._separator()
        self.parts.append(bracket)

    def key(self, name):
        scope = self.scopes[-1]
        if scope[1]:
            self.parts.append(', ')
        scope[1] += 1
        self._separator()
        self.parts.append('"%s": ' % name)

    def item(self):
        scope = self.scopes[-1]
        if scope[1]:
            self.parts.append(', ')
        scope[1] += 1
        self._separator()

    def raw(self, text):
        self.parts.append(text)

    def string(self, text):
        escaped = (text.replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n')
                   .replace('\r', '\\r').replace('\t', '\\t'))
        self.parts.append('"%s"' % escaped)

    def int_list(self, values):
        self.begin('[', len(values) > 10)
        for value in values:
            self.item()
            self.raw(str(value))
        self.end(']')

    def entry_list(self, entries):
        self.begin('[', len(entries) > 10)
        for entry in entries:
            self.item()
            self.raw('[%s]' % ', '.join(str(v) for v in entry))
        self.end(']')

    def string_map(self, mapping):
        self.begin('{', len(mapping) > 1)
        for key in sorted(mapping):
            self.key(key)
            self.string(mapping[key])
        self.end('}')

    def text(self):
        return ''.join(self.parts)


def to_json(heads):
    """The JSON text of the graph with the given head entries ``[(node, index), ...]``."""
    order = topo_order(heads)
    index = {id(node): i for i, node in enumerate(order)}
    row_ptr = [0]
    for node in order:
        row_ptr.append(row_ptr[-1] + node.num_outputs())
    w = _Writer()
    w.begin('{', True)
    w.key('nodes')
    w.begin('[', True)
    for node in order:
        w.item()
        w.begin('{', True)
        w.key('op')
        w.string('null' if node.op is None else node.op.op_name)
        w.key('name')
        w.string(node.name)
        if node.attrs:
            w.key('attrs')
            w.string_map(node.attrs)
        w.key('inputs')
        w.entry_list([(index[id(n)], i, v) for (n, i), v in zip(node.inputs, node.in_versions)])
        w.end('}')
    w.end(']')
    w.key('arg_nodes')
    w.int_list([i for i, node in enumerate(order) if node.op is None])
    w.key('node_row_ptr')
    w.int_list(row_ptr)
    w.key('heads')
    w.entry_list([(index[id(n)], i, n.version if n.op is None else 0) for n, i in heads])
    w.key('attrs')
    w.begin('{', False)
    w.key('mxnet_version')
    w.raw('["int", %d]' % MXNET_VERSION)
    w.end('}')
    w.end('}')
    return w.text()


def _fail(message):
    raise MXNetValueError('symbol JSON: %s' % message)


def _upgrade_hidden_keys(attrs):
    """Files older than 1.9.1 may store ``lr_mult`` where MXNet now writes ``__lr_mult__``."""
    for key in list(attrs):
        if key in HIDDEN_KEYS:
            attrs['__%s__' % key] = attrs.pop(key)
    return attrs


def from_json(text):
    """Parse symbol JSON (MXNet 0.8 and later) into head entries ``[(node, index), ...]``."""
    try:
        graph = json.loads(text)
    except ValueError as err:
        _fail('not valid JSON (%s)' % err)
    if not isinstance(graph, dict):
        _fail('expected an object at the top level')
    for field in ('nodes', 'heads'):
        if field not in graph:
            _fail("missing required field '%s'" % field)
    unknown = set(graph) - {'nodes', 'arg_nodes', 'heads', 'node_row_ptr', 'attrs'}
    if unknown:
        _fail('unknown field %s' % ', '.join(sorted(unknown)))
    version = graph.get('attrs', {}).get('mxnet_version', ['int', 800])[1]
    nodes = []
    for position, spec in enumerate(graph['nodes']):
        if not isinstance(spec, dict) or 'op' not in spec or 'name' not in spec:
            _fail('node %d must be an object with "op" and "name"' % position)
        attrs = {}
        for key in ('param', 'attr', 'attrs'):        # legacy files used "param"/"attr"
            for k, v in (spec.get(key) or {}).items():
                if key != 'param' or k not in attrs:
                    attrs[k] = str(v)
        if version < MXNET_VERSION:
            _upgrade_hidden_keys(attrs)
        inputs, versions = [], []
        for entry in spec.get('inputs', []):
            if not isinstance(entry, list) or len(entry) not in (2, 3):
                _fail("node '%s' has a malformed input %r" % (spec['name'], entry))
            source = entry[0]
            if not isinstance(source, int) or not 0 <= source < position:
                _fail("node '%s' refers to node %r, which does not come before it"
                      % (spec['name'], source))
            inputs.append((nodes[source], entry[1]))
            versions.append(entry[2] if len(entry) == 3 else 0)
        op_cls = None if spec['op'] == 'null' else get_op(spec['op'])
        node = Node(op_cls, spec['name'], attrs, inputs, versions)
        if op_cls is not None:
            _check_inputs(node, nodes)
        nodes.append(node)
    heads = []
    for entry in graph['heads']:
        if not isinstance(entry, list) or len(entry) not in (2, 3) or not \
                0 <= entry[0] < len(nodes):
            _fail('malformed head %r' % (entry,))
        heads.append((nodes[entry[0]], entry[1]))
    _restore_versions(heads)
    return heads


def _check_inputs(node, nodes):
    """Validate an operator node; pre-0.9 files left out auxiliary states: add them."""
    op = node.operator()
    expected = op.list_arguments() + op.list_auxiliary_states()
    if len(node.inputs) < len(expected):
        for name in expected[len(node.inputs):]:
            variable = Node(None, '%s_%s' % (node.name, name), dict(node.attrs))
            node.inputs.append((variable, 0))
            node.in_versions.append(0)
    elif len(node.inputs) > len(expected):
        _fail("node '%s' (%s) has %d inputs, the operator takes %d (%s)"
              % (node.name, node.op.op_name, len(node.inputs), len(expected),
                 ', '.join(expected)))
    for (source, index), name in zip(node.inputs, expected):
        if index >= source.num_outputs():
            _fail("node '%s' input '%s' refers to output %d of '%s', which has %d"
                  % (node.name, name, index, source.name, source.num_outputs()))


def _restore_versions(heads):
    """Variables' mutation counters from the versions their users recorded."""
    for node in topo_order(heads):
        for (source, _), version in zip(node.inputs, node.in_versions):
            if source.op is None:
                source.version = max(source.version, version)
