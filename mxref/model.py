"""Checkpoints and the classic ``FeedForward`` model (``mx.model``).

A checkpoint is two files, exactly as MXNet writes them:

* ``prefix-symbol.json``: the network (``Symbol.tojson``);
* ``prefix-%04d.params`` (the epoch number): an NDArray dict file whose keys are
  ``arg:<name>`` for parameters and ``aux:<name>`` for auxiliary states.

Both are written through a temporary file and renamed into place, so a crash never leaves a
half-written checkpoint.
"""
import logging
import os
import time
import warnings
from collections import namedtuple

import numpy as np

from . import io
from . import metric
from . import optimizer as opt
from . import kvstore as kvs
from . import symbol as sym
from . import ndarray as nd
from .base import MXNetTypeError, MXNetValueError
from .callback import LogValidationMetricsCallback
from .context import Context, cpu
from .initializer import Uniform, InitDesc
from .io import DataDesc

__all__ = ['BatchEndParam', 'save_checkpoint', 'load_checkpoint', 'load_params', 'FeedForward']

BatchEndParam = namedtuple('BatchEndParams', ['epoch', 'nbatch', 'eval_metric', 'locals'])


def _as_list(obj):
    """``obj`` itself if it is a list, else ``[obj]``."""
    return obj if isinstance(obj, list) else [obj]


# ----------------------------------------------------------------------------------------------
# checkpoints
# ----------------------------------------------------------------------------------------------
def save_checkpoint(prefix, epoch, symbol, arg_params, aux_params, remove_amp_cast=True):
    """Write ``prefix-symbol.json`` (unless ``symbol`` is None) and ``prefix-%04d.params``.

    >>> import mxref as mx, tempfile, os
    >>> prefix = os.path.join(tempfile.mkdtemp(), 'net')
    >>> net = mx.sym.FullyConnected(mx.sym.Variable('data'), num_hidden=2, name='fc')
    >>> mx.model.save_checkpoint(prefix, 1, net, {'fc_weight': mx.nd.ones((2, 3))}, {})
    >>> sorted(os.listdir(os.path.dirname(prefix)))
    ['net-0001.params', 'net-symbol.json']
    >>> import shutil; shutil.rmtree(os.path.dirname(prefix))
    """
    if symbol is not None:
        symbol.save('%s-symbol.json' % prefix, remove_amp_cast=remove_amp_cast)
    save_dict = {('arg:%s' % k): v.as_in_context(cpu()) for k, v in arg_params.items()}
    save_dict.update({('aux:%s' % k): v.as_in_context(cpu()) for k, v in aux_params.items()})
    param_name = '%s-%04d.params' % (prefix, epoch)
    nd.save(param_name, save_dict)
    logging.info('Saved checkpoint to "%s"', param_name)


def load_params(prefix, epoch):
    """``(arg_params, aux_params)`` from ``prefix-%04d.params``."""
    fname = '%s-%04d.params' % (prefix, epoch)
    save_dict = nd.load(fname)
    arg_params, aux_params = {}, {}
    if not save_dict:
        logging.warning("Params file '%s' is empty", fname)
        return arg_params, aux_params
    if not isinstance(save_dict, dict):
        raise MXNetValueError('%s holds a list of arrays; a checkpoint holds a dict with '
                              '"arg:" and "aux:" names' % fname)
    for key, value in save_dict.items():
        kind, _, name = key.partition(':')
        if kind == 'arg':
            arg_params[name] = value
        elif kind == 'aux':
            aux_params[name] = value
    return arg_params, aux_params


def load_checkpoint(prefix, epoch):
    """``(symbol, arg_params, aux_params)`` from a checkpoint written by
    :func:`save_checkpoint` (by mxref or MXNet)."""
    symbol = sym.load('%s-symbol.json' % prefix)
    arg_params, aux_params = load_params(prefix, epoch)
    return symbol, arg_params, aux_params


