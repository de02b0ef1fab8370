"""``SequentialModule``: modules run one after the other, each fed the outputs of the one
before.

A network can be cut into stages, each its own module (a :class:`~mxref.module.Module` of a
symbol, or a :class:`~mxref.module.PythonLossModule` computing a loss in Python).  The chain
behaves as one module:

* **forward**: the batch goes into the first stage; the outputs of stage *k* become the data
  of stage *k + 1* (the labels of the batch are passed unchanged to every stage);
* **backward**: the last stage starts from its loss; the gradients of the inputs of stage
  *k + 1* are the head gradients (``out_grads``) of stage *k*.  That is why every stage but
  the first is bound with ``inputs_need_grad=True``;
* **update**, **init_params**, **init_optimizer**: done on every stage, each with its own
  parameters and optimizer.

Trained with the same initial parameters, a chain of stages gives the same parameters as the
single :class:`~mxref.module.Module` of the whole network: the chain rule does not care where
the graph was cut.
"""
import copy
import logging

from ..base import MXNetValueError
from ..initializer import Uniform
from .base_module import BaseModule, ModuleStateError

__all__ = ['SequentialModule']


class SequentialModule(BaseModule):
    """A container module that chains modules: each one's outputs are the next one's data.

    Build it with :meth:`add`, then use it as any module (``fit``, ``score``, ``predict`` or
    the intermediate API).  Parameter names must be unique across the stages.

    Parameters
    ----------
    logger : Logger, default ``logging``

    Notes
    -----
    Unlike MXNet 1.9.1, :meth:`bind` records ``for_training`` and ``inputs_need_grad`` on the
    chain, so :meth:`get_input_grads` works after ``bind(..., inputs_need_grad=True)`` (MXNet
    never sets the flag and always fails that call).  A batch smaller than the bound one is
    passed on under the next stage's data names, where MXNet uses the previous stage's output
    names and fails when a stage has to be reshaped for it.

    Examples
    --------
    >>> import mxref as mx
    >>> hidden = mx.sym.Activation(mx.sym.FullyConnected(mx.sym.Variable('data'), num_hidden=8,
    ...                                                  name='fc1'), act_type='relu')
    >>> top = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(mx.sym.Variable('data'), num_hidden=3,
    ...                                                  name='fc2'), name='softmax')
    >>> seq = mx.mod.SequentialModule()
    >>> seq = seq.add(mx.mod.Module(hidden, label_names=None)).add(
    ...     mx.mod.Module(top), take_labels=True, auto_wiring=True)
    >>> seq.bind(data_shapes=[('data', (4, 5))], label_shapes=[('softmax_label', (4,))])
    >>> seq.init_params()
    >>> seq.output_shapes
    [('softmax_output', (4, 3))]
    >>> sorted(seq.get_params()[0])
    ['fc1_bias', 'fc1_weight', 'fc2_bias', 'fc2_weight']
    """

    def __init__(self, logger=logging):
        super().__init__(logger=logger)
        self._modules = []
        self._take_labels = []          # one flag per stage: does it get the labels?
        self._auto_wiring = []          # one flag per stage: rename its inputs?
        self._label_shapes = None

    def add(self, module, take_labels=False, auto_wiring=False):
        """Append ``module`` to the chain and return ``self`` (so calls can be chained).

        Adding a stage undoes :meth:`bind`, :meth:`init_params` and :meth:`init_optimizer`
        of the chain.

        Parameters
        ----------
        module : BaseModule
            The next stage: its data are the outputs of the previous stage (of the chain's
            input for the first one).
        take_labels : bool, default False
            Bind this stage with the chain's label shapes, and let it update the metric in
            :meth:`update_metric`.  Any stage may take the labels, all get the same ones.
        auto_wiring : bool, default False
            Feed the previous stage's outputs in order to this stage's ``data_names``
            whatever they are called.  Without it the names must match the previous
            stage's output names (``fc1_output``, ...).
        """
        self._modules.append(module)
        self._take_labels.append(bool(take_labels))
        self._auto_wiring.append(bool(auto_wiring))
        self.binded = False
        self.params_initialized = False
        self.optimizer_initialized = False
        return self

    # ------------------------------------------------------------------ names and shapes
    @property
    def data_names(self):
        """The data names of the first stage (``[]`` for an empty chain)."""
        return self._modules[0].data_names if self._modules else []

    @property
    def output_names(self):
        """The output names of the last stage (``[]`` for an empty chain)."""
        return self._modules[-1].output_names if self._modules else []

    @property
    def data_shapes(self):
        """The data shapes of the first stage."""
        self._require('data_shapes', params=False)
        return self._modules[0].data_shapes

    @property
    def label_shapes(self):
        """The label shapes given to :meth:`bind` (None when no stage takes labels)."""
        self._require('label_shapes', params=False)
        return self._label_shapes

    @property
    def output_shapes(self):
        """The output shapes of the last stage."""
        self._require('output_shapes', params=False)
        return self._modules[-1].output_shapes

    # ------------------------------------------------------------------ parameters
    def get_params(self):
        """``(arg_params, aux_params)``: the parameters of all stages in two dicts."""
        self._require('get_params')
        arg_params, aux_params = {}, {}
        for module in self._modules:
            args, auxs = module.get_params()
            arg_params.update(args)
            aux_params.update(auxs)
        return arg_params, aux_params

    def init_params(self, initializer=Uniform(0.01), arg_params=None, aux_params=None,
                    allow_missing=False, force_init=False, allow_extra=False):
        """Initialise the parameters of every stage (each takes its own names from
        ``arg_params``/``aux_params``).  A second call does nothing unless ``force_init``.

        Raises ``MXNetValueError`` if two stages have a parameter of the same name.
        """
        if self.params_initialized and not force_init:
            return
        if not self.binded:
            raise ModuleStateError('SequentialModule.init_params: call bind before '
                                   'initializing the parameters')
        for module in self._modules:
            module.init_params(initializer=initializer, arg_params=arg_params,
                               aux_params=aux_params, allow_missing=allow_missing,
                               force_init=force_init, allow_extra=allow_extra)
        # the stages' parameters end up in one dict (get_params): their names must differ
        arg_owner, aux_owner = {}, {}            # parameter name -> the stage that has it
        for i, module in enumerate(self._modules):
            stage_args, stage_auxs = module.get_params()
            self._claim_names(stage_args, arg_owner, i)
            self._claim_names(stage_auxs, aux_owner, i)
        self.params_initialized = True

    def _claim_names(self, names, owner, i):
        """Record that stage ``i`` has the parameters ``names``, which no stage may have yet."""
        for name in names:
            if name in owner:
                j = owner[name]
                raise MXNetValueError(
                    'Duplicated parameter names: name "%s" in layer %d (%s) is already used in '
                    'layer %d (%s).' % (name, i, type(self._modules[i]), j,
                                        type(self._modules[j])))
            owner[name] = i

    # ------------------------------------------------------------------ binding
    def bind(self, data_shapes, label_shapes=None, for_training=True, inputs_need_grad=False,
             force_rebind=False, shared_module=None, grad_req='write'):
        """Bind every stage, the first for ``data_shapes``, each next one for the output
        shapes of the one before.

        Stages added with ``take_labels=True`` get ``label_shapes``, the others none.  When
        training, every stage but the first computes the gradients of its inputs (the first
        only with ``inputs_need_grad``).  ``shared_module`` is not supported.
        """
        if self.binded and not force_rebind:
            self.logger.warning('Already bound, ignoring bind()')
            return
        if inputs_need_grad and not for_training:
            raise MXNetValueError('bind: inputs_need_grad=True needs for_training=True')
        if shared_module is not None:
            raise MXNetValueError('SequentialModule.bind: shared_module is not supported')
        if not self._modules:
            raise ModuleStateError('SequentialModule.bind: the module is empty; call add() '
                                   'first')
        stage_data_shapes = data_shapes
        for i, module in enumerate(self._modules):
            if self._auto_wiring[i]:
                names = module.data_names
                if len(names) != len(stage_data_shapes):
                    raise MXNetValueError(
                        'SequentialModule.bind: auto_wiring of stage %d: it has %d data '
                        'inputs %s, the stage before gives %d outputs'
                        % (i, len(names), names, len(stage_data_shapes)))
                stage_data_shapes = [(name, shape)
                                     for name, (_, shape) in zip(names, stage_data_shapes)]
            module.bind(data_shapes=stage_data_shapes,
                        label_shapes=label_shapes if self._take_labels[i] else None,
                        for_training=for_training,
                        inputs_need_grad=inputs_need_grad or (for_training and i > 0),
                        force_rebind=force_rebind, shared_module=None, grad_req=grad_req)
            stage_data_shapes = module.output_shapes
        self._label_shapes = label_shapes if any(self._take_labels) else None
        self.for_training = for_training
        self.inputs_need_grad = inputs_need_grad
        self.binded = True

    # ------------------------------------------------------------------ optimizer
    def init_optimizer(self, kvstore='local', optimizer='sgd',
                       optimizer_params=(('learning_rate', 0.01),), force_init=False):
        """Install an optimizer (the same settings) on every stage."""
        self._require('init_optimizer')
        if self.optimizer_initialized and not force_init:
            self.logger.warning('optimizer already initialized, ignoring.')
            return
        for module in self._modules:
            module.init_optimizer(kvstore=kvstore, optimizer=optimizer,
                                  optimizer_params=optimizer_params, force_init=force_init)
        self.optimizer_initialized = True

    # ------------------------------------------------------------------ computation
    def forward(self, data_batch, is_train=None):
        """Forward through the stages, the outputs of each being the data of the next."""
        self._require('forward')
        batch = copy.copy(data_batch)            # the caller's batch keeps its data
        for i, module in enumerate(self._modules):
            module.forward(batch, is_train=is_train)
            if i + 1 == len(self._modules):
                break
            batch.data = module.get_outputs()
            next_names = self._modules[i + 1].data_names
            batch.provide_data = [(name, out.shape) for name, out in zip(next_names, batch.data)]

    def backward(self, out_grads=None):
        """Backward from the last stage to the first, each stage's input gradients being the
        head gradients of the stage before."""
        self._require('backward', training=True)
        for i in reversed(range(len(self._modules))):
            module = self._modules[i]
            module.backward(out_grads=out_grads)
            if i > 0:
                out_grads = module.get_input_grads()

    def update(self):
        """One optimizer step on every stage."""
        self._require('update', optimizer=True)
        for module in self._modules:
            module.update()

    def get_outputs(self, merge_multi_context=True):
        """The outputs of the last stage."""
        self._require('get_outputs')
        return self._modules[-1].get_outputs(merge_multi_context=merge_multi_context)

    def get_input_grads(self, merge_multi_context=True):
        """The gradients of the chain's data (those of the first stage); needs
        ``bind(..., inputs_need_grad=True)``."""
        self._require('get_input_grads')
        if not self.inputs_need_grad:
            raise ModuleStateError('SequentialModule.get_input_grads: bind with '
                                   'inputs_need_grad=True to get the gradients of the inputs')
        return self._modules[0].get_input_grads(merge_multi_context=merge_multi_context)

    def update_metric(self, eval_metric, labels, pre_sliced=False):
        """Update ``eval_metric`` with the outputs of every stage added with
        ``take_labels=True`` (the other stages have no labels to compare with)."""
        self._require('update_metric')
        for module, takes_labels in zip(self._modules, self._take_labels):
            if takes_labels:
                module.update_metric(eval_metric, labels, pre_sliced)

    def install_monitor(self, mon):
        """Install a :class:`~mxref.monitor.Monitor` on every stage."""
        self._require('install_monitor', params=False)
        for module in self._modules:
            module.install_monitor(mon)
