"""The computation graph under a Symbol: nodes, topological order, shape/type inference.

A :class:`Node` is either a variable (``op is None``) or one operator application whose
``inputs`` are ``(node, output_index)`` pairs.  A graph is identified by its head entries;
:func:`topo_order` lists every node reachable from them, inputs before users, in the order
MXNet (nnvm's depth-first post-order) lists them: this order is the node order of symbol JSON.
"""
import numpy as np

from ..base import DTYPE_OF_FLAG, MXNetValueError, MXNetError
from ..operator import get as get_op
from ..operator.base import shape_str
from ..operator.params import Param

__all__ = ['Node', 'topo_order', 'infer_shapes', 'infer_types', 'parse_shape_attr']


class Node:
    """One variable or operator application in a symbol graph."""
    __slots__ = ('op', 'name', 'attrs', 'inputs', 'in_versions', 'version', '_operator')

    def __init__(self, op, name, attrs=None, inputs=(), in_versions=None):
        self.op = op                 # operator class, or None for a variable
        self.name = name
        self.attrs = dict(attrs or {})
        self.inputs = list(inputs)   # [(Node, output index)]
        # nnvm's entry versions: a variable's version counts the operators that mutate it
        # (auxiliary states); JSON records the version each input saw.
        self.in_versions = list(in_versions) if in_versions else [0] * len(self.inputs)
        self.version = 0
        self._operator = None

    @property
    def is_variable(self):
        return self.op is None

    def operator(self):
        """The operator instance for this node's attributes (made once)."""
        if self._operator is None:
            self._operator = self.op(self.attrs, self.name)
        return self._operator

    def set_attr(self, key, value):
        self.attrs[key] = value
        self._operator = None

    def num_outputs(self):
        """All outputs, hidden ones included (what ``node_row_ptr`` counts)."""
        return 1 if self.op is None else len(self.operator().list_outputs())

    def num_visible_outputs(self):
        return 1 if self.op is None else self.operator().num_visible_outputs()

    def output_name(self, index):
        if self.op is None:
            return self.name
        return '%s_%s' % (self.name, self.operator().list_outputs()[index])

    def num_arguments(self):
        """How many inputs are arguments; the remaining inputs are auxiliary states."""
        return len(self.operator().list_arguments())

    def __repr__(self):
        return '<Node %s %r>' % ('null' if self.op is None else self.op.op_name, self.name)


def topo_order(heads):
    """Every node reachable from the head entries, each after its inputs (depth first,
    inputs visited in order, as nnvm does)."""
    order, seen = [], set()
    for head, _ in heads:
        if id(head) in seen:
            continue
        stack = [(head, 0)]
        seen.add(id(head))
        while stack:
            node, next_input = stack[-1]
            if next_input < len(node.inputs):
                stack[-1] = (node, next_input + 1)
                child = node.inputs[next_input][0]
                if id(child) not in seen:
                    seen.add(id(child))
                    stack.append((child, 0))
            else:
                stack.pop()
                order.append(node)
    return order


def aux_variable_ids(order):
    """ids of the variable nodes used as auxiliary states (e.g. BatchNorm's moving_mean)."""
    aux = set()
    for node in order:
        if node.op is not None:
            for child, _ in node.inputs[node.num_arguments():]:
                aux.add(id(child))
    return aux


_SHAPE_PARAM = Param('__shape__', 'shape')


def parse_shape_attr(text):
    """A variable's ``__shape__`` attribute as a tuple (0 marks an unknown dimension), or None."""
    if text is None:
        return None
    shape = _SHAPE_PARAM.parse(text)
    return shape if shape else None


def shape_is_complete(shape):
    """A shape is known when it has dimensions and no 0 (MXNet's mark of an unknown one);
    ``()`` is how MXNet reports a wholly unknown shape."""
    return bool(shape) and 0 not in shape


def merge_shapes(old, new):
    """Combine two partial shapes (0 = unknown dimension); None when they contradict."""
    if old is None or new is None:
        return new if old is None else old
    if len(old) != len(new):
        return None
    merged = []
    for a, b in zip(old, new):
        if a and b and a != b:
            return None
        merged.append(a or b)
    return tuple(merged)