# ----------------------------------------------------------------------------------------------
# parameter updates shared by Module and FeedForward
# ----------------------------------------------------------------------------------------------
def _create_kvstore(kvstore, num_device, arg_params):
    """``(kvstore or None, update_on_kvstore)``.  One device with a local store needs no store:
    gradients are used where they are."""
    update_on_kvstore = bool(int(os.getenv('MXNET_UPDATE_ON_KVSTORE', '1')))
    if kvstore is None:
        kv = None
    elif isinstance(kvstore, kvs.KVStoreBase):
        kv = kvstore
    elif isinstance(kvstore, str):
        if num_device == 1 and 'dist' not in kvstore:
            kv = None
        else:
            kv = kvs.create(kvstore)
            if kvstore == 'local' and arg_params:
                max_size = max(int(np.prod(p.shape)) for p in arg_params.values())
                if max_size > 1024 * 1024 * 16:
                    update_on_kvstore = False
    else:
        raise MXNetTypeError('kvstore must be KVStore, str or None, got %s'
                             % type(kvstore).__name__)
    if kv is None:
        update_on_kvstore = False
    else:
        update_on_kvstore &= kv.is_capable(kvs.KVStoreBase.OPTIMIZER)
    return kv, update_on_kvstore


def _initialize_kvstore(kvstore, param_arrays, arg_params, param_names, update_on_kvstore):
    for idx, param_on_devs in enumerate(param_arrays):
        name = param_names[idx]
        if not update_on_kvstore:
            kvstore.init(name, arg_params[name])
        else:
            kvstore.broadcast(name, arg_params[name], out=param_on_devs)


def _update_params_on_kvstore(param_arrays, grad_arrays, kvstore, param_names):
    """The store sums the devices' gradients, updates its weights, and sends them back."""
    for index, (arg_list, grad_list) in enumerate(zip(param_arrays, grad_arrays)):
        if grad_list[0] is None:
            continue
        kvstore.pushpull(param_names[index], grad_list, out=arg_list, priority=-index)


def _update_params(param_arrays, grad_arrays, updater, num_device, kvstore=None,
                   param_names=None):
    """Update every device's weights with the updater (gradients summed by the store first
    when there is one).  Update index of parameter i on device k: ``i * num_device + k``."""
    updates = [[] for _ in range(num_device)]
    for i, (arg_list, grad_list) in enumerate(zip(param_arrays, grad_arrays)):
        if grad_list[0] is None:
            continue
        if kvstore:
            kvstore.pushpull(param_names[i], grad_list, priority=-i)
        for k, (w, g) in enumerate(zip(arg_list, grad_list)):
            updates[k].append((i * num_device + k, g, w))
    for dev_updates in updates:
        if dev_updates:
            indices, grads, weights = zip(*dev_updates)
            updater(list(indices), list(grads), list(weights))


def _forward(group, batch, is_train):
    """Run ``group`` forward on ``batch``, switching executors if the batch's shapes differ
    from the bound ones (e.g. evaluation data served in batches of another size)."""
    shapes = [tuple(d.shape) for d in batch.data]
    if shapes != [tuple(d.shape) for d in group.data_shapes]:
        data = [DataDesc(d.name, s, d.dtype, d.layout) for d, s in zip(group.data_shapes, shapes)]
        labels = None
        if group.label_shapes is not None:
            labels = [DataDesc(d.name, (shapes[0][0],) + tuple(d.shape[1:]), d.dtype, d.layout)
                      for d in group.label_shapes]
        group.reshape(data, labels)
    group.forward(batch, is_train=is_train)


def _multiple_callbacks(callbacks, *args, **kwargs):
    if isinstance(callbacks, list):
        for callback in callbacks:
            callback(*args, **kwargs)
        return
    if callbacks:
        callbacks(*args, **kwargs)


