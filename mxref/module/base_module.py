"""``BaseModule``: the module API, and ``fit`` / ``score`` / ``predict`` written on top of it."""
import logging
import time
import warnings

import numpy as np

from .. import metric
from .. import ndarray
from ..base import MXNetError, MXNetValueError, MXNetTypeError
from ..context import cpu
from ..initializer import Uniform
from ..io import DataBatch, DataDesc, DataIter
from ..model import BatchEndParam, _as_list

__all__ = ['BaseModule', 'ModuleStateError']


class ModuleStateError(MXNetError, AssertionError):
    """A module method was called before the step it depends on (bind, init_params,
    init_optimizer).  It is an ``AssertionError`` too, like MXNet's checks."""


def _check_input_names(symbol, names, typename, throw):
    """Check every name in ``names`` is an argument of ``symbol``."""
    args = symbol.list_arguments()
    for name in names:
        if name in args:
            continue
        candidates = [arg for arg in args if not arg.endswith(('_weight', '_bias', '_gamma',
                                                               '_beta'))]
        msg = ("You created Module with Module(..., %s_names=%s) but input with name '%s' is not "
               "found in symbol.list_arguments(). Did you mean one of:\n\t%s"
               % (typename, str(names), name, '\n\t'.join(candidates)))
        if throw:
            raise MXNetValueError(msg)
        warnings.warn(msg)


def _check_names_match(data_names, data_shapes, name, throw):
    actual = [x[0] for x in data_shapes]
    if sorted(data_names) != sorted(actual):
        msg = ("Data provided by %s_shapes don't match names specified by %s_names (%s vs. %s)"
               % (name, name, str(data_shapes), str(data_names)))
        if throw:
            raise MXNetValueError(msg)
        warnings.warn(msg)


def _parse_data_desc(data_names, label_names, data_shapes, label_shapes):
    """``data_shapes`` and ``label_shapes`` as lists of DataDesc, checked against the names."""
    data_shapes = [x if isinstance(x, DataDesc) else DataDesc(*x) for x in data_shapes]
    _check_names_match(data_names, data_shapes, 'data', True)
    if label_shapes is not None:
        label_shapes = [x if isinstance(x, DataDesc) else DataDesc(*x) for x in label_shapes]
        _check_names_match(label_names, label_shapes, 'label', False)
    else:
        _check_names_match(label_names, [], 'label', False)
    return data_shapes, label_shapes


