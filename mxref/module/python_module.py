"""``PythonModule`` and ``PythonLossModule``: modules whose computation is Python code.

A :class:`PythonModule` has no parameters and no executors: binding only records the shapes,
initialising the parameters or the optimizer and updating have nothing to do.  A subclass
writes the computation (``forward``, ``backward``, ``get_outputs``, ``get_input_grads`` and
``_compute_output_shapes``).

:class:`PythonLossModule` is such a module for a loss written in Python, meant as the last
stage of a :class:`~mxref.module.SequentialModule`: its output is its input (the scores), and
its backward computes the gradient of the loss with respect to the scores with
``grad_func(scores, labels)``.  That gradient becomes the head gradient of the stage before.
"""
import logging

from .. import ndarray
from ..base import MXNetTypeError, MXNetValueError
from ..initializer import Uniform
from .base_module import BaseModule, ModuleStateError

__all__ = ['PythonModule', 'PythonLossModule']


class PythonModule(BaseModule):
    """The base of modules written in Python, without parameters.

    Parameters
    ----------
    data_names : list of str
        Names of the data inputs.
    label_names : list of str or None
        Names of the labels (None if the module takes none).
    output_names : list of str
        Names of the outputs.
    logger : Logger, default ``logging``

    Notes
    -----
    There being no parameters, :meth:`init_params`, :meth:`init_optimizer`, :meth:`update`
    and :meth:`install_monitor` do nothing (besides marking the step done) and may be called
    in any order.  Unlike MXNet 1.9.1, :meth:`bind` marks the module bound (a second call
    is ignored with a warning unless ``force_rebind``), and :meth:`init_params` marks its
    parameters initialised, so that ``score`` and ``predict`` work on a module used alone.
    """

    def __init__(self, data_names, label_names, output_names, logger=logging):
        super().__init__(logger=logger)
        self._data_names = list(data_names)
        self._label_names = list(label_names) if label_names is not None else None
        self._output_names = output_names
        self._data_shapes = None
        self._label_shapes = None
        self._output_shapes = None

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
        """The label shapes given to :meth:`bind` (None when bound without labels)."""
        self._require('label_shapes', params=False)
        return self._label_shapes

    @property
    def output_shapes(self):
        self._require('output_shapes', params=False)
        return self._output_shapes

    def _compute_output_shapes(self):
        """``[(name, shape)]`` of the outputs, from ``self._data_shapes`` and
        ``self._label_shapes``: a subclass writes it."""
        raise NotImplementedError()

    # ------------------------------------------------------------------ no parameters
    def get_params(self):
        """``({}, {})``: a Python module has no parameters."""
        return {}, {}

    def init_params(self, initializer=Uniform(0.01), arg_params=None, aux_params=None,
                    allow_missing=False, force_init=False, allow_extra=False):
        """Nothing to initialise."""
        self.params_initialized = True

    def init_optimizer(self, kvstore='local', optimizer='sgd',
                       optimizer_params=(('learning_rate', 0.01),), force_init=False):
        """Nothing to optimise."""
        self.optimizer_initialized = True

    def update(self):
        """Nothing to update."""

    def install_monitor(self, mon):
        """Nothing to monitor: there are no executors."""

    # ------------------------------------------------------------------ binding
    def bind(self, data_shapes, label_shapes=None, for_training=True, inputs_need_grad=False,
             force_rebind=False, shared_module=None, grad_req='write'):
        """Record the input shapes (their names must be ``data_names`` and ``label_names``,
        in that order) and compute the output shapes.  Only ``grad_req='write'`` is
        supported."""
        if self.binded and not force_rebind:
            self.logger.warning('Already bound, ignoring bind()')
            return
        if grad_req != 'write':
            raise MXNetValueError("%s.bind: a Python module only supports grad_req='write'"
                                  % type(self).__name__)
        given = [name for name, _ in data_shapes]
        if given != self._data_names:
            raise MXNetValueError('%s.bind: data_shapes are for %s, the module expects %s'
                                  % (type(self).__name__, given, self._data_names))
        if label_shapes is not None:
            given = [name for name, _ in label_shapes]
            if given != self._label_names:
                raise MXNetValueError('%s.bind: label_shapes are for %s, the module expects %s'
                                      % (type(self).__name__, given, self._label_names))
        self.for_training = for_training
        self.inputs_need_grad = inputs_need_grad
        self._data_shapes = data_shapes
        self._label_shapes = label_shapes
        self._output_shapes = self._compute_output_shapes()
        self.binded = True

    # ------------------------------------------------------------------ metric
    def update_metric(self, eval_metric, labels, pre_sliced=False):
        """Update ``eval_metric`` with ``labels`` and the outputs of the last forward; nothing
        when the module was bound without labels."""
        self._require('update_metric', params=False)
        if self._label_shapes is None:
            return
        if pre_sliced:
            raise MXNetValueError('PythonModule does not support presliced labels')
        eval_metric.update(labels, self.get_outputs())


