"""Symbol: a handle on outputs of a computation graph, built by composing operators.

>>> import mxref as mx
>>> a, b = mx.sym.Variable('a'), mx.sym.Variable('b')
>>> c = mx.sym.FullyConnected(a + b, num_hidden=4, name='fc')
>>> c.list_arguments()
['a', 'b', 'fc_weight', 'fc_bias']
>>> c.infer_shape(a=(2, 3))[1]
[(2, 4)]
"""
import copy as _copy
import numbers
import os
import warnings

import numpy as np

from ..attribute import AttrScope
from ..base import (FLAG_OF_DTYPE, MXNetError, MXNetIndexError, MXNetTypeError,
                    MXNetValueError, numeric_types)
from ..name import NameManager
from ..operator import get as get_op
from ..operator.calling import split_call, bind_inputs
from ..operator.params import attr_string
from .graph import (Node, topo_order, aux_variable_ids, infer_shapes, infer_types,
                    shape_is_complete)
from .json_format import to_json, from_json, HIDDEN_KEYS

__all__ = ['Symbol', 'Variable', 'var', 'Group', 'load', 'load_json', 'create_symbol']

_STYPES = {'undefined': -1, 'default': 0, 'row_sparse': 1, 'csr': 2}


class Symbol:
    """One or more outputs of a symbolic graph.  Build symbols with :func:`Variable` and the
    operator functions of ``mx.sym``; run them with :meth:`bind` / :meth:`simple_bind`."""
    __slots__ = ('_outputs',)

    def __init__(self, outputs):
        self._outputs = list(outputs)        # [(Node, output index)]

    # ------------------------------------------------------------------ structure
    @property
    def name(self):
        """The head node's name, or None for a group of outputs of several nodes."""
        nodes = {id(n) for n, _ in self._outputs}
        return self._outputs[0][0].name if len(nodes) == 1 else None

    def _order(self):
        return topo_order(self._outputs)

    def list_outputs(self):
        """The output names: ``<node>_<output>`` for operators, the name for variables."""
        return [node.output_name(i) for node, i in self._outputs]

    def list_arguments(self):
        """Variables that are inputs, in depth-first order (auxiliary states excluded)."""
        order = self._order()
        aux = aux_variable_ids(order)
        return [n.name for n in order if n.op is None and id(n) not in aux]

    def list_auxiliary_states(self):
        """Variables that operators update in place (e.g. BatchNorm's moving statistics)."""
        order = self._order()
        aux = aux_variable_ids(order)
        return [n.name for n in order if n.op is None and id(n) in aux]

    def list_inputs(self):
        """Every variable, arguments and auxiliary states, in depth-first order."""
        return [n.name for n in self._order() if n.op is None]

    def get_internals(self):
        """A group of every visible output of every node, in depth-first order."""
        return Symbol([(node, i) for node in self._order()
                       for i in range(node.num_visible_outputs())])

    def get_children(self):
        """The inputs of the head node(s) as one symbol, or None for a variable."""
        seen, entries = set(), []
        for node, _ in self._outputs:
            if id(node) not in seen:
                seen.add(id(node))
                entries.extend(node.inputs)
        return Symbol(entries) if entries else None

    def __len__(self):
        return len(self._outputs)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __getitem__(self, index):
        if isinstance(index, str):
            names = self.list_outputs()
            matches = [i for i, n in enumerate(names) if n == index]
            if len(matches) > 1:
                raise MXNetValueError('There are multiple outputs with name "%s"' % index)
            if not matches:
                raise MXNetValueError('Cannot find output that matches name "%s"; outputs are %s'
                                      % (index, names))
            index = matches[0]
        if isinstance(index, slice):
            return Symbol(self._outputs[index])
        if not isinstance(index, (numbers.Integral, np.integer)) or isinstance(index, bool):
            raise MXNetTypeError('Symbol only support integer index to fetch i-th output')
        if not 0 <= index < len(self._outputs):
            raise MXNetIndexError('Symbol output index %d is out of range (it has %d)'
                                  % (index, len(self._outputs)))
        return Symbol([self._outputs[index]])

    def __repr__(self):
        name = self.name
        if name is not None:
            return '<Symbol %s>' % name
        return '<Symbol group [%s]>' % ', '.join(n.name for n, _ in self._outputs)

    def __copy__(self):
        return Symbol(_substitute(self._outputs, {}))

    def __deepcopy__(self, memo):
        return self.__copy__()

    def __reduce__(self):
        return (load_json, (self.tojson(),))

    def __bool__(self):
        raise MXNetTypeError('a Symbol has no truth value (it is not evaluated)')

    def __hash__(self):
        return id(self) // 16

    # ------------------------------------------------------------------ composition
    def __call__(self, *args, **kwargs):
        """A copy of this symbol with its variables replaced by the given symbols."""
        result = self.__copy__()
        result._compose(*args, **kwargs)
        return result

    def _compose(self, *args, **kwargs):
        name = kwargs.pop('name', None)
        if args and kwargs:
            raise MXNetTypeError('compose only accept input Symbols either as positional or '
                                 'keyword arguments, not both')
        for value in list(args) + list(kwargs.values()):
            if not isinstance(value, Symbol):
                raise MXNetTypeError('Compose expect `Symbol` as arguments')
            if len(value._outputs) != 1:
                raise MXNetValueError('Compose: argument %s has %d outputs, a single one is '
                                      'needed' % (value.name, len(value._outputs)))
        if args:
            kwargs = dict(zip(self.list_arguments(), args))
        names = set(n.name for n in self._order() if n.op is None)
        for key in kwargs:
            if key not in names:
                raise MXNetValueError('Symbol.Compose Keyword argument name %s not found. '
                                      'Candidate arguments: %s' % (key, sorted(names)))
        replace = {key: value._outputs[0] for key, value in kwargs.items()}
        self._outputs = _substitute(self._outputs, replace)
        if name:
            self._outputs[0][0].name = name

    # ------------------------------------------------------------------ attributes
    def attr(self, key):
        """The string attribute ``key`` of the head node (None if absent or for a group)."""
        if self.name is None:
            return None
        node = self._outputs[0][0]
        if key == 'name':
            return node.name
        value = node.attrs.get(key)
        if value is None and key in HIDDEN_KEYS:
            value = node.attrs.get('__%s__' % key)
        return value

    def list_attr(self, recursive=False):
        """The head node's attributes; hidden keys such as ``__lr_mult__`` are also listed
        without underscores."""
        if recursive:
            raise DeprecationWarning('Symbol.list_attr with recursive=True has been deprecated. '
                                     'Please use attr_dict instead.')
        return _with_plain_keys(self._outputs[0][0].attrs)

    def attr_dict(self):
        """``{node name: attributes}`` for every node that has attributes."""
        result = {}
        for node in self._order():
            if node.attrs:
                result.setdefault(node.name, {}).update(_with_plain_keys(node.attrs))
        return result

    def _set_attr(self, **kwargs):
        node = self._outputs[0][0]
        for key, value in kwargs.items():
            if not isinstance(value, str):
                raise MXNetValueError('Set Attr only accepts string values, got %s=%r'
                                      % (key, value))
            node.set_attr(_storage_key(key), value)

    # ------------------------------------------------------------------ inference
    def _collect_inference_args(self, args, kwargs, what, convert):
        if args and kwargs:
            raise MXNetValueError('Can only specify known argument %ss either by positional '
                                  'or keyword arguments, not both' % what)
        known = {}
        if args:
            for name, value in zip(self.list_arguments(), args):
                if value is not None:
                    known[name] = convert(name, value)
        inputs = set(self.list_inputs())
        for name, value in kwargs.items():
            if name not in inputs:
                raise MXNetValueError('Infer%s Keyword argument name %s not found.\nCandidate '
                                      'arguments:\n%s' % (what.capitalize(), name, '\n'.join(
                                          '\t[%d]%s' % (i, n) for i, n in
                                          enumerate(self.list_inputs()))))
            if value is not None:
                known[name] = convert(name, value)
        return known

    def _infer_shape_entries(self, args, kwargs):
        def convert(name, value):
            if not isinstance(value, (tuple, list)):
                raise MXNetTypeError('Arguments need to be shapes (tuple), got %s=%r'
                                     % (name, value))
            return tuple(int(d) for d in value)
        known = self._collect_inference_args(args, kwargs, 'shape', convert)
        order = self._order()
        return order, infer_shapes(order, known)

    def _grouped(self, order, values, default):
        aux = aux_variable_ids(order)
        args = [values.get((id(n), 0), default) for n in order if n.op is None and id(n) not in aux]
        auxs = [values.get((id(n), 0), default) for n in order if n.op is None and id(n) in aux]
        outs = [values.get((id(n), i), default) for n, i in self._outputs]
        return args, outs, auxs

    def infer_shape(self, *args, **kwargs):
        """Infer every shape from some known ones.

        Returns ``(arg_shapes, out_shapes, aux_shapes)`` in the order of
        :meth:`list_arguments`, :meth:`list_outputs`, :meth:`list_auxiliary_states`;
        ``(None, None, None)`` with a warning if some shape cannot be decided.
        """
        order, values = self._infer_shape_entries(args, kwargs)
        arg_shapes, out_shapes, aux_shapes = self._grouped(order, values, None)
        unknown = [(n, s) for n, s in zip(self.list_arguments(), arg_shapes)
                   if not shape_is_complete(s)]
        if unknown or not all(shape_is_complete(s) for s in out_shapes + aux_shapes):
            warnings.warn('Cannot decide shape for the following arguments (0s in shape means '
                          'unknown dimensions). Consider providing them as input:\n\t'
                          + '\n\t'.join('%s: %s' % (n, s or ()) for n, s in unknown[:10])
                          + ('\n\t...' if len(unknown) > 10 else ''), stacklevel=2)
            return None, None, None
        return arg_shapes, out_shapes, aux_shapes

    def infer_shape_partial(self, *args, **kwargs):
        """Like :meth:`infer_shape`, with ``()`` for the shapes that cannot be decided."""
        order, values = self._infer_shape_entries(args, kwargs)
        return self._grouped(order, values, ())

    def infer_type(self, *args, **kwargs):
        """Infer every dtype from some known ones; returns lists of NumPy types."""
        def convert(name, value):
            return np.dtype(value)
        known = self._collect_inference_args(args, kwargs, 'type', convert)
        order = self._order()
        values = {k: v.type for k, v in infer_types(order, known).items()}
        arg_types, out_types, aux_types = self._grouped(order, values, None)
        if any(t is None for t in arg_types + out_types + aux_types):
            warnings.warn('Cannot decide type for the following arguments. Consider providing '
                          'them as input', stacklevel=2)
            return None, None, None
        return arg_types, out_types, aux_types

    def infer_type_partial(self, *args, **kwargs):
        def convert(name, value):
            return np.dtype(value)
        known = self._collect_inference_args(args, kwargs, 'type', convert)
        order = self._order()
        values = {k: v.type for k, v in infer_types(order, known).items()}
        return self._grouped(order, values, None)

    # ------------------------------------------------------------------ serialisation
    def tojson(self):
        """The graph as MXNet 1.x symbol JSON (the format of ``-symbol.json`` files)."""
        return to_json(self._outputs)

    def save(self, fname, remove_amp_cast=True):
        """Write :meth:`tojson` to ``fname`` (atomically)."""
        from ..ndarray.serialization import atomic_write
        atomic_write(fname, self.tojson())

    def debug_str(self):
        """A readable listing of the graph, in MXNet's ``Symbol::Print`` format."""
        if len(self._outputs) == 1 and not self._outputs[0][0].inputs:
            node = self._outputs[0][0]
            return ('Variable:%s\n' % node.name if node.op is None
                    else 'AtomicFunctor  Op:%s\n' % node.op.op_name)
        lines = ['Symbol Outputs:']
        lines += ['\toutput[%d]=%s(%d)' % (i, n.name, k) for i, (n, k) in enumerate(self._outputs)]
        for node in self._order():
            if node.op is None:
                lines.append('Variable:%s' % node.name)
                continue
            lines += ['-' * 20, 'Op:%s, Name=%s' % (node.op.op_name, node.name), 'Inputs:']
            for j, ((source, index), version) in enumerate(zip(node.inputs, node.in_versions)):
                line = '\targ[%d]=%s(%d)' % (j, source.name, index)
                if source.op is None:
                    line += ' version=%d' % version
                lines.append(line)
            if node.attrs:
                lines.append('Attrs:')
                lines += ['\t%s=%s' % (k, node.attrs[k]) for k in sorted(node.attrs)]
        return '\n'.join(lines) + '\n'

    # ------------------------------------------------------------------ execution
    def bind(self, ctx, args, args_grad=None, grad_req='write', aux_states=None,
             group2ctx=None, shared_exec=None):
        """Bind to arrays and return an :class:`~mxref.executor.Executor`."""
        from ..executor import Executor
        return Executor(self, ctx, args, args_grad, grad_req, aux_states, group2ctx,
                        shared_exec)

    def simple_bind(self, ctx, grad_req='write', type_dict=None, stype_dict=None,
                    group2ctx=None, shared_arg_names=None, shared_exec=None,
                    shared_buffer=None, **kwargs):
        """Allocate zero-filled arrays of the shapes inferred from ``kwargs`` and bind them."""
        from ..executor import simple_bind
        return simple_bind(self, ctx, grad_req, type_dict, shared_exec, kwargs,
                           shared_arg_names)

    def eval(self, ctx=None, **kwargs):
        """Bind to ``kwargs`` (name -> NDArray), run forward, return the outputs."""
        from ..context import current_context
        executor = self.bind(ctx or current_context(), kwargs, grad_req='null')
        return executor.forward()

    # ------------------------------------------------------------------ arithmetic
    def _binary(self, other, array_op, scalar_op):
        if isinstance(other, Symbol):
            return create_symbol(array_op, (self, other), {})
        if isinstance(other, numeric_types):
            return create_symbol(scalar_op, (self,), {'scalar': other})
        raise MXNetTypeError('type %s not supported' % type(other).__name__)

    def __add__(self, other):
        return self._binary(other, '_Plus', '_PlusScalar')

    __radd__ = __add__

    def __sub__(self, other):
        return self._binary(other, '_Minus', '_MinusScalar')

    def __rsub__(self, other):
        return self._binary(other, '_Minus', '_RMinusScalar')

    def __mul__(self, other):
        return self._binary(other, '_Mul', '_MulScalar')

    __rmul__ = __mul__

    def __truediv__(self, other):
        return self._binary(other, '_Div', '_DivScalar')

    def __rtruediv__(self, other):
        return self._binary(other, '_Div', '_RDivScalar')

    __div__, __rdiv__ = __truediv__, __rtruediv__

    def __mod__(self, other):
        return self._binary(other, '_Mod', '_ModScalar')

    def __rmod__(self, other):
        return self._binary(other, '_Mod', '_RModScalar')

    def __pow__(self, other):
        return self._binary(other, '_Power', '_PowerScalar')

    def __rpow__(self, other):
        return self._binary(other, '_Power', '_rpower_scalar')

    def __neg__(self):
        return self.__mul__(-1.0)

    def __eq__(self, other):
        return self._binary(other, '_equal', '_equal_scalar')

    def __ne__(self, other):
        return self._binary(other, '_not_equal', '_not_equal_scalar')

    def __gt__(self, other):
        return self._binary(other, '_greater', '_greater_scalar')

    def __ge__(self, other):
        return self._binary(other, '_greater_equal', '_greater_equal_scalar')

    def __lt__(self, other):
        return self._binary(other, '_lesser', '_lesser_scalar')

    def __le__(self, other):
        return self._binary(other, '_lesser_equal', '_lesser_equal_scalar')

    def _not_for_symbol(self, *args):
        raise MXNetTypeError('in-place arithmetic is not supported for Symbol')

    __iadd__ = __isub__ = __imul__ = __itruediv__ = __idiv__ = __imod__ = _not_for_symbol

    # ------------------------------------------------------------------ fluent methods
    def __getattr__(self, name):
        if name.startswith('_') or name not in _FLUENT:
            raise AttributeError("'Symbol' object has no attribute '%s'" % name)
        op_name = 'Cast' if name == 'astype' else name

        def method(*args, **kwargs):
            return create_symbol(op_name, (self,) + args, kwargs)
        method.__name__ = name
        method.__doc__ = 'Same as ``mx.sym.%s(self, ...)``.' % name
        return method