class BaseModule:
    """The base class of modules: a computation with parameters that can be trained.

    A module moves through these states, each needing the ones before it:

    1. **created**: the symbol (or other computation) is known, no memory is allocated;
    2. **bound** (:meth:`bind`): input shapes are known, executors and arrays exist
       (``binded``, ``for_training``, ``inputs_need_grad``);
    3. **parameters initialised** (:meth:`init_params`, :meth:`set_params`):
       ``params_initialized``; forward computation is possible;
    4. **optimizer installed** (:meth:`init_optimizer`): ``optimizer_initialized``;
       :meth:`update` is possible.

    Calling a method before its step raises :class:`ModuleStateError` naming the missing step.

    The intermediate-level API a module implements: :meth:`bind`, :meth:`init_params`,
    :meth:`init_optimizer`, :meth:`forward`, :meth:`backward`, :meth:`update`,
    :meth:`get_outputs`, :meth:`get_input_grads`, :meth:`update_metric`, :meth:`get_params`,
    :meth:`set_params`, and the properties ``data_names``, ``output_names``, ``data_shapes``,
    ``label_shapes``, ``output_shapes``.  From those, the high-level API follows: :meth:`fit`
    trains, :meth:`score` evaluates, :meth:`predict` collects outputs, each a plain loop over
    the intermediate calls.
    """

    def __init__(self, logger=logging):
        self.logger = logger
        self.binded = False
        self.for_training = False
        self.inputs_need_grad = False
        self.params_initialized = False
        self.optimizer_initialized = False
        self._symbol = None
        self._total_exec_bytes = 0

    def _require(self, method, params=True, optimizer=False, training=False):
        """Raise :class:`ModuleStateError` unless the steps ``method`` needs were done."""
        if not self.binded:
            raise ModuleStateError('%s.%s: the module is not bound; call bind() first'
                                   % (type(self).__name__, method))
        if params and not self.params_initialized:
            raise ModuleStateError('%s.%s: the parameters are not initialized; call '
                                   'init_params() (or set_params()) first'
                                   % (type(self).__name__, method))
        if optimizer and not self.optimizer_initialized:
            raise ModuleStateError('%s.%s: no optimizer is installed; call init_optimizer() '
                                   'first' % (type(self).__name__, method))
        if training and not self.for_training:
            raise ModuleStateError('%s.%s: the module was bound with for_training=False; '
                                   're-bind with for_training=True' % (type(self).__name__,
                                                                       method))

    # ------------------------------------------------------------------ high-level API
    def forward_backward(self, data_batch):
        """:meth:`forward` (training) then :meth:`backward`."""
        self.forward(data_batch, is_train=True)
        self.backward()

    def score(self, eval_data, eval_metric, num_batch=None, batch_end_callback=None,
              score_end_callback=None, reset=True, epoch=0, sparse_row_id_fn=None):
        """Run ``eval_data`` through the module and return ``eval_metric``'s
        ``[(name, value)]``.

        Parameters
        ----------
        eval_data : DataIter
        eval_metric : EvalMetric, name or list
        num_batch : int, optional
            Stop after this many batches.
        batch_end_callback, score_end_callback : callable or list, optional
            Called with a ``BatchEndParam`` after each batch / at the end.
        reset : bool, default True
            Reset ``eval_data`` first.
        epoch : int, default 0
            Passed to the callbacks.
        """
        self._require('score')
        if reset:
            eval_data.reset()
        if not isinstance(eval_metric, metric.EvalMetric):
            eval_metric = metric.create(eval_metric)
        eval_metric.reset()
        actual_num_batch = 0
        for nbatch, eval_batch in enumerate(eval_data):
            if num_batch is not None and nbatch == num_batch:
                break
            self.prepare(eval_batch, sparse_row_id_fn=sparse_row_id_fn)
            self.forward(eval_batch, is_train=False)
            if isinstance(eval_batch, list):
                self.update_metric(eval_metric, [eb.label for eb in eval_batch], pre_sliced=True)
            else:
                self.update_metric(eval_metric, eval_batch.label)
            if batch_end_callback is not None:
                params = BatchEndParam(epoch=epoch, nbatch=nbatch, eval_metric=eval_metric,
                                       locals=locals())
                for callback in _as_list(batch_end_callback):
                    callback(params)
            actual_num_batch += 1
        if score_end_callback:
            params = BatchEndParam(epoch=epoch, nbatch=actual_num_batch,
                                   eval_metric=eval_metric, locals=locals())
            for callback in _as_list(score_end_callback):
                callback(params)
        return eval_metric.get_name_value()

    def iter_predict(self, eval_data, num_batch=None, reset=True, sparse_row_id_fn=None):
        """Yield ``(outputs, batch number, batch)`` for every batch of ``eval_data``, the
        outputs without the padded examples."""
        self._require('iter_predict')
        if reset:
            eval_data.reset()
        for nbatch, eval_batch in enumerate(eval_data):
            if num_batch is not None and nbatch == num_batch:
                break
            self.prepare(eval_batch, sparse_row_id_fn=sparse_row_id_fn)
            self.forward(eval_batch, is_train=False)
            pad = eval_batch.pad or 0
            outputs = [out[0:out.shape[0] - pad] for out in self.get_outputs()]
            yield (outputs, nbatch, eval_batch)

    def predict(self, eval_data, num_batch=None, merge_batches=True, reset=True,
                always_output_list=False, sparse_row_id_fn=None):
        """Run prediction and collect the outputs (padded examples removed).

        With ``merge_batches`` (default) the result is one array per output, the batches
        joined; a single output is returned alone unless ``always_output_list``.  Otherwise it
        is a list per batch of lists of outputs.  ``eval_data`` may also be one NDArray or
        NumPy array (a single batch).
        """
        self._require('predict')
        if isinstance(eval_data, (ndarray.NDArray, np.ndarray)):
            if isinstance(eval_data, np.ndarray):
                eval_data = ndarray.array(eval_data)
            self.forward(DataBatch([eval_data]))
            return self.get_outputs()[0]
        if not isinstance(eval_data, DataIter):
            raise MXNetTypeError('eval_data must be of type NDArray or DataIter, got %s'
                                 % type(eval_data).__name__)
        if reset:
            eval_data.reset()
        output_list = []
        for nbatch, eval_batch in enumerate(eval_data):
            if num_batch is not None and nbatch == num_batch:
                break
            self.prepare(eval_batch, sparse_row_id_fn=sparse_row_id_fn)
            self.forward(eval_batch, is_train=False)
            pad = eval_batch.pad or 0
            output_list.append([out[0:out.shape[0] - pad].copy() for out in self.get_outputs()])
        if not output_list:
            return output_list
        if merge_batches:
            num_outputs = len(output_list[0])
            if any(len(out) != num_outputs for out in output_list):
                raise MXNetValueError('Cannot merge batches, as num of outputs is not the same '
                                      'in mini-batches. Maybe bucketing is used?')
            merged = [ndarray.concatenate([out[i] for out in output_list])
                      for i in range(num_outputs)]
            if num_outputs == 1 and not always_output_list:
                return merged[0]
            return merged
        return output_list

    def fit(self, train_data, eval_data=None, eval_metric='acc', epoch_end_callback=None,
            batch_end_callback=None, kvstore='local', optimizer='sgd',
            optimizer_params=(('learning_rate', 0.01),), eval_end_callback=None,
            eval_batch_end_callback=None, initializer=Uniform(0.01), arg_params=None,
            aux_params=None, allow_missing=False, force_rebind=False, force_init=False,
            begin_epoch=0, num_epoch=None, validation_metric=None, monitor=None,
            sparse_row_id_fn=None):
        """Train the module on ``train_data`` for epochs ``begin_epoch .. num_epoch - 1``.

        Binds, initialises the parameters (``arg_params``/``aux_params`` first, else
        ``initializer``) and installs the optimizer, unless already done; then each epoch runs
        forward, backward and update on every batch, logs ``Epoch[k] Train-<metric>=<value>``
        and ``Epoch[k] Time cost=<seconds>``, calls ``epoch_end_callback(epoch, symbol,
        arg_params, aux_params)``, and with ``eval_data`` logs
        ``Epoch[k] Validation-<metric>=<value>``.

        Parameters
        ----------
        train_data : DataIter
        eval_data : DataIter, optional
        eval_metric : str, EvalMetric or list, default 'acc'
        epoch_end_callback, batch_end_callback : callable or list, optional
        kvstore : str or KVStore, default 'local'
        optimizer : str or Optimizer, default 'sgd'
        optimizer_params : dict or pairs, default ``(('learning_rate', 0.01),)``
        eval_end_callback, eval_batch_end_callback : callable or list, optional
        initializer : Initializer, default ``Uniform(0.01)``
        arg_params, aux_params : dict of str to NDArray, optional
        allow_missing, force_rebind, force_init : bool, default False
        begin_epoch : int, default 0
        num_epoch : int
        validation_metric : optional
            The metric for ``eval_data`` (default: ``eval_metric``).
        monitor : Monitor, optional
        """
        if num_epoch is None:
            raise MXNetValueError('please specify number of epochs')
        self.bind(data_shapes=train_data.provide_data, label_shapes=train_data.provide_label,
                  for_training=True, force_rebind=force_rebind)
        if monitor is not None:
            self.install_monitor(monitor)
        self.init_params(initializer=initializer, arg_params=arg_params, aux_params=aux_params,
                         allow_missing=allow_missing, force_init=force_init)
        self.init_optimizer(kvstore=kvstore, optimizer=optimizer,
                            optimizer_params=optimizer_params)
        if validation_metric is None:
            validation_metric = eval_metric
        if not isinstance(eval_metric, metric.EvalMetric):
            eval_metric = metric.create(eval_metric)

        for epoch in range(begin_epoch, num_epoch):
            tic = time.time()
            eval_metric.reset()
            nbatch = 0
            data_iter = iter(train_data)
            end_of_batch = False
            next_data_batch = next(data_iter)
            while not end_of_batch:
                data_batch = next_data_batch
                if monitor is not None:
                    monitor.tic()
                self.forward_backward(data_batch)
                self.update()
                if isinstance(data_batch, list):
                    self.update_metric(eval_metric, [db.label for db in data_batch],
                                       pre_sliced=True)
                else:
                    self.update_metric(eval_metric, data_batch.label)
                try:
                    next_data_batch = next(data_iter)         # fetch ahead of the callbacks
                    self.prepare(next_data_batch, sparse_row_id_fn=sparse_row_id_fn)
                except StopIteration:
                    end_of_batch = True
                if monitor is not None:
                    monitor.toc_print()
                if end_of_batch:
                    eval_name_vals = eval_metric.get_global_name_value()
                if batch_end_callback is not None:
                    params = BatchEndParam(epoch=epoch, nbatch=nbatch, eval_metric=eval_metric,
                                           locals=locals())
                    for callback in _as_list(batch_end_callback):
                        callback(params)
                nbatch += 1

            for name, val in eval_name_vals:
                self.logger.info('Epoch[%d] Train-%s=%f', epoch, name, val)
            toc = time.time()
            self.logger.info('Epoch[%d] Time cost=%.3f', epoch, (toc - tic))

            # bring the parameters to the host copies (and every device back in sync)
            arg_params, aux_params = self.get_params()
            self.set_params(arg_params, aux_params)
            if epoch_end_callback is not None:
                for callback in _as_list(epoch_end_callback):
                    callback(epoch, self.symbol, arg_params, aux_params)

            if eval_data is not None:
                res = self.score(eval_data, validation_metric,
                                 score_end_callback=eval_end_callback,
                                 batch_end_callback=eval_batch_end_callback, epoch=epoch)
                for name, val in res:
                    self.logger.info('Epoch[%d] Validation-%s=%f', epoch, name, val)
            train_data.reset()

    # ------------------------------------------------------------------ symbol information
    @property
    def data_names(self):
        """Names of the data inputs."""
        raise NotImplementedError()

    @property
    def output_names(self):
        """Names of the outputs."""
        raise NotImplementedError()

    @property
    def data_shapes(self):
        """``[DataDesc]`` of the data inputs (after :meth:`bind`)."""
        raise NotImplementedError()

    @property
    def label_shapes(self):
        """``[DataDesc]`` of the labels (``[]``/None without labels)."""
        raise NotImplementedError()

    @property
    def output_shapes(self):
        """``[(name, shape)]`` of the outputs."""
        raise NotImplementedError()

    # ------------------------------------------------------------------ parameters
    def get_params(self):
        """``(arg_params, aux_params)``: dicts of host copies of the parameters."""
        raise NotImplementedError()

    def init_params(self, initializer=Uniform(0.01), arg_params=None, aux_params=None,
                    allow_missing=False, force_init=False, allow_extra=False):
        """Initialise the parameters (from ``arg_params``/``aux_params`` where given, else
        with ``initializer``)."""
        raise NotImplementedError()

    def set_params(self, arg_params, aux_params, allow_missing=False, force_init=True,
                   allow_extra=False):
        """Assign parameter values (``init_params`` with no initializer)."""
        self.init_params(initializer=None, arg_params=arg_params, aux_params=aux_params,
                         allow_missing=allow_missing, force_init=force_init,
                         allow_extra=allow_extra)

    def save_params(self, fname):
        """Save the parameters to ``fname`` (``arg:``/``aux:`` keys, MXNet's format)."""
        arg_params, aux_params = self.get_params()
        save_dict = {('arg:%s' % k): v.as_in_context(cpu()) for k, v in arg_params.items()}
        save_dict.update({('aux:%s' % k): v.as_in_context(cpu()) for k, v in aux_params.items()})
        ndarray.save(fname, save_dict)

    def load_params(self, fname):
        """Load parameters saved by :meth:`save_params` (or in a ``.params`` checkpoint)."""
        save_dict = ndarray.load(fname)
        if not isinstance(save_dict, dict):
            raise MXNetValueError('Invalid param file %s: it holds a list, not named arrays'
                                  % fname)
        arg_params, aux_params = {}, {}
        for key, value in save_dict.items():
            kind, _, name = key.partition(':')
            if kind == 'arg':
                arg_params[name] = value
            elif kind == 'aux':
                aux_params[name] = value
            else:
                raise MXNetValueError('Invalid param file %s: key %r is neither arg: nor aux:'
                                      % (fname, key))
        self.set_params(arg_params, aux_params)

    def get_states(self, merge_multi_context=True):
        """The values of the state inputs (none in a BaseModule)."""
        self._require('get_states')
        if merge_multi_context:
            raise MXNetValueError('get_states: this module has no states')
        return []

    def set_states(self, states=None, value=None):
        """Set the state inputs (none in a BaseModule)."""
        self._require('set_states')
        if states or value:
            raise MXNetValueError('set_states: this module has no states')

    def install_monitor(self, mon):
        """Install a :class:`~mxref.monitor.Monitor` on the executors."""
        raise NotImplementedError()

    # ------------------------------------------------------------------ computation
    def prepare(self, data_batch, sparse_row_id_fn=None):
        """Get ready for ``data_batch`` (nothing to do without sparse parameters)."""
        if sparse_row_id_fn is not None:
            warnings.warn(UserWarning('sparse_row_id_fn is not invoked for BaseModule.'))

    def forward(self, data_batch, is_train=None):
        """Forward computation on ``data_batch`` (its shape may differ from the bound one)."""
        raise NotImplementedError()

    def backward(self, out_grads=None):
        """Backward computation (``out_grads`` only for outputs that are not losses)."""
        raise NotImplementedError()

    def get_outputs(self, merge_multi_context=True):
        """The outputs of the last forward."""
        raise NotImplementedError()

    def get_input_grads(self, merge_multi_context=True):
        """The gradients of the inputs from the last backward (needs
        ``inputs_need_grad=True``)."""
        raise NotImplementedError()

    def update(self):
        """Update the parameters with the optimizer and the last gradients."""
        raise NotImplementedError()

    def update_metric(self, eval_metric, labels, pre_sliced=False):
        """Accumulate ``eval_metric`` on the last outputs and ``labels``."""
        raise NotImplementedError()

    # ------------------------------------------------------------------ setup
    def bind(self, data_shapes, label_shapes=None, for_training=True, inputs_need_grad=False,
             force_rebind=False, shared_module=None, grad_req='write'):
        """Allocate executors for the given input shapes."""
        raise NotImplementedError()

    def init_optimizer(self, kvstore='local', optimizer='sgd',
                       optimizer_params=(('learning_rate', 0.01),), force_init=False):
        """Install an optimizer (and a KVStore for several devices)."""
        raise NotImplementedError()

    @property
    def symbol(self):
        """The symbol of the module."""
        return self._symbol
