"""``Module``: a symbol bound on one or more devices, trained through the module API.

Everything here is built from the intermediate API of :class:`~mxref.executor.Executor`
(``simple_bind``, ``forward``, ``backward``, ``reshape``): the executors are made once at
:meth:`Module.bind`, and each batch only copies its arrays into them.
"""
import logging
import warnings

from .. import context as ctx
from .. import optimizer as opt
from ..base import MXNetError, MXNetTypeError, MXNetValueError
from ..initializer import Uniform, InitDesc
from ..io import DataDesc
from ..model import (_create_kvstore, _initialize_kvstore, _update_params,
                     _update_params_on_kvstore, load_checkpoint)
from ..ndarray import zeros
from ..ndarray.serialization import atomic_write
from .base_module import BaseModule, ModuleStateError, _check_input_names, _parse_data_desc
from .executor_group import DataParallelExecutorGroup

__all__ = ['Module']


class MissingParamError(MXNetError, RuntimeError):
    """A parameter was missing from the given ``arg_params``/``aux_params``."""


class Module(BaseModule):
    """A module made of a :class:`~mxref.symbol.Symbol`.

    Parameters
    ----------
    symbol : Symbol
    data_names : list of str, default ``('data',)``
    label_names : list of str, default ``('softmax_label',)``
    logger : Logger, default ``logging``
    context : Context or list of Context, default ``mx.cpu()``
        With several contexts each batch is split among them.
    work_load_list : list of number, optional
        Relative share of each context (default: equal).
    fixed_param_names : list of str, optional
        Parameters that are not updated.
    state_names : list of str, optional
        Inputs that are neither data nor labels, set with :meth:`set_states`.
    group2ctxs : dict, optional
        Accepted for compatibility (placing groups of operators on devices is not supported).
    compression_params : dict, optional
        Gradient compression; not supported by mxref's KVStore (an error if one is used).

    Examples
    --------
    >>> import mxref as mx
    >>> net = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(mx.sym.Variable('data'),
    ...                                                   num_hidden=3, name='fc'),
    ...                            name='softmax')
    >>> mod = mx.mod.Module(net)
    >>> mod.bind(data_shapes=[('data', (4, 5))], label_shapes=[('softmax_label', (4,))])
    >>> mod.init_params()
    >>> mod.output_shapes
    [('softmax_output', (4, 3))]
    """

    def __init__(self, symbol, data_names=('data',), label_names=('softmax_label',),
                 logger=logging, context=ctx.cpu(), work_load_list=None, fixed_param_names=None,
                 state_names=None, group2ctxs=None, compression_params=None):
        super().__init__(logger=logger)
        if isinstance(context, ctx.Context):
            context = [context]
        self._context = list(context)
        if work_load_list is None:
            work_load_list = [1] * len(self._context)
        if len(work_load_list) != len(self._context):
            raise MXNetValueError('work_load_list has %d entries for %d contexts'
                                  % (len(work_load_list), len(self._context)))
        self._work_load_list = work_load_list
        self._group2ctxs = group2ctxs
        self._symbol = symbol
        data_names = list(data_names) if data_names is not None else []
        label_names = list(label_names) if label_names is not None else []
        state_names = list(state_names) if state_names is not None else []
        fixed_param_names = list(fixed_param_names) if fixed_param_names is not None else []
        _check_input_names(symbol, data_names, 'data', True)
        _check_input_names(symbol, label_names, 'label', False)
        _check_input_names(symbol, state_names, 'state', True)
        _check_input_names(symbol, fixed_param_names, 'fixed_param', True)
        arg_names = symbol.list_arguments()
        input_names = data_names + label_names + state_names
        self._param_names = [x for x in arg_names if x not in input_names]
        self._fixed_param_names = fixed_param_names
        self._aux_names = symbol.list_auxiliary_states()
        self._data_names = data_names
        self._label_names = label_names
        self._state_names = state_names
        self._output_names = symbol.list_outputs()
        self._arg_params = None
        self._aux_params = None
        self._params_dirty = False
        self._compression_params = compression_params
        self._optimizer = None
        self._kvstore = None
        self._update_on_kvstore = None
        self._updater = None
        self._preload_opt_states = None
        self._grad_req = None
        self._exec_group = None
        self._data_shapes = None
        self._label_shapes = None

    @staticmethod
    def load(prefix, epoch, load_optimizer_states=False, **kwargs):
        """A Module from the checkpoint ``prefix-symbol.json`` / ``prefix-%04d.params``; with
        ``load_optimizer_states`` the states in ``prefix-%04d.states`` are loaded at
        :meth:`init_optimizer`.  ``kwargs`` go to the constructor."""
        sym, args, auxs = load_checkpoint(prefix, epoch)
        mod = Module(symbol=sym, **kwargs)
        mod._arg_params = args
        mod._aux_params = auxs
        mod.params_initialized = True
        if load_optimizer_states:
            mod._preload_opt_states = '%s-%04d.states' % (prefix, epoch)
        return mod

    def save_checkpoint(self, prefix, epoch, save_optimizer_states=False, remove_amp_cast=True):
        """Save ``prefix-symbol.json``, ``prefix-%04d.params`` and, optionally, the optimizer
        states in ``prefix-%04d.states``."""
        self._symbol.save('%s-symbol.json' % prefix, remove_amp_cast=remove_amp_cast)
        param_name = '%s-%04d.params' % (prefix, epoch)
        self.save_params(param_name)
        logging.info('Saved checkpoint to "%s"', param_name)
        if save_optimizer_states:
            state_name = '%s-%04d.states' % (prefix, epoch)
            self.save_optimizer_states(state_name)
            logging.info('Saved optimizer state to "%s"', state_name)

    def _reset_bind(self):
        self.binded = False
        self._exec_group = None
        self._data_shapes = None
        self._label_shapes = None

    # ------------------------------------------------------------------ names and shapes
    @property
    def data_names(self):
        return self._data_names

    @property
    def label_names(self):
        return self._label_names

    @property
    def output_names(self):
        return self._output_names

    @property
    def data_shapes(self):
        self._require('data_shapes', params=False)
        return self._data_shapes

    @property
    def label_shapes(self):
        self._require('label_shapes', params=False)
        return self._label_shapes

    @property
    def output_shapes(self):
        self._require('output_shapes', params=False)
        return self._exec_group.get_output_shapes()

    # ------------------------------------------------------------------ parameters
    def get_params(self):
        """``(arg_params, aux_params)`` as host arrays, synchronised from the devices."""
        if not self.params_initialized:
            raise ModuleStateError('Module.get_params: the parameters are not initialized; call '
                                   'init_params() first')
        if self._params_dirty:
            self._sync_params_from_devices()
        return (self._arg_params, self._aux_params)

    def init_params(self, initializer=Uniform(0.01), arg_params=None, aux_params=None,
                    allow_missing=False, force_init=False, allow_extra=False):
        """Initialise the parameters and auxiliary states.

        Values in ``arg_params``/``aux_params`` are copied; the others are filled by
        ``initializer`` (only if ``allow_missing``, when those dicts are given).  A second call
        is ignored with a warning unless ``force_init``.
        """
        if self.params_initialized and not force_init:
            warnings.warn('Parameters already initialized and force_init=False. init_params '
                          'call ignored.', stacklevel=2)
            return
        if not self.binded:
            raise ModuleStateError('Module.init_params: call bind before initializing the '
                                   'parameters')

        def fill(name, arr, cache):
            if cache is None:
                initializer(name, arr)
            elif name in cache:
                source = cache[name]
                if source is not arr:
                    if tuple(source.shape) != tuple(arr.shape):
                        raise MXNetValueError("init_params: '%s' has shape %s in the given "
                                              "parameters, the module needs %s"
                                              % (name, tuple(source.shape), arr.shape))
                    source.copyto(arr)
            else:
                if not allow_missing:
                    raise MissingParamError('%s is not presented' % name)
                if initializer is not None:
                    initializer(name, arr)

        attrs = self._symbol.attr_dict()
        for name, arr in sorted(self._arg_params.items()):
            fill(InitDesc(name, attrs.get(name, None)), arr, arg_params)
        for name, arr in sorted(self._aux_params.items()):
            fill(InitDesc(name, attrs.get(name, None)), arr, aux_params)
        self.params_initialized = True
        self._params_dirty = False
        self._exec_group.set_params(self._arg_params, self._aux_params, allow_extra=allow_extra)

    def set_params(self, arg_params, aux_params, allow_missing=False, force_init=True,
                   allow_extra=False):
        """Assign parameter values (those missing are kept when ``allow_missing``)."""
        if not allow_missing:
            self.init_params(initializer=None, arg_params=arg_params, aux_params=aux_params,
                             allow_missing=allow_missing, force_init=force_init,
                             allow_extra=allow_extra)
            return
        if self.params_initialized and not force_init:
            warnings.warn('Parameters already initialized and force_init=False. set_params '
                          'call ignored.', stacklevel=2)
            return
        self._require('set_params', params=False)
        self._exec_group.set_params(arg_params, aux_params, allow_extra=allow_extra)
        self._params_dirty = True
        self.params_initialized = True

    # ------------------------------------------------------------------ binding
    def bind(self, data_shapes, label_shapes=None, for_training=True, inputs_need_grad=False,
             force_rebind=False, shared_module=None, grad_req='write'):
        """Make the executors for ``data_shapes`` / ``label_shapes`` (lists of DataDesc or
        ``(name, shape)``).

        ``shared_module`` (bound, with parameters) lends its parameter arrays (and optimizer);
        ``grad_req`` is 'write', 'add' or 'null' (or per argument, as a list or dict).
        """
        if force_rebind:
            self._reset_bind()
        if self.binded:
            self.logger.warning('Already bound, ignoring bind()')
            return
        if not for_training and inputs_need_grad:
            raise MXNetValueError('bind: inputs_need_grad=True needs for_training=True')
        self.for_training = for_training
        self.inputs_need_grad = inputs_need_grad
        self._grad_req = grad_req
        self._data_shapes, self._label_shapes = _parse_data_desc(
            self.data_names, self.label_names, data_shapes, label_shapes)
        shared_group = None
        if shared_module is not None:
            if not (isinstance(shared_module, Module) and shared_module.binded
                    and shared_module.params_initialized):
                raise ModuleStateError('bind: shared_module must be a Module that is bound and '
                                       'has initialized parameters')
            shared_group = shared_module._exec_group
            if len(shared_group.execs) < len(self._context):
                raise MXNetValueError('bind: shared_module has fewer executors than contexts')
        self._exec_group = DataParallelExecutorGroup(
            self._symbol, self._context, self._work_load_list, self._data_shapes,
            self._label_shapes, self._param_names, for_training, inputs_need_grad, shared_group,
            logger=self.logger, fixed_param_names=self._fixed_param_names, grad_req=grad_req,
            group2ctxs=self._group2ctxs, state_names=self._state_names)
        self._total_exec_bytes = self._exec_group._total_exec_bytes
        if shared_module is not None:
            self.params_initialized = True
            self._arg_params = shared_module._arg_params
            self._aux_params = shared_module._aux_params
        elif self.params_initialized:
            # parameters came from Module.load or an earlier binding
            self._exec_group.set_params(self._arg_params, self._aux_params)
        else:
            # fresh host copies of the parameters (also after a force_rebind before
            # init_params, where MXNet would stop on an assertion)
            self._arg_params = {name: zeros(block[0].shape, dtype=block[0].dtype)
                                for name, block in zip(self._param_names,
                                                       self._exec_group.param_arrays)}
            self._aux_params = {name: zeros(block[0].shape, dtype=block[0].dtype)
                                for name, block in zip(self._aux_names,
                                                       self._exec_group.aux_arrays)}
        if shared_module is not None and shared_module.optimizer_initialized:
            self.borrow_optimizer(shared_module)
        self.binded = True

    def reshape(self, data_shapes, label_shapes=None):
        """Use executors for new input shapes (sharing the parameters)."""
        self._require('reshape', params=False)
        self._data_shapes, self._label_shapes = _parse_data_desc(
            self.data_names, self.label_names, data_shapes, label_shapes)
        self._exec_group.reshape(self._data_shapes, self._label_shapes)

    # ------------------------------------------------------------------ optimizer
    def init_optimizer(self, kvstore='local', optimizer='sgd',
                       optimizer_params=(('learning_rate', 0.01),), force_init=False):
        """Install the optimizer (a name with ``optimizer_params``, or an Optimizer).

        ``rescale_grad`` defaults to ``1 / batch_size``.  With several contexts a KVStore
        (``kvstore``) sums their gradients and, by default, runs the optimizer itself.
        """
        self._require('init_optimizer')
        if self.optimizer_initialized and not force_init:
            self.logger.warning('optimizer already initialized, ignoring...')
            return
        if self._params_dirty:
            self._sync_params_from_devices()
        kvstore, update_on_kvstore = _create_kvstore(kvstore, len(self._context),
                                                     self._arg_params)
        batch_size = self._exec_group.batch_size
        rescale_grad = 1.0 / batch_size
        idx2name = {}
        if update_on_kvstore:
            idx2name.update(enumerate(self._exec_group.param_names))
        else:
            for k in range(len(self._context)):
                idx2name.update({i * len(self._context) + k: n
                                 for i, n in enumerate(self._exec_group.param_names)})
        if isinstance(optimizer, str):
            optimizer_params = dict(optimizer_params)
            if 'rescale_grad' not in optimizer_params:
                optimizer_params['rescale_grad'] = rescale_grad
            optimizer = opt.create(optimizer, sym=self.symbol, param_idx2name=idx2name,
                                   **optimizer_params)
        elif isinstance(optimizer, opt.Optimizer):
            if optimizer.rescale_grad != rescale_grad:
                warnings.warn('Optimizer created manually outside Module but rescale_grad is not '
                              'normalized to 1.0/batch_size/num_workers (%s vs. %s). Is this '
                              'intended?' % (optimizer.rescale_grad, rescale_grad), stacklevel=2)
            if not optimizer.idx2name:
                optimizer.idx2name = idx2name.copy()
        else:
            raise MXNetTypeError('init_optimizer: optimizer must be a name or an Optimizer, got '
                                 '%s' % type(optimizer).__name__)
        self._optimizer = optimizer
        self._kvstore = kvstore
        self._update_on_kvstore = update_on_kvstore
        self._updater = None
        if kvstore:
            if self._compression_params:
                kvstore.set_gradient_compression(self._compression_params)
            if update_on_kvstore:
                kvstore.set_optimizer(self._optimizer)
            _initialize_kvstore(kvstore=kvstore, param_arrays=self._exec_group.param_arrays,
                                arg_params=self._arg_params, param_names=self._param_names,
                                update_on_kvstore=update_on_kvstore)
        if not update_on_kvstore:
            self._updater = opt.get_updater(optimizer)
        self.optimizer_initialized = True
        if self._preload_opt_states is not None:
            self.load_optimizer_states(self._preload_opt_states)
            self._preload_opt_states = None

    def borrow_optimizer(self, shared_module):
        """Use ``shared_module``'s optimizer, KVStore and updater (bucketing)."""
        if not shared_module.optimizer_initialized:
            raise ModuleStateError('borrow_optimizer: the shared module has no optimizer; call '
                                   'init_optimizer() on it first')
        self._optimizer = shared_module._optimizer
        self._kvstore = shared_module._kvstore
        self._update_on_kvstore = shared_module._update_on_kvstore
        self._updater = shared_module._updater
        self.optimizer_initialized = True

    # ------------------------------------------------------------------ computation
    def forward(self, data_batch, is_train=None):
        """Forward on ``data_batch``; a batch whose data shapes differ from the bound ones
        switches to executors for those shapes (made once, sharing the parameters)."""
        self._require('forward')
        current = tuple(d.shape for d in self._data_shapes)
        if isinstance(data_batch, list):
            new_shapes = []
            for i in range(len(data_batch[0].data)):
                shape = tuple(data_batch[0].data[i].shape)
                if any(tuple(db.data[i].shape) != shape for db in data_batch):
                    raise MXNetValueError('All data batches in a list need to have the same '
                                          'shape')
                new_shapes.append((len(data_batch) * shape[0],) + shape[1:])
            new_shapes = tuple(new_shapes)
        else:
            new_shapes = tuple(tuple(d.shape) for d in data_batch.data)
        if current != new_shapes:
            if getattr(data_batch, 'provide_data', None):
                new_dshape = data_batch.provide_data
            else:
                new_dshape = [DataDesc(d.name, shape, d.dtype, d.layout)
                              for d, shape in zip(self._data_shapes, new_shapes)]
            if getattr(data_batch, 'provide_label', None):
                new_lshape = data_batch.provide_label
            elif getattr(data_batch, 'label', None) and self._label_shapes:
                new_lshape = [DataDesc(d.name, tuple(lab.shape), d.dtype, d.layout)
                              for d, lab in zip(self._label_shapes, data_batch.label)]
            elif self._label_shapes:
                # no labels given: resize them with the batch so the shapes stay consistent
                new_lshape = [DataDesc(d.name, (new_shapes[0][0],) + tuple(d.shape[1:]),
                                       d.dtype, d.layout) for d in self._label_shapes]
            else:
                new_lshape = None
            self.reshape(new_dshape, new_lshape)
        self._exec_group.forward(data_batch, is_train)

    def backward(self, out_grads=None):
        """Backward from the last forward (``out_grads`` for outputs that are not losses)."""
        self._require('backward', training=True)
        self._exec_group.backward(out_grads=out_grads)

    def update(self):
        """One optimizer step on every parameter from the last gradients."""
        self._require('update', optimizer=True)
        self._params_dirty = True
        if self._update_on_kvstore:
            _update_params_on_kvstore(self._exec_group.param_arrays,
                                      self._exec_group.grad_arrays, self._kvstore,
                                      self._exec_group.param_names)
        else:
            _update_params(self._exec_group.param_arrays, self._exec_group.grad_arrays,
                           updater=self._updater, num_device=len(self._context),
                           kvstore=self._kvstore, param_names=self._exec_group.param_names)

    def get_outputs(self, merge_multi_context=True):
        """The outputs of the last forward (per device when ``merge_multi_context=False``)."""
        self._require('get_outputs')
        return self._exec_group.get_outputs(merge_multi_context=merge_multi_context)

    def get_input_grads(self, merge_multi_context=True):
        """The gradients of the data inputs (needs ``bind(..., inputs_need_grad=True)``)."""
        self._require('get_input_grads')
        if not self.inputs_need_grad:
            raise ModuleStateError('Module.get_input_grads: bind with inputs_need_grad=True to '
                                   'get the gradients of the inputs')
        return self._exec_group.get_input_grads(merge_multi_context=merge_multi_context)

    def get_states(self, merge_multi_context=True):
        """The values of the state inputs (``state_names``)."""
        self._require('get_states')
        return self._exec_group.get_states(merge_multi_context=merge_multi_context)

    def set_states(self, states=None, value=None):
        """Set the state inputs from arrays (per device) or to a scalar ``value``."""
        self._require('set_states')
        self._exec_group.set_states(states, value)

    def update_metric(self, eval_metric, labels, pre_sliced=False):
        """Accumulate ``eval_metric`` on the last outputs and ``labels``."""
        self._require('update_metric', params=False)
        self._exec_group.update_metric(eval_metric, labels, pre_sliced)

    def _sync_params_from_devices(self):
        self._exec_group.get_params(self._arg_params, self._aux_params)
        self._params_dirty = False

    def save_optimizer_states(self, fname):
        """Save the optimizer's states (mxref's documented format, see
        :mod:`mxref.optimizer.optimizer`) to ``fname``, atomically."""
        self._require('save_optimizer_states', optimizer=True)
        if self._update_on_kvstore:
            self._kvstore.save_optimizer_states(fname)
        else:
            atomic_write(fname, self._updater.get_states())

    def load_optimizer_states(self, fname):
        """Load optimizer states written by :meth:`save_optimizer_states`."""
        self._require('load_optimizer_states', optimizer=True)
        if self._update_on_kvstore:
            self._kvstore.load_optimizer_states(fname)
        else:
            try:
                with open(fname, 'rb') as f:
                    data = f.read()
            except OSError as err:
                raise MXNetValueError('load_optimizer_states: cannot read %r: %s'
                                      % (fname, err.strerror)) from None
            self._updater.set_states(data)

    def install_monitor(self, mon):
        """Install a :class:`~mxref.monitor.Monitor` on every executor."""
        self._require('install_monitor', params=False)
        self._exec_group.install_monitor(mon)

    def prepare(self, data_batch, sparse_row_id_fn=None):
        """Nothing to prepare without sparse parameters."""
        self._require('prepare', params=False)
        if sparse_row_id_fn is not None:
            warnings.warn(UserWarning('Parameters are not updated in the KVStore. No need to '
                                      'call sparse_row_id_fn.'))