class PythonLossModule(PythonModule):
    """A loss computed in Python, as the last stage of a
    :class:`~mxref.module.SequentialModule`.

    Its forward passes the scores (its one data input) through as its output
    ``name + '_output'``, and keeps the labels when training; its backward calls
    ``grad_func(scores, labels)`` (both NDArrays) for the gradient with respect to the scores,
    which :meth:`get_input_grads` returns.  :meth:`update_metric` compares the scores with the
    labels.

    Parameters
    ----------
    name : str, default ``'pyloss'``
        The output is called ``name + '_output'``.
    data_names : list of one str, default ``('data',)``
    label_names : list of one str, default ``('softmax_label',)``
    logger : Logger, default ``logging``
    grad_func : callable, optional
        ``grad_func(scores, labels)`` returns the gradient (an NDArray or anything
        ``mx.nd.array`` takes).  Without it, :meth:`backward` raises ``NotImplementedError``
        unless a subclass overrides ``_backward_impl``.

    Examples
    --------
    A softmax cross-entropy loss written in NumPy on top of a network without its loss layer:

    >>> import numpy as np
    >>> import mxref as mx
    >>> def softmax_ce_grad(scores, labels):
    ...     s = scores.asnumpy()
    ...     p = np.exp(s - s.max(axis=1, keepdims=True))
    ...     p /= p.sum(axis=1, keepdims=True)
    ...     p[np.arange(len(p)), labels.asnumpy().astype(int)] -= 1
    ...     return p
    >>> net = mx.sym.FullyConnected(mx.sym.Variable('data'), num_hidden=3, name='fc')
    >>> seq = mx.mod.SequentialModule()
    >>> seq = seq.add(mx.mod.Module(net, label_names=None)).add(
    ...     mx.mod.PythonLossModule(grad_func=softmax_ce_grad), take_labels=True,
    ...     auto_wiring=True)
    >>> seq.bind(data_shapes=[('data', (4, 5))], label_shapes=[('softmax_label', (4,))])
    >>> seq.init_params()
    >>> seq.init_optimizer()
    >>> batch = mx.io.DataBatch([mx.nd.ones((4, 5))], [mx.nd.array([0, 1, 2, 1])])
    >>> seq.forward_backward(batch)
    >>> seq.update()
    >>> seq.output_shapes
    [('pyloss_output', (4, 3))]
    """

    def __init__(self, name='pyloss', data_names=('data',), label_names=('softmax_label',),
                 logger=logging, grad_func=None):
        super().__init__(data_names, label_names, [name + '_output'], logger=logger)
        if len(self._data_names) != 1:
            raise MXNetValueError('PythonLossModule takes one data input (the scores), got '
                                  'data_names=%s' % (self._data_names,))
        if self._label_names is None or len(self._label_names) != 1:
            raise MXNetValueError('PythonLossModule takes one label, got label_names=%s'
                                  % (self._label_names,))
        if grad_func is not None and not callable(grad_func):
            raise MXNetTypeError('PythonLossModule: grad_func must be callable, got %s'
                                 % type(grad_func).__name__)
        self._name = name
        self._grad_func = grad_func
        self._scores = None             # the data of the last forward
        self._labels = None             # the labels of the last training forward
        self._scores_grad = None        # the gradient computed by the last backward

    def _compute_output_shapes(self):
        """The output is the input: same shape."""
        return [(self._name + '_output', self._data_shapes[0][1])]

    def forward(self, data_batch, is_train=None):
        """Keep the scores (``data_batch.data[0]``) and, when training, the labels
        (``data_batch.label[0]``) for :meth:`backward`.  ``is_train`` defaults to the
        ``for_training`` of :meth:`bind`."""
        self._require('forward', params=False)
        self._scores = data_batch.data[0]
        if is_train is None:
            is_train = self.for_training
        if is_train:
            if not data_batch.label:
                raise MXNetValueError('PythonLossModule.forward: training needs the labels, '
                                      'the batch has none')
            self._labels = data_batch.label[0]

    def get_outputs(self, merge_multi_context=True):
        """``[scores]``: the data of the last forward, unchanged."""
        _check_single_context(merge_multi_context, 'get_outputs')
        self._require('get_outputs', params=False)
        if self._scores is None:
            raise ModuleStateError('PythonLossModule.get_outputs: no forward yet; call '
                                   'forward() first')
        return [self._scores]

    def backward(self, out_grads=None):
        """Compute the gradient of the loss with respect to the scores of the last forward.

        A loss has no head gradient: ``out_grads`` must be None.
        """
        if out_grads is not None:
            raise MXNetValueError('For a loss module, out_grads should be None')
        self._require('backward', params=False, training=True)
        if self._scores is None:
            raise ModuleStateError('PythonLossModule.backward: no forward yet; call forward() '
                                   'first')
        if self._labels is None:
            raise ModuleStateError('PythonLossModule.backward: no labels yet; call '
                                   'forward(is_train=True) first (the labels are kept only '
                                   'when training)')
        self._backward_impl()

    def _backward_impl(self):
        """Set ``self._scores_grad`` from ``self._scores`` and ``self._labels``, with
        ``grad_func``.  A subclass may override this instead of giving ``grad_func``."""
        if self._grad_func is None:
            raise NotImplementedError('PythonLossModule has no grad_func: pass '
                                      'grad_func=f(scores, labels), or override '
                                      '_backward_impl in a subclass')
        grad = self._grad_func(self._scores, self._labels)
        if not isinstance(grad, ndarray.NDArray):
            grad = ndarray.array(grad)
        self._scores_grad = grad

    def get_input_grads(self, merge_multi_context=True):
        """``[gradient of the loss with respect to the scores]`` from the last backward."""
        _check_single_context(merge_multi_context, 'get_input_grads')
        self._require('get_input_grads', params=False)
        if self._scores_grad is None:
            raise ModuleStateError('PythonLossModule.get_input_grads: no backward yet; call '
                                   'backward() first')
        return [self._scores_grad]


def _check_single_context(merge_multi_context, method):
    """A Python module computes on one device: there is nothing to merge."""
    if not merge_multi_context:
        raise MXNetValueError('PythonLossModule.%s: merge_multi_context must be True (a '
                              'Python module has a single context)' % method)
