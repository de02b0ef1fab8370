"""The optimizer base class, the registry, and the updater that applies an optimizer.

An optimizer turns a gradient into a weight update.  It is used through an *updater*::

    updater = mx.optimizer.get_updater(mx.optimizer.SGD(learning_rate=0.1))
    updater(index, grad, weight)      # creates the state of `index` once, then updates

Per-parameter learning rate and weight decay are ``lr * lr_mult`` and ``wd * wd_mult``.  The
multipliers come from the symbol's variables (``mx.sym.Variable('w', lr_mult=2)`` stores
``__lr_mult__``), from :meth:`Optimizer.set_lr_mult` / :meth:`Optimizer.set_wd_mult`, and, as
in MXNet, every parameter whose name (through ``param_idx2name``) does not end in ``_weight``
or ``_gamma`` gets ``wd_mult = 0``: biases are not decayed.

Update rules run on the weight's device: each rule is a few elementwise expressions evaluated
by the backend (``B.elementwise``), which the CPU evaluates with NumPy and a GPU backend
compiles into kernels.  Scalars (learning rate, momentum...) are kernel arguments, never part
of the expression text, so nothing recompiles when the learning rate changes.

Saved optimizer states
----------------------
:meth:`Updater.get_states` returns bytes in mxref's optimizer-states format, which is parsed,
never unpickled (MXNet pickles; mxref cannot read MXNet's ``.states`` files).  The bytes are
an NDArray file exactly as ``mx.nd.save`` writes it, holding a dict of arrays:

* ``"__mxref_states_header__"``: a uint8 array, the UTF-8 JSON header;
* ``"0"``, ``"1"``, ...: every state array, numbered.

The header is ``{"format": "mxref-optimizer-states", "version": 1, "states": [...],
"optimizer": ...}``.  ``"states"`` lists ``[key, tree]`` pairs, one per parameter index; a key
is an int or a str, a tree is ``null`` (no state), ``{"array": n}``, ``{"tuple": [trees]}``,
``{"list": [trees]}`` or ``{"value": number}``.  ``"optimizer"`` is ``null``, or, when
``dump_optimizer=True``, the optimizer's registered name and its attributes (numbers, strings,
lists, dicts, the learning-rate scheduler) in the same tagged JSON.
"""
import json
import math
import warnings

import numpy as np

from .. import lr_scheduler as _lr_scheduler
from ..base import MXNetTypeError, MXNetValueError
from ..context import cpu
from ..ndarray import NDArray, zeros, array as nd_array
from ..ndarray.serialization import save_to_bytes, load_frombuffer

__all__ = ['Optimizer', 'register', 'create', 'Updater', 'get_updater', 'clip_expr',
           'STATES_HEADER_KEY']

STATES_HEADER_KEY = '__mxref_states_header__'


def clip_expr(expr, clip_gradient):
    """``expr`` clipped to [-clip_gradient, clip_gradient] in the elementwise language, as
    one parenthesised term (only the parentheses when clipping is off: ``clip_gradient`` None
    or <= 0).

    >>> clip_expr('rescale_grad * grad', 5.0)
    'fmin(fmax(rescale_grad * grad, -clip_gradient), clip_gradient)'
    >>> clip_expr('rescale_grad * grad', None)
    '(rescale_grad * grad)'
    """
    if clip_gradient is None or clip_gradient <= 0:
        return '(%s)' % expr
    return 'fmin(fmax(%s, -clip_gradient), clip_gradient)' % expr