_FLUENT = {'reshape', 'flatten', 'transpose', 'expand_dims', 'squeeze', 'swapaxes', 'sum',
           'mean', 'max', 'min', 'prod', 'norm', 'argmax', 'argmin', 'exp', 'log', 'sqrt',
           'square', 'abs', 'sign', 'relu', 'sigmoid', 'tanh', 'softmax', 'log_softmax', 'slice',
           'slice_axis', 'split', 'tile', 'repeat', 'clip', 'one_hot', 'take', 'pick',
           'broadcast_to', 'broadcast_like', 'broadcast_axes', 'dot', 'astype', 'zeros_like',
           'ones_like'}


def _storage_key(key):
    """MXNet stores a few keys (``lr_mult``, ``ctx_group``, ...) as ``__key__``."""
    for hidden in HIDDEN_KEYS:
        if key == hidden:
            return '__%s__' % key
        if key.endswith('_' + hidden) and not key.startswith('__'):
            raise MXNetValueError('setting variable attributes with %s is deprecated. please '
                                  'instead use\nw = Variable(%s)\nw.attr(%s)'
                                  % (key, key[:-len(hidden) - 1], hidden))
    return key


def _with_plain_keys(attrs):
    result = dict(attrs)
    for hidden in HIDDEN_KEYS:
        stored = '__%s__' % hidden
        if stored in attrs:
            result[hidden] = attrs[stored]
    return result