def _merge_types(old, new):
    if old is None or new is None:
        return new if old is None else old
    return old if np.dtype(old) == np.dtype(new) else None


_RULES = {'shape': (shape_is_complete, merge_shapes),
          'type': (lambda t: t is not None, _merge_types)}


def _propagate(order, entry_values, infer, what):
    """Run ``infer(op, inputs) -> (inputs, outputs, aux)`` over the graph until nothing new
    is learned.  ``entry_values`` maps (id(node), index) to a value (None: unknown; shapes
    may be partial).  Operators see only complete values; what they deduce is merged in, and
    operators whose outputs are known may deduce their inputs backwards."""
    complete, merge = _RULES[what]
    for _ in range(len(order) + 1):
        changed = False
        for node in order:
            if node.op is None:
                continue
            op = node.operator()
            n_args = len(op.list_arguments())
            arg_entries = [(id(n), i) for n, i in node.inputs[:n_args]]
            aux_entries = [(id(n), i) for n, i in node.inputs[n_args:]]
            out_entries = [(id(node), i) for i in range(node.num_outputs())]
            raw_in = [entry_values.get(e) for e in arg_entries]
            known_out = [entry_values.get(e) for e in out_entries]
            if all(complete(v) for v in raw_in) and all(
                    complete(entry_values.get(e)) for e in out_entries + aux_entries):
                continue
            new_in, new_out, new_aux = infer(op, [v if complete(v) else None for v in raw_in])
            new_in = [n if n is not None else r for n, r in zip(new_in, raw_in)]
            if not all(complete(v) for v in new_in) and all(complete(v) for v in known_out):
                new_in = op.infer_backward(what, list(new_in), known_out)
            for entries, values in ((arg_entries, new_in), (out_entries, new_out),
                                    (aux_entries, new_aux or [])):
                for entry, value in zip(entries, values):
                    if value is None:
                        continue
                    old = entry_values.get(entry)
                    merged = merge(old, value)
                    if merged is None:
                        op.fail('%s %s conflicts with %s inferred elsewhere'
                                % (what, old, value))
                    if old is None or merged != old:       # (a dtype equals None: float64)
                        entry_values[entry] = merged
                        changed = True
        if not changed:
            break
    return entry_values


def infer_shapes(order, known):
    """Shapes of every entry, from ``known`` {variable name: shape} and ``__shape__`` hints.

    Returns a dict (id(node), output index) -> shape tuple (absent where unknown; a 0 marks a
    dimension that could not be decided).
    """
    values = {}
    for node in order:
        if node.op is None:
            shape = known.get(node.name)
            if shape is None:
                shape = parse_shape_attr(node.attrs.get('__shape__'))
            if shape is not None:
                values[(id(node), 0)] = tuple(int(d) for d in shape)

    def infer(op, in_shapes):
        in_shapes, out_shapes, aux_shapes = op.infer_shape(list(in_shapes))
        fix = lambda shapes: [None if s is None else tuple(int(d) for d in s) for s in shapes]
        return fix(in_shapes), fix(out_shapes), fix(aux_shapes)

    return _propagate(order, values, infer, 'shape')



def dtype_attr(text):
    """A variable's ``__dtype__`` attribute (MXNet's type flag, e.g. '0') as a NumPy dtype."""
    if text is None:
        return None
    try:
        return DTYPE_OF_FLAG[int(text)]
    except (KeyError, ValueError):
        try:
            return np.dtype(text)
        except TypeError:
            raise MXNetValueError('unknown __dtype__ attribute %r' % text) from None


def infer_types(order, known):
    """Types of every entry, from ``known`` {variable name: dtype} and ``__dtype__`` hints;
    float32 where nothing says otherwise."""
    values = {}
    for node in order:
        if node.op is None:
            dtype = known.get(node.name)
            if dtype is None:
                dtype = dtype_attr(node.attrs.get('__dtype__'))
            if dtype is not None:
                values[(id(node), 0)] = np.dtype(dtype)

    def infer(op, in_types):
        in_types, out_types, aux_types = op.infer_type(list(in_types))
        fix = lambda types: [None if t is None else np.dtype(t) for t in types]
        return fix(in_types), fix(out_types), fix(aux_types)

    return _propagate(order, values, infer, 'type')