class Optimizer:
    """Base class of all optimizers.

    Parameters
    ----------
    rescale_grad : float, default 1.0
        Gradients are multiplied by this first (Module sets ``1 / batch_size``).
    param_idx2name : dict of int to str, optional
        Parameter names by update index; used for ``lr_mult``/``wd_mult`` lookup.
    wd : float, default 0.0
        Weight decay (L2 penalty coefficient).
    clip_gradient : float, optional
        Clip the rescaled gradient to [-clip_gradient, clip_gradient].
    learning_rate : float, optional
        The learning rate; defaults to 0.01 (or to the scheduler's ``base_lr``).
    lr_scheduler : LRScheduler, optional
        Gives the learning rate as a function of the number of updates.
    sym : Symbol, optional
        The network; its variables' ``__lr_mult__``/``__wd_mult__`` attributes are read.
    begin_num_update : int, default 0
        The update count to start from.
    multi_precision : bool, default False
        Keep a float32 master copy of float16 weights and update that.
    param_dict : dict, optional
        Index -> object with ``lr_mult``/``wd_mult`` attributes (Gluon parameters).
    """

    def __init__(self, rescale_grad=1., param_idx2name=None, wd=0., clip_gradient=None,
                 learning_rate=None, lr_scheduler=None, sym=None, begin_num_update=0,
                 multi_precision=False, param_dict=None):
        self.rescale_grad = rescale_grad
        self.lr_scheduler = lr_scheduler
        if lr_scheduler is None and learning_rate is None:
            learning_rate = 0.01
        self.lr = learning_rate
        if lr_scheduler is not None and learning_rate is not None:
            if lr_scheduler.base_lr != learning_rate:
                print(UserWarning('learning rate from ``lr_scheduler`` has been overwritten by '
                                  '``learning_rate`` in optimizer.'))
                lr_scheduler.base_lr = learning_rate
        self.wd = wd
        self.lr_mult = {}
        self.wd_mult = {}
        self.begin_num_update = begin_num_update
        self.num_update = begin_num_update
        self._all_index_update_counts = {0: {}}
        self._index_update_count = self._all_index_update_counts[0]
        self.clip_gradient = clip_gradient
        self.multi_precision = multi_precision
        self.aggregate_num = 0
        if param_idx2name is None:
            param_idx2name = {}
        if not isinstance(param_idx2name, dict):
            raise MXNetTypeError('param_idx2name should be a dict of param indexes to names, '
                                 'got %s' % type(param_idx2name).__name__)
        self.idx2name = param_idx2name.copy()
        self.sym_info = (sym.attr_dict(), sym.list_arguments()) if sym is not None else ()
        self.param_dict = param_dict if param_dict else {}
        self.set_lr_mult({})
        self.set_wd_mult({})

    opt_registry = {}

    @staticmethod
    def register(klass):
        """Register an optimizer class under its lower-cased class name.

        >>> import mxref as mx
        >>> @mx.optimizer.Optimizer.register
        ... class MyOptimizer(mx.optimizer.Optimizer):
        ...     pass
        >>> type(mx.optimizer.create('myoptimizer')).__name__
        'MyOptimizer'
        """
        if not isinstance(klass, type):
            raise MXNetTypeError('Optimizer.register: expected a class, got %r' % (klass,))
        name = klass.__name__.lower()
        if name in Optimizer.opt_registry and Optimizer.opt_registry[name] is not klass:
            warnings.warn('WARNING: New optimizer %s.%s is overriding existing optimizer %s.%s'
                          % (klass.__module__, klass.__name__,
                             Optimizer.opt_registry[name].__module__,
                             Optimizer.opt_registry[name].__name__))
        Optimizer.opt_registry[name] = klass
        return klass

    @staticmethod
    def create_optimizer(name, **kwargs):
        """Create a registered optimizer by (case-insensitive) name.

        >>> import mxref as mx
        >>> type(mx.optimizer.create('adam', learning_rate=0.1)).__name__
        'Adam'
        """
        if not isinstance(name, str):
            raise MXNetTypeError('create optimizer: name must be a str, got %s'
                                 % type(name).__name__)
        if name.lower() in Optimizer.opt_registry:
            return Optimizer.opt_registry[name.lower()](**kwargs)
        raise MXNetValueError('Cannot find optimizer %s (registered: %s)'
                              % (name, ', '.join(sorted(Optimizer.opt_registry))))

    # ------------------------------------------------------------------ learning rate
    @property
    def learning_rate(self):
        """The current learning rate (from the scheduler when there is one)."""
        if self.lr_scheduler is not None:
            return self.lr_scheduler(self.num_update)
        return self.lr

    def set_learning_rate(self, lr):
        """Set the learning rate; not allowed when a scheduler decides it."""
        if self.lr_scheduler is not None:
            raise UserWarning('LRScheduler of the optimizer has already been defined. Note that '
                              'set_learning_rate can mutate the value of the learning rate of '
                              'the optimizer only when the LRScheduler of the optimizer is '
                              'undefined.')
        self.lr = lr

    def set_lr_scale(self, args_lrscale):
        """[DEPRECATED] use :meth:`set_lr_mult`."""
        raise DeprecationWarning('set_lr_scale is deprecated; use set_lr_mult')

    def set_lr_mult(self, args_lr_mult):
        """Set learning-rate multipliers by parameter name (or index).

        The symbol's ``__lr_mult__`` attributes are read first; ``args_lr_mult`` overrides.
        """
        self.lr_mult = {}
        if self.sym_info:
            attr, arg_names = self.sym_info
            for name in arg_names:
                if name in attr and '__lr_mult__' in attr[name]:
                    self.lr_mult[name] = float(attr[name]['__lr_mult__'])
        self.lr_mult.update(args_lr_mult)

    def set_wd_mult(self, args_wd_mult):
        """Set weight-decay multipliers by parameter name (or index).

        Parameters named (through ``param_idx2name``) neither ``*_weight`` nor ``*_gamma`` get
        0; then the symbol's ``__wd_mult__`` attributes; then ``args_wd_mult``.
        """
        self.wd_mult = {}
        for name in self.idx2name.values():
            if not (name.endswith('_weight') or name.endswith('_gamma')):
                self.wd_mult[name] = 0.0
        if self.sym_info:
            attr, arg_names = self.sym_info
            for name in arg_names:
                if name in attr and '__wd_mult__' in attr[name]:
                    self.wd_mult[name] = float(attr[name]['__wd_mult__'])
        self.wd_mult.update(args_wd_mult)

    def _set_current_context(self, device_id):
        """Keep separate update counts per device (data-parallel training)."""
        if device_id not in self._all_index_update_counts:
            self._all_index_update_counts[device_id] = {}
        self._index_update_count = self._all_index_update_counts[device_id]

    def _update_count(self, index):
        """Count one more update of ``index`` (an index or a list of them)."""
        for idx in index if isinstance(index, (list, tuple)) else (index,):
            if idx not in self._index_update_count:
                self._index_update_count[idx] = self.begin_num_update
            self._index_update_count[idx] += 1
            self.num_update = max(self._index_update_count[idx], self.num_update)

    def _multiplier(self, index, table, attribute):
        if index in self.param_dict:
            return getattr(self.param_dict[index], attribute)
        if index in table:
            return table[index]
        if index in self.idx2name:
            return table.get(self.idx2name[index], 1.0)
        return 1.0

    def _get_lrs(self, indices):
        lr = self.lr_scheduler(self.num_update) if self.lr_scheduler is not None else self.lr
        return [lr * self._multiplier(i, self.lr_mult, 'lr_mult') for i in indices]

    def _get_lr(self, index):
        """The learning rate of parameter ``index``: ``lr * lr_mult``."""
        return self._get_lrs([index])[0]

    def _get_wds(self, indices):
        return [self.wd * self._multiplier(i, self.wd_mult, 'wd_mult') for i in indices]

    def _get_wd(self, index):
        """The weight decay of parameter ``index``: ``wd * wd_mult``."""
        return self._get_wds([index])[0]

    # ------------------------------------------------------------------ states and updates
    def create_state(self, index, weight):
        """The auxiliary state of one weight (momentum, moments...), or None."""
        return None

    def create_state_multi_precision(self, index, weight):
        """Like :meth:`create_state`; with ``multi_precision`` and a float16 weight, the state is
        ``(float32 master copy of the weight, state of the master copy)``."""
        if self.multi_precision and weight.dtype == np.float16:
            master = weight.astype(np.float32)
            return (master, self.create_state(index, master))
        if weight.dtype == np.float16 and not self.multi_precision:
            warnings.warn('Accumulating with float16 in optimizer can lead to poor accuracy or '
                          'slow convergence. Consider using multi_precision=True option of the '
                          '%s optimizer' % type(self).__name__)
        return self.create_state(index, weight)

    def update(self, index, weight, grad, state):
        """Update ``weight`` (NDArray, in place) from ``grad`` and ``state``."""
        raise NotImplementedError('%s must implement update' % type(self).__name__)

    def update_multi_precision(self, index, weight, grad, state):
        """:meth:`update`, going through the float32 master copy for float16 weights."""
        if self.multi_precision and weight.dtype == np.float16:
            master, inner = state
            self.update(index, master, grad.astype(np.float32), inner)
            weight.backend.copy(master.handle, weight.handle)     # cast back to float16
        else:
            self.update(index, weight, grad, state)

    def _check_arrays(self, weight, grad):
        for what, value in (('weight', weight), ('grad', grad)):
            if not isinstance(value, NDArray):
                raise MXNetTypeError('%s.update: %s must be an NDArray, got %s'
                                     % (type(self).__name__, what, type(value).__name__))
        if weight.shape != grad.shape:
            raise MXNetValueError('%s.update: weight has shape %s but grad has shape %s'
                                  % (type(self).__name__, weight.shape, grad.shape))

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop('param_dict', None)
        return state

    def __setstate__(self, state):
        self.__dict__ = state
        self.param_dict = {}