# ----------------------------------------------------------------------------------------------
# FeedForward
# ----------------------------------------------------------------------------------------------
class FeedForward:
    """The classic MXNet model API for a single-input, single-output network.

    Parameters
    ----------
    symbol : Symbol
        The network.
    ctx : Context or list of Context, optional
        Devices to train on (default ``mx.cpu()``); with several, batches are split.
    num_epoch : int, optional
        Number of epochs :meth:`fit` trains.
    epoch_size : int, optional
        Batches per epoch (default: one pass over the data).
    optimizer : str or Optimizer, default 'sgd'
    initializer : Initializer, default ``Uniform(0.01)``
    numpy_batch_size : int, default 128
        Batch size used when data is given as arrays.
    arg_params, aux_params : dict of str to NDArray, optional
        Starting parameters.
    allow_extra_params : bool, default False
        Ignore entries of ``arg_params``/``aux_params`` the network does not have.
    begin_epoch : int, default 0
    **kwargs
        Passed to the optimizer (``learning_rate``, ``momentum``, ``wd``...).
    """

    def __init__(self, symbol, ctx=None, num_epoch=None, epoch_size=None, optimizer='sgd',
                 initializer=Uniform(0.01), numpy_batch_size=128, arg_params=None,
                 aux_params=None, allow_extra_params=False, begin_epoch=0, **kwargs):
        warnings.warn('mxnet.model.FeedForward has been deprecated. Please use mxnet.mod.Module '
                      'instead.', DeprecationWarning, stacklevel=2)
        if isinstance(symbol, sym.Symbol):
            self.symbol = symbol
            self.sym_gen = None
        elif callable(symbol):
            self.symbol = None
            self.sym_gen = symbol
        else:
            raise MXNetTypeError('FeedForward: symbol must be a Symbol or a function of a bucket '
                                 'key, got %s' % type(symbol).__name__)
        self.arg_params = arg_params
        self.aux_params = aux_params
        self.allow_extra_params = allow_extra_params
        self.argument_checked = False
        if self.sym_gen is None:
            self._check_arguments()
        if ctx is None:
            ctx = [cpu()]
        elif isinstance(ctx, Context):
            ctx = [ctx]
        self.ctx = ctx
        self.num_epoch = num_epoch
        self.epoch_size = epoch_size
        self.kwargs = kwargs.copy()
        self.optimizer = optimizer
        self.initializer = initializer
        self.numpy_batch_size = numpy_batch_size
        self._pred_exec = None
        self.begin_epoch = begin_epoch

    def _check_arguments(self):
        """Check the symbol's argument names are unique; drop extra parameters if allowed."""
        if self.argument_checked:
            return
        self.argument_checked = True
        names = self.symbol.list_arguments() + self.symbol.list_auxiliary_states()
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise MXNetValueError('Find duplicated argument name %s, please make the weight name '
                                  'non-duplicated (using name arguments), arguments are %s'
                                  % (duplicates, names))
        if self.allow_extra_params:
            if self.arg_params:
                keep = set(self.symbol.list_arguments())
                self.arg_params = {k: v for k, v in self.arg_params.items() if k in keep}
            if self.aux_params:
                keep = set(self.symbol.list_auxiliary_states())
                self.aux_params = {k: v for k, v in self.aux_params.items() if k in keep}

    @staticmethod
    def _is_data_arg(name):
        return name.endswith('data') or name.endswith('label')

    def _init_params(self, inputs, overwrite=False):
        """Create (and initialise, unless given) the parameters for input shapes ``inputs``."""
        inputs = [x if isinstance(x, DataDesc) else DataDesc(*x) for x in inputs]
        input_shapes = {d.name: d.shape for d in inputs}
        arg_shapes, _, aux_shapes = self.symbol.infer_shape(**input_shapes)
        if arg_shapes is None:
            raise MXNetValueError('FeedForward: cannot infer the parameter shapes from the '
                                  'inputs %s' % input_shapes)
        arg_types, _, aux_types = self.symbol.infer_type(**{d.name: d.dtype for d in inputs})
        arg_names = self.symbol.list_arguments()
        param_names = [n for n in arg_names if n not in input_shapes]
        aux_names = self.symbol.list_auxiliary_states()
        attrs = self.symbol.attr_dict()
        arg_params = {n: nd.zeros(s, dtype=t) for n, s, t in zip(arg_names, arg_shapes, arg_types)
                      if n in param_names}
        aux_params = {n: nd.zeros(s, dtype=t) for n, s, t in zip(aux_names, aux_shapes, aux_types)}
        for given, created in ((self.arg_params, arg_params), (self.aux_params, aux_params)):
            for name, arr in created.items():
                if given and name in given and not overwrite:
                    arr[:] = given[name]
                else:
                    self.initializer(InitDesc(name, attrs.get(name)), arr)
        self.arg_params = arg_params
        self.aux_params = aux_params
        return arg_names, param_names, aux_names

    def __getstate__(self):
        state = self.__dict__.copy()
        state['_pred_exec'] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)

    def _init_predictor(self, input_shapes, type_dict=None):
        """Bind (or reuse) the prediction executor for ``input_shapes``."""
        shapes = {name: arr.shape for name, arr in self.arg_params.items()}
        shapes.update(dict(input_shapes))
        if self._pred_exec is not None:
            arg_shapes, _, _ = self.symbol.infer_shape(**shapes)
            if arg_shapes == [x.shape for x in self._pred_exec.arg_arrays]:
                return
        pred_exec = self.symbol.simple_bind(self.ctx[0], grad_req='null', type_dict=type_dict,
                                            **shapes)
        pred_exec.copy_params_from(self.arg_params, self.aux_params)
        self._pred_exec = pred_exec

    def _init_iter(self, X, y, is_train):
        """A DataIter for ``X`` (an iterator already, or arrays with labels ``y``)."""
        if isinstance(X, (np.ndarray, nd.NDArray)):
            if y is None:
                if is_train:
                    raise MXNetValueError('y must be specified when X is numpy.ndarray')
                y = np.zeros(X.shape[0])
            if not isinstance(y, (np.ndarray, nd.NDArray)):
                raise MXNetTypeError('y must be ndarray when X is numpy.ndarray')
            if X.shape[0] != y.shape[0]:
                raise MXNetValueError('The numbers of data points and labels not equal')
            if y.ndim == 2 and y.shape[1] == 1:
                y = y.reshape((y.shape[0],))
            if y.ndim != 1:
                raise MXNetValueError('Label must be 1D or 2D (with 2nd dimension being 1)')
            batch_size = min(X.shape[0], self.numpy_batch_size)
            if is_train:
                return io.NDArrayIter(X, y, batch_size, shuffle=True,
                                      last_batch_handle='roll_over')
            return io.NDArrayIter(X, y, batch_size, shuffle=False)
        if not isinstance(X, io.DataIter):
            raise MXNetTypeError('X must be DataIter, NDArray or numpy.ndarray, got %s'
                                 % type(X).__name__)
        return X

    def _init_eval_iter(self, eval_data):
        if eval_data is None:
            return None
        if isinstance(eval_data, (tuple, list)) and len(eval_data) == 2:
            if eval_data[0] is None:
                raise MXNetValueError('Eval data is NONE')
            if eval_data[1] is None and isinstance(eval_data[0], io.DataIter):
                return eval_data[0]
            data = np.array(eval_data[0]) if isinstance(eval_data[0], list) else eval_data[0]
            label = np.array(eval_data[1]) if isinstance(eval_data[1], list) else eval_data[1]
            return self._init_iter(data, label, is_train=True)
        if not isinstance(eval_data, io.DataIter):
            raise MXNetTypeError('Eval data must be DataIter, or NDArray/numpy.ndarray/list pair '
                                 '(i.e. tuple/list of length 2)')
        return eval_data

    def _prediction_setup(self, X, reset):
        X = self._init_iter(X, None, is_train=False)
        if reset:
            X.reset()
        type_dict = {k: v.dtype for k, v in self.arg_params.items()}
        for desc in X.provide_data:
            type_dict[desc[0]] = desc.dtype if isinstance(desc, DataDesc) else np.float32
        self._init_predictor(X.provide_data, type_dict)
        data_arrays = [self._pred_exec.arg_dict[desc[0]] for desc in X.provide_data]
        return X, data_arrays

    def predict(self, X, num_batch=None, return_data=False, reset=True):
        """Outputs for the data ``X`` as NumPy arrays (a list when there are several), padding
        removed; with ``return_data`` also the data and labels."""
        X, data_arrays = self._prediction_setup(X, reset)
        outputs = [[] for _ in self._pred_exec.outputs]
        data_list = [[] for _ in X.provide_data]
        label_list = [[] for _ in X.provide_label]
        for i, batch in enumerate(X):
            for source, target in zip(batch.data, data_arrays):
                source.copyto(target)
            self._pred_exec.forward(is_train=False)
            real = X.batch_size - batch.pad
            for store, out in zip(outputs, self._pred_exec.outputs):
                store.append(out[0:real].asnumpy())
            if return_data:
                for j, x in enumerate(batch.data):
                    data_list[j].append(x[0:real].asnumpy())
                for j, x in enumerate(batch.label):
                    label_list[j].append(x[0:real].asnumpy())
            if num_batch is not None and i + 1 == num_batch:
                break
        outputs = [np.concatenate(x) for x in outputs]
        if len(outputs) == 1:
            outputs = outputs[0]
        if not return_data:
            return outputs
        data = [np.concatenate(x) for x in data_list]
        label = [np.concatenate(x) for x in label_list]
        return outputs, (data[0] if len(data) == 1 else data), \
            (label[0] if len(label) == 1 else label)

    def score(self, X, eval_metric='acc', num_batch=None, batch_end_callback=None, reset=True):
        """The value of ``eval_metric`` on the data ``X``."""
        if not isinstance(eval_metric, metric.EvalMetric):
            eval_metric = metric.create(eval_metric)
        X, data_arrays = self._prediction_setup(X, reset)
        for i, batch in enumerate(X):
            if num_batch is not None and i == num_batch:
                break
            for source, target in zip(batch.data, data_arrays):
                source.copyto(target)
            self._pred_exec.forward(is_train=False)
            eval_metric.update(batch.label, self._pred_exec.outputs)
            if batch_end_callback is not None:
                _multiple_callbacks(batch_end_callback, BatchEndParam(
                    epoch=0, nbatch=i, eval_metric=eval_metric, locals=locals()))
        return eval_metric.get()[1]

    def fit(self, X, y=None, eval_data=None, eval_metric='acc', epoch_end_callback=None,
            batch_end_callback=None, kvstore='local', logger=None, work_load_list=None,
            monitor=None, eval_end_callback=LogValidationMetricsCallback(),
            eval_batch_end_callback=None):
        """Train for ``num_epoch`` epochs (see MXNet's ``FeedForward.fit``).

        Logs ``Epoch[k] Time cost=...`` per epoch and, through ``eval_end_callback``
        (a :class:`~mxref.callback.LogValidationMetricsCallback` by default),
        ``Epoch[k] Validation-<metric>=...``.
        """
        from .module.executor_group import DataParallelExecutorGroup
        data = self._init_iter(X, y, is_train=True)
        eval_data = self._init_eval_iter(eval_data)
        if self.sym_gen:
            self.symbol = self.sym_gen(data.default_bucket_key)
            self._check_arguments()
        if self.num_epoch is None:
            raise MXNetValueError('FeedForward.fit: num_epoch must be set')
        self.kwargs['sym'] = self.symbol
        arg_names, param_names, aux_names = self._init_params(
            data.provide_data + data.provide_label)
        if not isinstance(eval_metric, metric.EvalMetric):
            eval_metric = metric.create(eval_metric)
        kvstore, update_on_kvstore = _create_kvstore(kvstore, len(self.ctx), self.arg_params)
        idx2name = {}
        if update_on_kvstore:
            idx2name.update(enumerate(param_names))
        else:
            for i, name in enumerate(param_names):
                for k in range(len(self.ctx)):
                    idx2name[i * len(self.ctx) + k] = name
        self.kwargs['param_idx2name'] = idx2name
        if isinstance(self.optimizer, str):
            optimizer = opt.create(self.optimizer, rescale_grad=1.0 / data.batch_size,
                                   **self.kwargs)
        elif isinstance(self.optimizer, opt.Optimizer):
            optimizer = self.optimizer
            if not optimizer.idx2name:
                optimizer.idx2name = idx2name.copy()
        else:
            raise MXNetTypeError('FeedForward: optimizer must be a name or an Optimizer')
        logger = logger or logging
        logger.info('Start training with %s', str(self.ctx))         # as MXNet 1.x does
        group = DataParallelExecutorGroup(
            self.symbol, self.ctx, work_load_list or [1] * len(self.ctx), data.provide_data,
            data.provide_label, param_names, for_training=True, inputs_need_grad=False,
            logger=logger)
        if monitor:
            group.install_monitor(monitor)
        group.set_params(self.arg_params, self.aux_params)
        if update_on_kvstore:
            kvstore.set_optimizer(optimizer)
        else:
            updater = opt.get_updater(optimizer)
        if kvstore:
            _initialize_kvstore(kvstore, group.param_arrays, self.arg_params, param_names,
                                update_on_kvstore)
        data.reset()
        for epoch in range(self.begin_epoch, self.num_epoch):
            tic = time.time()
            eval_metric.reset()
            nbatch = 0
            while True:
                do_reset = True
                for batch in data:
                    if monitor is not None:
                        monitor.tic()
                    _forward(group, batch, is_train=True)
                    group.backward()
                    if update_on_kvstore:
                        _update_params_on_kvstore(group.param_arrays, group.grad_arrays,
                                                  kvstore, param_names)
                    else:
                        _update_params(group.param_arrays, group.grad_arrays, updater,
                                       len(self.ctx), kvstore, param_names)
                    if monitor is not None:
                        monitor.toc_print()
                    group.update_metric(eval_metric, batch.label)
                    nbatch += 1
                    if batch_end_callback is not None:
                        _multiple_callbacks(batch_end_callback, BatchEndParam(
                            epoch=epoch, nbatch=nbatch, eval_metric=eval_metric,
                            locals=locals()))
                    if self.epoch_size is not None and nbatch >= self.epoch_size:
                        do_reset = False
                        break
                if do_reset:
                    logger.info('Epoch[%d] Resetting Data Iterator', epoch)
                    data.reset()
                if self.epoch_size is None or nbatch >= self.epoch_size:
                    break
            logger.info('Epoch[%d] Time cost=%.3f', epoch, time.time() - tic)
            group.get_params(self.arg_params, self.aux_params)
            _multiple_callbacks(epoch_end_callback, epoch, self.symbol, self.arg_params,
                                self.aux_params)
            if eval_data:
                eval_metric.reset()
                eval_data.reset()
                total = 0
                for i, eval_batch in enumerate(eval_data):
                    _forward(group, eval_batch, is_train=False)
                    group.update_metric(eval_metric, eval_batch.label)
                    if eval_batch_end_callback is not None:
                        _multiple_callbacks(eval_batch_end_callback, BatchEndParam(
                            epoch=epoch, nbatch=i, eval_metric=eval_metric, locals=locals()))
                    total += 1
                if eval_end_callback is not None:
                    _multiple_callbacks(eval_end_callback, BatchEndParam(
                        epoch=epoch, nbatch=total, eval_metric=eval_metric, locals=locals()))
                eval_data.reset()
        self._pred_exec = None

    def save(self, prefix, epoch=None, remove_amp_cast=True):
        """Checkpoint to ``prefix-symbol.json`` and ``prefix-%04d.params`` (default epoch:
        ``num_epoch``)."""
        if epoch is None:
            epoch = self.num_epoch
        if epoch is None:
            raise MXNetValueError('FeedForward.save: give the epoch number')
        save_checkpoint(prefix, epoch, self.symbol, self.arg_params, self.aux_params,
                        remove_amp_cast=remove_amp_cast)

    @staticmethod
    def load(prefix, epoch, ctx=None, **kwargs):
        """A FeedForward from a checkpoint (training would resume at ``epoch``)."""
        symbol, arg_params, aux_params = load_checkpoint(prefix, epoch)
        return FeedForward(symbol, ctx=ctx, arg_params=arg_params, aux_params=aux_params,
                           begin_epoch=epoch, **kwargs)

    @staticmethod
    def create(symbol, X, y=None, ctx=None, num_epoch=None, epoch_size=None, optimizer='sgd',
               initializer=Uniform(0.01), eval_data=None, eval_metric='acc',
               epoch_end_callback=None, batch_end_callback=None, kvstore='local', logger=None,
               work_load_list=None, eval_end_callback=LogValidationMetricsCallback(),
               eval_batch_end_callback=None, **kwargs):
        """Make a FeedForward and :meth:`fit` it (functional style)."""
        model = FeedForward(symbol, ctx=ctx, num_epoch=num_epoch, epoch_size=epoch_size,
                            optimizer=optimizer, initializer=initializer, **kwargs)
        model.fit(X, y, eval_data=eval_data, eval_metric=eval_metric,
                  epoch_end_callback=epoch_end_callback, batch_end_callback=batch_end_callback,
                  kvstore=kvstore, logger=logger, work_load_list=work_load_list,
                  eval_end_callback=eval_end_callback,
                  eval_batch_end_callback=eval_batch_end_callback)
        return model
