"""``BucketingModule``: one network per input length, all sharing one set of parameters.

A recurrent network unrolled over T steps is a different graph for every T.  Padding every
sequence to the longest length wastes work on short ones; instead the data are grouped into
*buckets* of similar length (see :class:`~mxref.rnn.BucketSentenceIter`), each batch says
which bucket it belongs to (``batch.bucket_key``), and the module keeps one
:class:`~mxref.module.Module` per bucket, made on first use from ``sym_gen(bucket_key)``.

The module of the *default* bucket (normally the largest) is bound first and owns the
parameter arrays, their gradients and the optimizer; every other bucket's module is bound with
``shared_module=`` that module, so its executors use the very same arrays.  Training on a batch
of bucket 10 and then on one of bucket 20 therefore updates one set of weights.
"""
import logging
import warnings

import numpy as np

from .. import context as ctx
from .. import ndarray as nd
from .. import symbol as sym
from ..base import MXNetValueError
from ..initializer import Uniform
from ..model import load_params
from ..name import NameManager
from .base_module import BaseModule, ModuleStateError, _check_input_names
from .module import Module

__all__ = ['BucketingModule']


class BucketingModule(BaseModule):
    """A module that switches between networks by the ``bucket_key`` of each batch.

    Parameters
    ----------
    sym_gen : callable
        ``sym_gen(bucket_key) -> (symbol, data_names, label_names)``: the network for one
        bucket.  Every bucket's parameters must be among the default bucket's.
    default_bucket_key : hashable
        The bucket bound first, whose module owns the parameters (usually the largest).
    logger : Logger, default ``logging``
    context : Context or list of Context, default ``mx.cpu()``
    work_load_list : list of number, optional
    fixed_param_names : list of str, optional
        Parameters that are not updated.
    state_names : list of str, optional
        Inputs that are states (set with :meth:`set_states`), not data or labels.
    group2ctxs : dict, optional
        Passed on to every :class:`Module`.
    compression_params : dict, optional
        Passed on to every :class:`Module`.

    Examples
    --------
    >>> import mxref as mx
    >>> def sym_gen(length):
    ...     data = mx.sym.Variable('data')
    ...     cell = mx.rnn.RNNCell(4, prefix='rnn_')
    ...     outputs, _ = cell.unroll(length, mx.sym.Embedding(data, input_dim=10, output_dim=3,
    ...                                                       name='embed'), merge_outputs=True)
    ...     pred = mx.sym.FullyConnected(mx.sym.Reshape(outputs, shape=(-1, 4)), num_hidden=10,
    ...                                  name='pred')
    ...     label = mx.sym.Reshape(mx.sym.Variable('softmax_label'), shape=(-1,))
    ...     return mx.sym.SoftmaxOutput(pred, label, name='softmax'), ('data',), ('softmax_label',)
    ...
    >>> mod = mx.mod.BucketingModule(sym_gen, default_bucket_key=5)
    >>> mod.bind(data_shapes=[('data', (2, 5))], label_shapes=[('softmax_label', (2, 5))])
    >>> mod.init_params()
    >>> short = mx.io.DataBatch([mx.nd.ones((2, 3))], [mx.nd.ones((2, 3))], bucket_key=3,
    ...                         provide_data=[('data', (2, 3))],
    ...                         provide_label=[('softmax_label', (2, 3))])
    >>> mod.forward(short, is_train=False)
    >>> mod.get_outputs()[0].shape
    (6, 10)
    >>> sorted(mod._buckets)
    [3, 5]
    """

    def __init__(self, sym_gen, default_bucket_key=None, logger=logging, context=ctx.cpu(),
                 work_load_list=None, fixed_param_names=None, state_names=None,
                 group2ctxs=None, compression_params=None):
        super().__init__(logger=logger)
        if default_bucket_key is None:
            raise MXNetValueError('BucketingModule: default_bucket_key must be given')
        self._default_bucket_key = default_bucket_key
        self._sym_gen = sym_gen
        symbol, data_names, label_names = self._call_sym_gen(default_bucket_key)
        data_names = list(data_names) if data_names is not None else []
        label_names = list(label_names) if label_names is not None else []
        state_names = list(state_names) if state_names is not None else []
        fixed_param_names = list(fixed_param_names) if fixed_param_names is not None else []
        _check_input_names(symbol, data_names, 'data', True)
        _check_input_names(symbol, label_names, 'label', False)
        _check_input_names(symbol, state_names, 'state', True)
        _check_input_names(symbol, fixed_param_names, 'fixed_param', True)
        self._compression_params = compression_params
        self._fixed_param_names = fixed_param_names
        self._state_names = state_names
        self._context = context
        self._work_load_list = work_load_list
        self._group2ctxs = group2ctxs
        self._buckets = {}              # bucket_key -> Module
        self._curr_module = None
        self._curr_bucket_key = None
        self._params_dirty = False
        self._monitor = None
        self._grad_req = None

    def _reset_bind(self):
        self.binded = False
        self._buckets = {}
        self._curr_module = None
        self._curr_bucket_key = None

    def _call_sym_gen(self, bucket_key):
        """``sym_gen(bucket_key)`` under a fresh NameManager, so that automatic node names do
        not depend on how many graphs were built before."""
        with NameManager():
            return self._sym_gen(bucket_key)

    def _new_module(self, symbol, data_names, label_names):
        return Module(symbol, data_names, label_names, logger=self.logger,
                      context=self._context, work_load_list=self._work_load_list,
                      fixed_param_names=self._fixed_param_names,
                      state_names=self._state_names, group2ctxs=self._group2ctxs,
                      compression_params=self._compression_params)

    # ------------------------------------------------------------------ names and shapes
    @property
    def data_names(self):
        """The data names of the current bucket (of the default one before binding)."""
        if self.binded:
            return self._curr_module.data_names
        return self._call_sym_gen(self._default_bucket_key)[1]

    @property
    def output_names(self):
        """The output names of the current bucket (of the default one before binding)."""
        if self.binded:
            return self._curr_module.output_names
        return self._call_sym_gen(self._default_bucket_key)[0].list_outputs()

    @property
    def data_shapes(self):
        self._require('data_shapes', params=False)
        return self._curr_module.data_shapes

    @property
    def label_shapes(self):
        self._require('label_shapes', params=False)
        return self._curr_module.label_shapes

    @property
    def output_shapes(self):
        self._require('output_shapes', params=False)
        return self._curr_module.output_shapes

    @property
    def symbol(self):
        """The symbol of the current bucket."""
        self._require('symbol', params=False)
        return self._curr_module.symbol

    # ------------------------------------------------------------------ parameters
    def get_params(self):
        """``(arg_params, aux_params)``, the shared parameters as host arrays."""
        if not self.params_initialized:
            raise ModuleStateError('BucketingModule.get_params: the parameters are not '
                                   'initialized; call init_params() first')
        self._curr_module._params_dirty = self._params_dirty
        params = self._curr_module.get_params()
        self._params_dirty = False
        return params

    def set_params(self, arg_params, aux_params, allow_missing=False, force_init=True,
                   allow_extra=False):
        """Assign parameter values (all buckets see them: they share the arrays)."""
        if not allow_missing:
            self.init_params(initializer=None, arg_params=arg_params, aux_params=aux_params,
                             allow_missing=allow_missing, force_init=force_init)
            return
        if self.params_initialized and not force_init:
            warnings.warn('Parameters already initialized and force_init=False. set_params '
                          'call ignored.', stacklevel=2)
            return
        self._curr_module.set_params(arg_params, aux_params, allow_missing=allow_missing,
                                     force_init=force_init, allow_extra=allow_extra)
        self._params_dirty = True
        self.params_initialized = True

    def init_params(self, initializer=Uniform(0.01), arg_params=None, aux_params=None,
                    allow_missing=False, force_init=False, allow_extra=False):
        """Initialise the parameters (of the current bucket's module, which shares them)."""
        if self.params_initialized and not force_init:
            return
        self._require('init_params', params=False)
        self._curr_module.init_params(initializer=initializer, arg_params=arg_params,
                                      aux_params=aux_params, allow_missing=allow_missing,
                                      force_init=force_init, allow_extra=allow_extra)
        self._params_dirty = False
        self.params_initialized = True

    def get_states(self, merge_multi_context=True):
        """The state inputs of the current bucket."""
        self._require('get_states')
        return self._curr_module.get_states(merge_multi_context=merge_multi_context)

    def set_states(self, states=None, value=None):
        """Set the state inputs of the current bucket."""
        self._require('set_states')
        self._curr_module.set_states(states, value)

    # ------------------------------------------------------------------ binding and buckets
    def bind(self, data_shapes, label_shapes=None, for_training=True, inputs_need_grad=False,
             force_rebind=False, shared_module=None, grad_req='write'):
        """Bind the default bucket's module for these shapes (the default bucket's data and
        label shapes).  The other buckets are bound when first met.

        ``shared_module`` is not supported (the module shares within itself).
        """
        if self.params_initialized:
            arg_params, aux_params = self.get_params()
        if force_rebind:
            self._reset_bind()
        if self.binded:
            self.logger.warning('Already bound, ignoring bind()')
            return
        if shared_module is not None:
            raise MXNetValueError('shared_module for BucketingModule is not supported')
        self.for_training = for_training
        self.inputs_need_grad = inputs_need_grad
        self.binded = True
        self._grad_req = grad_req
        module = self._buckets.get(self._default_bucket_key)
        if module is None:
            module = self._new_module(*self._call_sym_gen(self._default_bucket_key))
        module.bind(data_shapes, label_shapes, for_training, inputs_need_grad,
                    force_rebind=False, shared_module=None, grad_req=self._grad_req)
        self._curr_module = module
        self._curr_bucket_key = self._default_bucket_key
        self._buckets[self._default_bucket_key] = module
        if self.params_initialized:
            self.set_params(arg_params, aux_params)

    def switch_bucket(self, bucket_key, data_shapes, label_shapes=None):
        """Make ``bucket_key`` the current bucket, creating and binding its module (sharing
        the default bucket's parameters) the first time.

        Parameters
        ----------
        bucket_key : hashable
        data_shapes, label_shapes : list of DataDesc or (name, shape)
            Usually ``batch.provide_data`` and ``batch.provide_label``.
        """
        self._require('switch_bucket', params=False)
        module = self._buckets.get(bucket_key)
        if module is None:
            module = self._new_module(*self._call_sym_gen(bucket_key))
            self._buckets[bucket_key] = module
        if not module.binded:
            module.bind(data_shapes, label_shapes, self._curr_module.for_training,
                        self._curr_module.inputs_need_grad, force_rebind=False,
                        shared_module=self._buckets[self._default_bucket_key],
                        grad_req=self._grad_req)
            if self._monitor is not None:
                module.install_monitor(self._monitor)
        self._curr_module = module
        self._curr_bucket_key = bucket_key

    # ------------------------------------------------------------------ optimizer
    def init_optimizer(self, kvstore='local', optimizer='sgd',
                       optimizer_params=(('learning_rate', 0.01),), force_init=False):
        """Install the optimizer on the current module; every other bucket borrows it."""
        self._require('init_optimizer')
        if self.optimizer_initialized and not force_init:
            self.logger.warning('optimizer already initialized, ignoring.')
            return
        self._curr_module.init_optimizer(kvstore, optimizer, optimizer_params,
                                         force_init=force_init)
        for module in self._buckets.values():
            if module is not self._curr_module:
                module.borrow_optimizer(self._curr_module)
        self.optimizer_initialized = True

    # ------------------------------------------------------------------ computation
    def prepare(self, data_batch, sparse_row_id_fn=None):
        """Bind the batch's bucket now (so that it is ready for :meth:`forward`), staying in
        the current bucket."""
        self._require('prepare')
        original = self._curr_bucket_key
        self.switch_bucket(data_batch.bucket_key, data_batch.provide_data,
                           data_batch.provide_label)
        self._curr_module.prepare(data_batch, sparse_row_id_fn=sparse_row_id_fn)
        self.switch_bucket(original, None, None)

    def forward(self, data_batch, is_train=None):
        """Switch to ``data_batch.bucket_key`` and run forward there."""
        self._require('forward')
        self.switch_bucket(data_batch.bucket_key, data_batch.provide_data,
                           data_batch.provide_label)
        self._curr_module.forward(data_batch, is_train=is_train)

    def backward(self, out_grads=None):
        """Backward in the current bucket."""
        self._require('backward')
        self._curr_module.backward(out_grads=out_grads)

    def update(self):
        """Update the shared parameters from the current bucket's gradients."""
        self._require('update', optimizer=True)
        self._params_dirty = True
        self._curr_module.update()

    def get_outputs(self, merge_multi_context=True):
        """The outputs of the last forward (in the current bucket)."""
        self._require('get_outputs')
        return self._curr_module.get_outputs(merge_multi_context=merge_multi_context)

    def get_input_grads(self, merge_multi_context=True):
        """The input gradients of the last backward (needs ``inputs_need_grad``)."""
        self._require('get_input_grads')
        if not self.inputs_need_grad:
            raise ModuleStateError('BucketingModule.get_input_grads: bind with '
                                   'inputs_need_grad=True to get the gradients of the inputs')
        return self._curr_module.get_input_grads(merge_multi_context=merge_multi_context)

    def update_metric(self, eval_metric, labels, pre_sliced=False):
        """Accumulate ``eval_metric`` on the current bucket's last outputs."""
        self._require('update_metric')
        self._curr_module.update_metric(eval_metric, labels, pre_sliced)

    def install_monitor(self, mon):
        """Install a monitor on every bucket's module (also those bound later)."""
        self._require('install_monitor', params=False)
        self._monitor = mon
        for module in self._buckets.values():
            module.install_monitor(mon)

    # ------------------------------------------------------------------ checkpoints
    def save_checkpoint(self, prefix, epoch, remove_amp_cast=False):
        """Save ``prefix-%04d.params`` (the shared parameters), one
        ``prefix-<bucket_key>-symbol.json`` per bucket, and ``prefix.buckets`` (the bucket
        keys, an int32 NDArray file)."""
        if not self._buckets:
            raise ModuleStateError('Empty BucketingModule cannot be saved')
        self.save_params('%s-%04d.params' % (prefix, epoch))
        for bucket_key in self._buckets:
            symbol = self._call_sym_gen(bucket_key)[0]
            symbol.save('%s-%s-symbol.json' % (prefix, bucket_key),
                        remove_amp_cast=remove_amp_cast)
        nd.save('%s.buckets' % prefix, nd.array(list(self._buckets.keys()), dtype=np.int32))

    @staticmethod
    def load(prefix, epoch, sym_gen=None, default_bucket_key=None, **kwargs):
        """A BucketingModule with the buckets and parameters saved by :meth:`save_checkpoint`
        (call :meth:`bind` before using it).

        Parameters
        ----------
        prefix : str
        epoch : int
        sym_gen : callable
            The same function the module was made with (for the data and label names).
        default_bucket_key : hashable
        **kwargs
            More arguments for the constructor (``context``, ``logger``...).
        """
        if sym_gen is None:
            raise MXNetValueError('sym_gen is required for loading BucketingModule')
        if default_bucket_key is None:
            raise MXNetValueError('default_bucket_key is required for loading BucketingModule')
        saved = nd.load('%s.buckets' % prefix)
        if not isinstance(saved, list) or len(saved) != 1:
            raise MXNetValueError('BucketingModule.load: %s.buckets must hold one array of '
                                  'bucket keys' % prefix)
        module = BucketingModule(sym_gen, default_bucket_key, **kwargs)
        symbols = {int(key): sym.load('%s-%d-symbol.json' % (prefix, int(key)))
                   for key in saved[0].asnumpy().astype(np.int32)}
        arg_params, aux_params = load_params(prefix, epoch)
        return BucketingModule._with_buckets(module, symbols, arg_params, aux_params, kwargs)

    @staticmethod
    def load_dict(sym_dict=None, sym_gen=None, default_bucket_key=None, arg_params=None,
                  aux_params=None, **kwargs):
        """A BucketingModule from symbols and parameters in memory.

        Parameters
        ----------
        sym_dict : dict of bucket key to Symbol
        sym_gen : callable
        default_bucket_key : hashable
        arg_params, aux_params : dict of str to NDArray
        **kwargs
            More arguments for the constructor.
        """
        for value, what in ((sym_dict, 'sym_dict'), (arg_params, 'arg_params'),
                            (aux_params, 'aux_params'),
                            (default_bucket_key, 'default_bucket_key')):
            if value is None:
                raise MXNetValueError('%s needs to be provided for BucketingModule.load_dict'
                                      % what)
        module = BucketingModule(sym_gen, default_bucket_key, **kwargs)
        return BucketingModule._with_buckets(module, sym_dict, arg_params, aux_params, kwargs)

    @staticmethod
    def _with_buckets(module, symbols, arg_params, aux_params, kwargs):
        """Fill ``module`` with one unbound Module per saved symbol and the parameters."""
        if module._default_bucket_key not in symbols:
            raise MXNetValueError('the default bucket %r is not among the saved buckets %s'
                                  % (module._default_bucket_key, sorted(symbols)))
        for bucket_key, symbol in symbols.items():
            _, data_names, label_names = module._call_sym_gen(bucket_key)
            module._buckets[bucket_key] = Module(symbol, data_names, label_names, **kwargs)
        module._curr_module = module._buckets[module._default_bucket_key]
        module._curr_module._arg_params = arg_params
        module._curr_module._aux_params = aux_params
        module._curr_module.params_initialized = True
        module.params_initialized = True
        return module