register = Optimizer.register
create = Optimizer.create_optimizer


def zeros_like(weight, dtype=None):
    """A zero state array with the weight's shape, context and (by default) dtype."""
    return zeros(weight.shape, weight.context, dtype=dtype or weight.dtype)


# ----------------------------------------------------------------------------------------------
# the updater
# ----------------------------------------------------------------------------------------------
class Updater:
    """Applies an optimizer, holding one state per parameter index.

    ``updater(index, grad, weight)`` (index, grad, weight may be lists) creates the state of a
    new index with ``optimizer.create_state_multi_precision`` and then calls
    ``optimizer.update_multi_precision``.
    """

    def __init__(self, optimizer):
        self.optimizer = optimizer
        self.states = {}
        self.states_synced = {}
        self.aggregate_updates = False

    def __call__(self, index, grad, weight):
        if isinstance(index, (list, tuple)):
            indices, grads, weights = list(index), list(grad), list(weight)
        else:
            indices, grads, weights = [index], [grad], [weight]
        if weights:
            self.optimizer._set_current_context(weights[0].context.device_id)
        for i, idx in enumerate(indices):
            if isinstance(idx, bytes):
                idx = indices[i] = idx.decode('utf-8')
            if idx not in self.states:
                self.states[idx] = self.optimizer.create_state_multi_precision(idx, weights[i])
                self.states_synced[idx] = True
            elif not self.states_synced[idx]:
                self.states[idx] = self.sync_state_context(self.states[idx], weights[i].context)
                self.states_synced[idx] = True
        for idx, w, g in zip(indices, weights, grads):
            self.optimizer.update_multi_precision(idx, w, g, self.states[idx])

    def sync_state_context(self, state, context):
        """The state moved to ``context`` (after loading, states live on the CPU)."""
        if isinstance(state, NDArray):
            return state.as_in_context(context)
        if isinstance(state, (tuple, list)):
            synced = [self.sync_state_context(s, context) for s in state]
            return tuple(synced) if isinstance(state, tuple) else synced
        return state

    def set_states(self, states):
        """Restore states from bytes written by :meth:`get_states` (the format is described in
        this module's docstring)."""
        states_dict, optimizer = parse_states(states)
        self.states = states_dict
        if optimizer is not None:
            self.optimizer = optimizer
        self.states_synced = dict.fromkeys(self.states.keys(), False)

    def get_states(self, dump_optimizer=False):
        """The states as bytes; with ``dump_optimizer`` the optimizer's settings and update
        counts are included, so :meth:`set_states` restores them too."""
        return dump_states(self.states, self.optimizer if dump_optimizer else None)


