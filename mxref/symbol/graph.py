"""The computation graph under a Symbol: nodes, topological order, shape/type inference.

A :class:`Node` is either a variable (``op is None``) or one operator application whose
``inputs`` are ``(node, output_index)`` pairs.  A graph is identified by its head entries;
:func:`topo_order` lists every node reachable from them, inputs before users, in the order
MXNet (nnvm's depth-first post-order) lists them: this order is the node order of symbol JSON.
"""
import numpy as np

from ..base import DTYPE_OF_FLAG, MXNetValueError, MXNetError
from ..operator import get as get_op
from ..operator.base import shape_str, EmptyShape, shape_is_complete, merge_shapes, known_shape
from ..operator.params import Param

__all__ = ['Node', 'topo_order', 'infer_shapes', 'infer_types', 'parse_shape_attr',
           'shape_is_complete', 'EmptyShape']


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


def _merge_types(old, new, op, name):
    if old is None or new is None:
        return new if old is None else old
    if np.dtype(old) != np.dtype(new):
        op.fail('%s has type %s, which contradicts %s inferred elsewhere'
                % (name, np.dtype(old).name, np.dtype(new).name))
    return old


def _entry_names(op):
    """Readable names of a node's argument, output and auxiliary entries, for errors."""
    return (op.list_arguments(), ['output' if o == 'output' else 'output %s' % o
                                  for o in op.list_outputs()],
            op.list_auxiliary_states())


def _propagate(order, entry_values, infer, complete, merge, backward_partial, backward):
    """Run ``infer(op, inputs) -> (inputs, outputs, aux)`` over the graph until nothing new
    is learned.  ``entry_values`` maps (id(node), index) to a value (None: unknown; shapes
    may be partial).  ``infer`` decides what each operator sees; what it deduces is merged
    in with ``merge(old, new, op, name)``, which fails on a contradiction.  Operators whose
    outputs are known (complete ones, or any when ``backward_partial(op)``) may then deduce
    their inputs backwards with ``backward(op, inputs, outputs)``."""
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
            new_in, new_out, new_aux = infer(op, raw_in)
            new_in = [n if n is not None else r for n, r in zip(new_in, raw_in)]
            if not all(complete(v) for v in new_in):
                if backward_partial(op):
                    if any(v is not None for v in known_out):
                        new_in = backward(op, list(new_in), known_out)
                elif all(complete(v) for v in known_out):
                    new_in = backward(op, list(new_in), known_out)
            arg_names, out_names, aux_names = _entry_names(op)
            for entries, values, names in ((arg_entries, new_in, arg_names),
                                           (out_entries, new_out, out_names),
                                           (aux_entries, new_aux or [], aux_names)):
                for entry, value, name in zip(entries, values, names):
                    if value is None:
                        continue
                    old = entry_values.get(entry)
                    merged = merge(old, value, op, name)
                    if old is None or merged != old or type(merged) is not type(old):
                        entry_values[entry] = merged        # (a dtype equals None: float64)
                        changed = True
        if not changed:
            break
    return entry_values


def infer_shapes(order, known):
    """Shapes of every entry, from ``known`` {variable name: shape} and ``__shape__`` hints.

    Returns a dict (id(node), output index) -> shape tuple (absent where unknown; a 0 marks a
    dimension that could not be decided, except in an :class:`EmptyShape`, whose zeros are
    real sizes).  A 0 in ``known`` or ``__shape__`` means unknown, as in MXNet; pass an
    :class:`EmptyShape` to give a known empty shape (the executor does for bound arrays).

    What an operator sees:

    * every argument shape complete (and at least one argument): exactly those shapes (zeros
      in them are real sizes), and everything it returns is complete too, so a 0 it returns
      is a real, empty dimension;
    * some argument shapes partial, and the operator ``accepts_partial``: the partial shapes,
      with ``partial=True``; it fills in what it can, 0 marking what it cannot;
    * otherwise: the complete shapes, None for the others.
    """
    values = {}
    for node in order:
        if node.op is None:
            shape = known.get(node.name)
            if shape is None:
                shape = parse_shape_attr(node.attrs.get('__shape__'))
            if shape is not None:
                values[(id(node), 0)] = (shape if isinstance(shape, EmptyShape)
                                         else tuple(int(d) for d in shape))

    def infer(op, in_shapes):
        # (an operator without inputs, like _zeros, may leave a 0 in its shape parameter
        # unknown, as in MXNet: the RNN cells' begin states get their batch size that way)
        if in_shapes and all(shape_is_complete(s) for s in in_shapes):
            fix = lambda shapes: [None if s is None else known_shape(s) for s in shapes]
            in_shapes, out_shapes, aux_shapes = op.infer_shape([tuple(s) for s in in_shapes])
        else:
            if op.accepts_partial:
                in_shapes, out_shapes, aux_shapes = op.infer_shape(list(in_shapes), partial=True)
            else:
                in_shapes, out_shapes, aux_shapes = op.infer_shape(
                    [tuple(s) if shape_is_complete(s) else None for s in in_shapes])
            fix = lambda shapes: [None if s is None else s if isinstance(s, EmptyShape)
                                  else tuple(int(d) for d in s) for s in shapes]
        return fix(in_shapes), fix(out_shapes), fix(aux_shapes)

    def infer_backward(op, in_shapes, out_shapes):
        return op.infer_backward('shape', in_shapes, out_shapes)

    return _propagate(order, values, infer, shape_is_complete, merge_shapes,
                      lambda op: op.accepts_partial, infer_backward)


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

    def infer_backward(op, in_types, out_types):
        return op.infer_backward('type', in_types, out_types)

    return _propagate(order, values, infer, lambda t: t is not None, _merge_types,
                      lambda op: False, infer_backward)