def _substitute(outputs, replace):
    """Copy every node reachable from ``outputs``; variables named in ``replace`` become the
    given entries.  Returns the new outputs."""
    copies = {}
    for node in topo_order(outputs):
        if node.op is None and node.name in replace:
            copies[id(node)] = replace[node.name]
            continue
        new = Node(node.op, node.name, node.attrs,
                   [_mapped(copies, n, i) for n, i in node.inputs], node.in_versions)
        new.version = node.version
        copies[id(node)] = (new, None)
    return [_mapped(copies, n, i) for n, i in outputs]


def _mapped(copies, node, index):
    target, target_index = copies[id(node)]
    return (target, index if target_index is None else target_index)


# ----------------------------------------------------------------------------------------------
# creating symbols
# ----------------------------------------------------------------------------------------------
def Variable(name, attr=None, shape=None, lr_mult=None, wd_mult=None, dtype=None, init=None,
             stype=None, **kwargs):
    """A placeholder input of the graph.

    ``shape``, ``dtype``, ``init``, ``lr_mult`` and ``wd_mult`` are stored as the attributes
    ``__shape__``, ``__dtype__``, ``__init__``, ``__lr_mult__`` and ``__wd_mult__`` that
    shape inference, initialisers and optimizers read.
    """
    if not isinstance(name, str):
        raise MXNetTypeError('Expect a string for variable `name`')
    attrs = AttrScope._active().get(attr)
    if shape is not None:
        attrs['__shape__'] = str(tuple(shape) if isinstance(shape, list) else shape)
    if lr_mult is not None:
        attrs['__lr_mult__'] = str(lr_mult)
    if wd_mult is not None:
        attrs['__wd_mult__'] = str(wd_mult)
    if dtype is not None:
        if np.dtype(dtype) not in FLAG_OF_DTYPE:
            raise MXNetTypeError('Variable %r: dtype %s is not supported; use one of %s'
                                 % (name, np.dtype(dtype).name,
                                    ', '.join(sorted(d.name for d in FLAG_OF_DTYPE))))
        attrs['__dtype__'] = str(FLAG_OF_DTYPE[np.dtype(dtype)])
    if init is not None:
        attrs['__init__'] = init if isinstance(init, str) else init.dumps()
    if stype is not None:
        attrs['__storage_type__'] = str(_STYPES[stype])
    for key, value in kwargs.items():
        if not (key.startswith('__') and key.endswith('__')):
            raise MXNetValueError('Attribute name=%s is not supported. Additional attributes '
                                  'must start and end with double underscores, e.g, '
                                  '__yourattr__' % key)
        attrs[key] = str(value)
    symbol = Symbol([(Node(None, name), 0)])
    symbol._set_attr(**attrs)
    return symbol


