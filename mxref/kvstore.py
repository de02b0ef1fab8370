"""A single-machine key-value store (``mx.kv``), as ``Module.fit`` uses it for data-parallel
training on several devices.

The store keeps one array per key.  ``push`` sums the arrays it is given (one per device) and
either stores the sum or, when an optimizer is set, hands it to the updater as the gradient of
the stored weight; ``pull`` copies the stored array out to every device::

    kv = mx.kv.create('local')
    kv.init('w', weight)                       # the store's copy of the weight
    kv.set_optimizer(mx.optimizer.SGD(learning_rate=0.1))
    kv.push('w', [grad_on_dev0, grad_on_dev1]) # summed, then an SGD step on the stored weight
    kv.pull('w', out=[weight_on_dev0, weight_on_dev1])

Only the local types exist in mxref: ``'local'`` keeps the stored arrays in CPU memory,
``'device'`` on the device of the first array pushed at ``init``.  Distributed types
(``'dist_*'``) and gradient compression are not supported and say so.

>>> import mxref as mx
>>> kv = mx.kv.create('local')
>>> kv.init(3, mx.nd.ones((2,)))
>>> kv.push(3, [mx.nd.ones((2,)), mx.nd.ones((2,))])
>>> out = mx.nd.zeros((2,))
>>> kv.pull(3, out=out)
>>> out.asnumpy()
array([2., 2.], dtype=float32)
"""
from .base import MXNetError, MXNetTypeError, MXNetValueError
from .context import cpu
from .ndarray.serialization import atomic_write
from . import optimizer as opt

__all__ = ['KVStore', 'KVStoreBase', 'create']

LOCAL_TYPES = ('local', 'device', 'local_update_cpu', 'local_allreduce_cpu',
               'local_allreduce_device')


class KVStoreBase:
    """Capability names a store can report with ``is_capable``."""
    OPTIMIZER = 'optimizer'


def _pairs(key, value, what):
    """Normalise (key, value) into lists of keys and of value lists."""
    if isinstance(key, (list, tuple)):
        if not isinstance(value, (list, tuple)) or len(value) != len(key):
            raise MXNetValueError('KVStore.%s: %d keys need %d values' % (what, len(key),
                                                                          len(key)))
        return list(key), [v if isinstance(v, (list, tuple)) else [v] for v in value]
    return [key], [value if isinstance(value, (list, tuple)) else [value]]


class KVStore(KVStoreBase):
    """A local key-value store; make one with :func:`create`."""

    def __init__(self, kvtype='local'):
        if kvtype not in LOCAL_TYPES:
            raise MXNetValueError("KVStore type %r is not supported by mxref (only the local "
                                  "types %s)" % (kvtype, ', '.join(LOCAL_TYPES)))
        self._type = kvtype
        self._store = {}
        self._updater = None
        self._str_updater = None

    @property
    def type(self):
        """The store's type name."""
        return self._type

    @property
    def rank(self):
        """This worker's rank (always 0: one machine)."""
        return 0

    @property
    def num_workers(self):
        """The number of workers (always 1)."""
        return 1

    def is_capable(self, capability):
        """Whether the store supports ``capability`` (it can run an optimizer)."""
        return capability == KVStoreBase.OPTIMIZER

    def _check_key(self, key, what):
        if not isinstance(key, (int, str)):
            raise MXNetTypeError('KVStore.%s: keys must be int or str, got %r' % (what, key))
        if what != 'init' and key not in self._store:
            raise MXNetValueError('KVStore.%s: key %r was not initialised (call init first)'
                                  % (what, key))

    def init(self, key, value):
        """Store the initial value(s) of ``key`` (a key or a list of keys)."""
        keys, values = _pairs(key, value, 'init')
        for k, vals in zip(keys, values):
            self._check_key(k, 'init')
            source = vals[0]
            home = source.context if self._type in ('device', 'local_allreduce_device') else cpu()
            self._store[k] = source.copyto(home)

    def push(self, key, value, priority=0):
        """Sum the value(s) of each key and update the stored array with the sum."""
        keys, values = _pairs(key, value, 'push')
        for k, vals in zip(keys, values):
            self._check_key(k, 'push')
            stored = self._store[k]
            merged = vals[0].copyto(stored.context)
            for extra in vals[1:]:
                merged += extra.as_in_context(stored.context)
            if self._updater is not None:
                self._updater(k, merged, stored)
            else:
                merged.copyto(stored)

    def pull(self, key, out=None, priority=0, ignore_sparse=True):
        """Copy the stored array of each key into ``out`` (an NDArray or a list of them)."""
        if out is None:
            raise MXNetValueError('KVStore.pull: out is required')
        keys, outs = _pairs(key, out, 'pull')
        for k, targets in zip(keys, outs):
            self._check_key(k, 'pull')
            for target in targets:
                self._store[k].copyto(target)

    def pushpull(self, key, value, out=None, priority=0):
        """:meth:`push` then :meth:`pull` (into ``out``, or back into ``value``)."""
        self.push(key, value, priority)
        self.pull(key, out if out is not None else value, priority)

    def broadcast(self, key, value, out, priority=0):
        """:meth:`init` the key with ``value``, then :meth:`pull` it into ``out``."""
        self.init(key, value)
        self.pull(key, out, priority)

    def row_sparse_pull(self, key, out=None, priority=0, row_ids=None):
        """Not available: mxref has no sparse arrays."""
        raise MXNetError('KVStore.row_sparse_pull: mxref has no sparse arrays')

    def set_gradient_compression(self, compression_params):
        """Not supported: mxref keeps gradients uncompressed."""
        raise MXNetError('KVStore.set_gradient_compression: gradient compression (%r) is not '
                         'supported by mxref' % (compression_params,))

    def set_optimizer(self, optimizer):
        """Run ``optimizer`` on the stored arrays at every push."""
        if not isinstance(optimizer, opt.Optimizer):
            raise MXNetTypeError('KVStore.set_optimizer: expected an Optimizer, got %s'
                                 % type(optimizer).__name__)
        self._set_updater(opt.get_updater(optimizer))

    def _set_updater(self, updater):
        self._updater = updater

    def set_updater(self, updater):
        """Use ``updater(key, merged_value, stored_value)`` at every push."""
        self._set_updater(updater)

    def save_optimizer_states(self, fname, dump_optimizer=False):
        """Write the updater's states to ``fname`` (mxref's parsed states format)."""
        if self._updater is None:
            raise MXNetValueError('KVStore.save_optimizer_states: no optimizer is set')
        atomic_write(fname, self._updater.get_states(dump_optimizer))

    def load_optimizer_states(self, fname):
        """Read states written by :meth:`save_optimizer_states`."""
        if self._updater is None:
            raise MXNetValueError('KVStore.load_optimizer_states: no optimizer is set')
        with open(fname, 'rb') as f:
            self._updater.set_states(f.read())


def create(name='local'):
    """A new :class:`KVStore` of type ``name`` ('local' or 'device', ...)."""
    if not isinstance(name, str):
        raise MXNetTypeError('name must be a string, got %s' % type(name).__name__)
    return KVStore(name)