def get_updater(optimizer):
    """An :class:`Updater` applying ``optimizer``.

    >>> import mxref as mx
    >>> updater = mx.optimizer.get_updater(mx.optimizer.SGD(learning_rate=0.5))
    >>> w, g = mx.nd.ones((2,)), mx.nd.ones((2,))
    >>> updater(0, g, w)
    >>> w.asnumpy()
    array([0.5, 0.5], dtype=float32)
    """
    return Updater(optimizer)


# ----------------------------------------------------------------------------------------------
# the saved-states format (see the module docstring)
# ----------------------------------------------------------------------------------------------
_FORMAT = 'mxref-optimizer-states'
_VERSION = 1


def _state_tree(state, arrays):
    if state is None:
        return None
    if isinstance(state, NDArray):
        arrays.append(state)
        return {'array': len(arrays) - 1}
    if isinstance(state, tuple):
        return {'tuple': [_state_tree(s, arrays) for s in state]}
    if isinstance(state, list):
        return {'list': [_state_tree(s, arrays) for s in state]}
    if isinstance(state, (int, float, np.number)) and not isinstance(state, bool):
        return {'value': state.item() if isinstance(state, np.number) else state}
    raise MXNetTypeError('optimizer state of type %s cannot be saved' % type(state).__name__)