var = Variable


def Group(symbols):
    """One symbol whose outputs are the outputs of all ``symbols``, in order."""
    if not symbols or not all(isinstance(s, Symbol) for s in symbols):
        raise MXNetTypeError('Expected a list of symbols as input')
    return Symbol([entry for s in symbols for entry in s._outputs])


def load_json(json_str):
    """The symbol described by MXNet symbol JSON text."""
    if not isinstance(json_str, str):
        raise MXNetTypeError('load_json: expected a str, got %s' % type(json_str).__name__)
    return Symbol(from_json(json_str))


def load(fname):
    """Load a symbol from a ``-symbol.json`` file."""
    fname = os.fspath(fname)
    try:
        with open(fname) as f:
            text = f.read()
    except OSError as err:
        raise MXNetValueError('mx.sym.load: cannot read %r: %s' % (fname, err.strerror)) from None
    return load_json(text)


def create_symbol(called_name, args, kwargs):
    """Apply operator ``called_name`` (a registered name or alias) to symbols: the body of
    every ``mx.sym.<Op>`` function."""
    op_cls = get_op(called_name)
    kwargs = dict(kwargs)
    name = kwargs.pop('name', None)
    attr = kwargs.pop('attr', None)
    kwargs.update(AttrScope._active().get(attr))
    positional, keyword, attrs = split_call(op_cls, called_name, args, kwargs, Symbol)
    attrs = {_storage_key(k) if not k.startswith('__') else k: v for k, v in attrs.items()}
    node_name = NameManager._active().get(name, called_name.lower())
    op = op_cls(attrs, node_name)
    slots = bind_inputs(op, positional, keyword)
    n_args = len(op.list_arguments())
    all_names = op.list_arguments() + op.list_auxiliary_states()
    inputs, versions = [], []
    for index, (slot_name, value) in enumerate(zip(all_names, slots)):
        if value is None:
            entry = (Node(None, '%s_%s' % (node_name, slot_name), dict(attrs)), 0)
        else:
            if len(value._outputs) != 1:
                op.fail("input '%s' must be a single output, got a group of %d (%s)"
                        % (slot_name, len(value._outputs), ', '.join(value.list_outputs())),
                        error=MXNetValueError)
            entry = value._outputs[0]
        source = entry[0]
        if source.op is None:
            init = op.input_init.get(slot_name)
            if init is not None and '__init__' not in source.attrs:
                source.attrs['__init__'] = init
            if index >= n_args:            # an auxiliary state: this operator mutates it
                source.version += 1
            versions.append(source.version)
        else:
            versions.append(0)
        inputs.append(entry)
    node = Node(op_cls, node_name, attrs, inputs, versions)
    node._operator = op
    return Symbol([(node, i) for i in range(op.num_visible_outputs())])