def _state_from_tree(tree, arrays):
    if tree is None:
        return None
    if not isinstance(tree, dict) or len(tree) != 1:
        raise MXNetValueError('optimizer states: malformed state entry %r' % (tree,))
    (kind, value), = tree.items()
    if kind == 'array':
        if not isinstance(value, int) or not 0 <= value < len(arrays):
            raise MXNetValueError('optimizer states: array %r is missing' % (value,))
        return arrays[value]
    if kind == 'tuple':
        return tuple(_state_from_tree(t, arrays) for t in value)
    if kind == 'list':
        return [_state_from_tree(t, arrays) for t in value]
    if kind == 'value':
        return value
    raise MXNetValueError('optimizer states: unknown entry kind %r' % kind)


def _encode(value):
    """A JSON-able, tagged form of an optimizer attribute (None if it cannot be saved)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        return value if not (isinstance(value, float) and not math.isfinite(value)) \
            else {'float': repr(value)}
    if isinstance(value, np.number):
        return _encode(value.item())
    if isinstance(value, (list, tuple)):
        items = [_encode(v) for v in value]
        return items if isinstance(value, list) else {'tuple': items}
    if isinstance(value, dict):
        return {'dict': [[_encode(k), _encode(v)] for k, v in value.items()]}
    if isinstance(value, _lr_scheduler.LRScheduler):
        return {'scheduler': type(value).__name__, 'attrs': _encode(vars(value))}
    raise TypeError(type(value).__name__)


def _decode(value):
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if 'float' in value:
        return float(value['float'])
    if 'tuple' in value:
        return tuple(_decode(v) for v in value['tuple'])
    if 'dict' in value:
        return {_hashable(_decode(k)): _decode(v) for k, v in value['dict']}
    if 'scheduler' in value:
        cls = getattr(_lr_scheduler, value['scheduler'], None)
        if not (isinstance(cls, type) and issubclass(cls, _lr_scheduler.LRScheduler)):
            raise MXNetValueError('optimizer states: unknown scheduler %r' % value['scheduler'])
        scheduler = cls.__new__(cls)
        scheduler.__dict__.update(_decode(value['attrs']))
        return scheduler
    raise MXNetValueError('optimizer states: unknown value %r' % (value,))


def _hashable(key):
    return tuple(key) if isinstance(key, list) else key


def dump_states(states, optimizer=None):
    """Bytes holding ``states`` (dict index -> state) and, optionally, ``optimizer``."""
    arrays, entries = [], []
    for key, state in states.items():
        if not isinstance(key, (int, str)) or isinstance(key, bool):
            raise MXNetTypeError('optimizer states: index %r must be an int or a str' % (key,))
        entries.append([key, _state_tree(state, arrays)])
    header = {'format': _FORMAT, 'version': _VERSION, 'states': entries, 'optimizer': None}
    if optimizer is not None:
        attrs = {}
        for name, value in optimizer.__getstate__().items():
            if name == 'sym_info':
                value = tuple(value)
            try:
                attrs[name] = _encode(value)
            except TypeError:
                continue                          # e.g. a user object: not saved
        header['optimizer'] = {'name': type(optimizer).__name__.lower(), 'attrs': attrs}
    payload = {STATES_HEADER_KEY: nd_array(np.frombuffer(json.dumps(header).encode('utf-8'),
                                                         dtype=np.uint8), ctx=cpu(),
                                           dtype=np.uint8)}
    for i, arr in enumerate(arrays):
        payload[str(i)] = arr.as_in_context(cpu())
    return save_to_bytes(payload)


def parse_states(data):
    """Parse bytes written by :func:`dump_states`: returns ``(states, optimizer or None)``."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise MXNetTypeError('optimizer states must be bytes, got %s' % type(data).__name__)
    if bytes(data[:2]) == b'\x80\x04' or bytes(data[:1]) == b'\x80':
        raise MXNetValueError('these optimizer states look like a Python pickle (as MXNet writes '
                              'them); mxref only reads its own documented format')
    content = load_frombuffer(bytes(data), '<optimizer states>')
    if not isinstance(content, dict) or STATES_HEADER_KEY not in content:
        raise MXNetValueError('not an mxref optimizer-states file: the %r entry is missing'
                              % STATES_HEADER_KEY)
    try:
        header = json.loads(bytes(content[STATES_HEADER_KEY].asnumpy()).decode('utf-8'))
    except (UnicodeDecodeError, ValueError) as err:
        raise MXNetValueError('optimizer states: the header is not valid JSON (%s)' % err) from None
    if not isinstance(header, dict) or header.get('format') != _FORMAT:
        raise MXNetValueError('optimizer states: unknown format %r'
                              % (header.get('format') if isinstance(header, dict) else header))
    if header.get('version') != _VERSION:
        raise MXNetValueError('optimizer states: version %r is not supported (expected %d)'
                              % (header.get('version'), _VERSION))
    arrays = []
    for i in range(len(content) - 1):
        if str(i) not in content:
            raise MXNetValueError('optimizer states: array %d is missing' % i)
        arrays.append(content[str(i)])
    states = {}
    for entry in header.get('states', []):
        if not isinstance(entry, list) or len(entry) != 2:
            raise MXNetValueError('optimizer states: malformed entry %r' % (entry,))
        states[entry[0]] = _state_from_tree(entry[1], arrays)
    optimizer = None
    if header.get('optimizer') is not None:
        spec = header['optimizer']
        cls = Optimizer.opt_registry.get(spec.get('name'))
        if cls is None:
            raise MXNetValueError('optimizer states: optimizer %r is not registered'
                                  % spec.get('name'))
        optimizer = cls.__new__(cls)
        attrs = {k: _decode(v) for k, v in spec.get('attrs', {}).items()}
        optimizer.__setstate__(attrs)
        counts = optimizer.__dict__.get('_all_index_update_counts', {0: {}})
        optimizer._index_update_count = counts.setdefault(0, {})
    return states, optimizer
