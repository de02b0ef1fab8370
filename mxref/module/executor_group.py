"""Executors of one symbol on several devices, each computing a slice of every batch.

A :class:`DataParallelExecutorGroup` binds one :class:`~mxref.executor.Executor` per context.
A batch of ``batch_size`` examples is cut along its batch axis into one slice per context (in
proportion to ``workload``); each executor runs forward and backward on its slice, and the
gradients are summed afterwards (by the KVStore in :class:`~mxref.module.Module`).  With a
single context the slice is the whole batch and arrays are copied straight into the executor.

Reshaping (a batch of a new shape) makes executors sharing the parameters and gradients of the
first ones; they are kept by shape, so alternating shapes (e.g. a short last batch) binds each
shape only once.
"""
import logging
from collections import OrderedDict

import numpy as np

from ..base import MXNetValueError
from ..io import DataDesc
from ..ndarray import NDArray, concatenate
from ..ndarray import op as nd_op

__all__ = ['DataParallelExecutorGroup', 'split_input_slice']


def split_input_slice(batch_size, work_load_list):
    """Slices of ``range(batch_size)`` proportional to ``work_load_list``.

    Each share is rounded (half to even, as Python's ``round``); the last slice takes what
    rounding left over.

    >>> split_input_slice(10, [1, 1, 2])
    [slice(0, 2, None), slice(2, 4, None), slice(4, 10, None)]
    """
    total = float(sum(work_load_list))
    counts = [int(round(w * batch_size / total)) for w in work_load_list]
    if sum(counts) < batch_size:
        counts[-1] += batch_size - sum(counts)
    slices, end = [], 0
    for count in counts:
        begin, end = end, min(end + count, batch_size)
        if begin >= end:
            raise MXNetValueError('Too many slices: the batch of %d cannot be split over %d '
                                  'devices with workload %s' % (batch_size, len(work_load_list),
                                                                work_load_list))
        slices.append(slice(begin, end))
    return slices


def _copy_slice(source, target, islice, axis, whole):
    """target[...] = source[islice along axis] (source: NDArray or NumPy array)."""
    if whole:
        part = source
    elif axis == 0:
        part = source[islice.start:islice.stop]
    elif isinstance(source, NDArray):
        part = nd_op.slice_axis(source, axis=axis, begin=islice.start, end=islice.stop)
    else:
        part = np.take(source, np.arange(islice.start, islice.stop), axis=axis)
    if tuple(part.shape) != target.shape:
        raise MXNetValueError('the batch holds an array of shape %s, the executor expects %s'
                              % (tuple(part.shape), target.shape))
    if isinstance(part, NDArray):
        part.copyto(target)
    else:
        target[:] = part


def _merge(per_device, axes):
    """One array per output: the devices' parts joined along the batch axis."""
    merged = []
    for tensors, axis in zip(per_device, axes):
        if axis >= 0 and len(tensors) > 1:
            first = tensors[0].context
            merged.append(concatenate([t.as_in_context(first) for t in tensors], axis=axis))
        else:
            merged.append(tensors[0])
    return merged


class DataParallelExecutorGroup:
    """One executor per context, fed with slices of each batch (see the module docstring).

    Parameters follow MXNet's: ``symbol``, ``contexts``, ``workload``, ``data_shapes`` and
    ``label_shapes`` (lists of DataDesc), ``param_names``, ``for_training``,
    ``inputs_need_grad``, ``shared_group``, ``logger``, ``fixed_param_names``, ``grad_req``
    (str, list or dict), ``state_names``, ``group2ctxs``.
    """

    def __init__(self, symbol, contexts, workload, data_shapes, label_shapes, param_names,
                 for_training, inputs_need_grad, shared_group=None, logger=logging,
                 fixed_param_names=None, grad_req='write', state_names=None, group2ctxs=None):
        self.param_names = param_names
        self.arg_names = symbol.list_arguments()
        self.aux_names = symbol.list_auxiliary_states()
        self.symbol = symbol
        self.contexts = contexts
        self.workload = workload
        self.group2ctxs = group2ctxs
        self.for_training = for_training
        self.inputs_need_grad = inputs_need_grad
        self.logger = logger
        self.fixed_param_names = fixed_param_names or []
        self.state_names = state_names or []
        self._total_exec_bytes = 0
        data_shapes = [d if isinstance(d, DataDesc) else DataDesc(*d) for d in data_shapes]
        if label_shapes is not None:
            label_shapes = [d if isinstance(d, DataDesc) else DataDesc(*d) for d in label_shapes]
        self.grad_req = self._grad_reqs(grad_req if for_training else 'null',
                                        [d.name for d in data_shapes])
        self.batch_size = None
        self.slices = None
        self.execs = []
        self._default_execs = None
        self._reshaped = {}            # (data shapes, label shapes) -> executors
        self._monitors = []
        self.output_names = symbol.list_outputs()
        self.num_outputs = len(self.output_names)
        self.output_layouts = [DataDesc.get_batch_axis(symbol[i].attr('__layout__'))
                               for i in range(self.num_outputs)]
        self.bind_exec(data_shapes, label_shapes, shared_group)

    def _grad_reqs(self, grad_req, data_names):
        """The write request of every argument: parameters get ``grad_req`` (null when fixed),
        data gets it only with ``inputs_need_grad``, labels and states get null."""
        if isinstance(grad_req, (list, tuple)):
            if len(grad_req) != len(self.arg_names):
                raise MXNetValueError('grad_req has %d entries, the symbol has %d arguments %s'
                                      % (len(grad_req), len(self.arg_names), self.arg_names))
            return dict(zip(self.arg_names, grad_req))
        overrides = {}
        if isinstance(grad_req, dict):
            overrides, grad_req = grad_req, 'write'
        elif not isinstance(grad_req, str):
            raise MXNetValueError('grad_req must be one of str, list, tuple, or dict, got %s'
                                  % type(grad_req).__name__)
        reqs = {}
        for name in self.arg_names:
            if name in self.param_names:
                reqs[name] = 'null' if name in self.fixed_param_names else grad_req
            elif name in data_names:
                reqs[name] = grad_req if self.inputs_need_grad else 'null'
            else:
                reqs[name] = 'null'
        reqs.update(overrides)
        return reqs

    # ------------------------------------------------------------------ binding
    def decide_slices(self, data_shapes):
        """Set ``batch_size`` and ``slices`` from the shapes; return each input's batch axis."""
        axes = [DataDesc.get_batch_axis(d.layout) for d in data_shapes]
        for desc, axis in zip(data_shapes, axes):
            if axis == -1:
                continue
            size = desc.shape[axis]
            if self.batch_size is None:
                self.batch_size = size
                self.slices = split_input_slice(size, self.workload)
            elif size != self.batch_size:
                raise MXNetValueError('all data must have the same batch size: batch_size = %d, '
                                      'but %s has shape %s' % (self.batch_size, desc.name,
                                                               desc.shape))
        return axes

    def _sliced_shapes(self, shapes, i, axes):
        result = []
        for desc, axis in zip(shapes, axes):
            shape = list(desc.shape)
            if axis >= 0:
                shape[axis] = self.slices[i].stop - self.slices[i].start
            result.append(DataDesc(desc.name, tuple(shape), desc.dtype, desc.layout))
        return result

    def bind_exec(self, data_shapes, label_shapes, shared_group=None, reshape=False):
        """Bind (or, with ``reshape``, re-shape) one executor per context."""
        self.batch_size = None
        self.data_layouts = self.decide_slices(data_shapes)
        self.label_layouts = (self.decide_slices(label_shapes) if label_shapes is not None
                              else None)
        key = (tuple((d.name, tuple(d.shape)) for d in data_shapes),
               tuple((d.name, tuple(d.shape)) for d in label_shapes or ()))
        if reshape:
            if key not in self._reshaped:
                execs = []
                for i, default in enumerate(self._default_execs):
                    shapes = self._sliced_shapes(data_shapes, i, self.data_layouts)
                    if label_shapes is not None:
                        shapes += self._sliced_shapes(label_shapes, i, self.label_layouts)
                    execs.append(default.reshape(allow_up_sizing=True,
                                                 **{d.name: d.shape for d in shapes}))
                for monitor in self._monitors:
                    for exe in execs:
                        monitor.install(exe)
                self._reshaped[key] = execs
            self.execs = list(self._reshaped[key])
        else:
            self.execs = [self._bind_ith_exec(i, data_shapes, label_shapes, shared_group)
                          for i in range(len(self.contexts))]
            self._default_execs = list(self.execs)
            self._reshaped = {key: list(self.execs)}
        self.data_shapes = data_shapes
        self.label_shapes = label_shapes
        self.data_names = [d.name for d in data_shapes]
        self.label_names = [d.name for d in label_shapes] if label_shapes is not None else None
        self._collect_arrays()

    def _bind_ith_exec(self, i, data_shapes, label_shapes, shared_group):
        shapes = self._sliced_shapes(data_shapes, i, self.data_layouts)
        if label_shapes is not None:
            shapes += self._sliced_shapes(label_shapes, i, self.label_layouts)
        shared_exec = None if shared_group is None else shared_group.execs[i]
        types = {d.name: d.dtype for d in shapes}
        executor = self.symbol.simple_bind(ctx=self.contexts[i], grad_req=self.grad_req,
                                           type_dict=types, shared_arg_names=self.param_names,
                                           shared_exec=shared_exec,
                                           **{d.name: d.shape for d in shapes})
        self._total_exec_bytes += sum(a.size * np.dtype(a.dtype).itemsize
                                      for a in executor.outputs)
        return executor

    def reshape(self, data_shapes, label_shapes):
        """Switch to executors for new input shapes (made once per shape)."""
        if data_shapes == self.data_shapes and label_shapes == self.label_shapes:
            return
        self.bind_exec(data_shapes, label_shapes, reshape=True)

    def _collect_arrays(self):
        execs = self.execs
        self.data_arrays = [[(self.slices[i], e.arg_dict[name]) for i, e in enumerate(execs)]
                            for name in self.data_names]
        self.state_arrays = [[e.arg_dict[name] for e in execs] for name in self.state_names]
        if self.label_shapes is not None:
            self.label_arrays = [[(self.slices[i], e.arg_dict[name])
                                  for i, e in enumerate(execs)] for name in self.label_names]
        else:
            self.label_arrays = None
        positions = [i for i, name in enumerate(self.arg_names) if name in self.param_names]
        self.param_arrays = [[e.arg_arrays[i] for e in execs] for i in positions]
        self.grad_arrays = ([[e.grad_arrays[i] for e in execs] for i in positions]
                            if self.for_training else None)
        if self.inputs_need_grad:
            self.input_grad_arrays = [[e.grad_arrays[self.arg_names.index(name)] for e in execs]
                                      for name in self.data_names if name in self.arg_names]
        else:
            self.input_grad_arrays = None
        self.aux_arrays = [[e.aux_arrays[i] for e in execs] for i in range(len(self.aux_names))]
        self._whole = len(execs) == 1

    # ------------------------------------------------------------------ parameters
    def set_params(self, arg_params, aux_params, allow_extra=False):
        """Copy the parameter values into every executor."""
        for exe in self._default_execs:
            exe.copy_params_from(arg_params, aux_params, allow_extra_params=allow_extra)

    def get_params(self, arg_params, aux_params):
        """Copy the parameters (averaged over the devices) into the given dicts' arrays."""
        for name, block in zip(self.param_names, self.param_arrays):
            _average_into(block, arg_params[name])
        for name, block in zip(self.aux_names, self.aux_arrays):
            _average_into(block, aux_params[name])

    def get_states(self, merge_multi_context=True):
        """The state inputs, joined over devices (or per device)."""
        if merge_multi_context:
            return _merge(self.state_arrays, [0] * len(self.state_arrays))
        return self.state_arrays

    def set_states(self, states=None, value=None):
        """Set the state inputs from arrays (per device) or to one scalar ``value``."""
        if states is not None:
            if value is not None:
                raise MXNetValueError('set_states: give states or value, not both')
            for targets, sources in zip(self.state_arrays, states):
                for target, source in zip(targets, sources):
                    source.copyto(target)
        else:
            if value is None:
                raise MXNetValueError('set_states: give states or value')
            for targets in self.state_arrays:
                for target in targets:
                    target[:] = value

    # ------------------------------------------------------------------ computing
    def forward(self, data_batch, is_train=None):
        """Load the batch into the executors and run them forward.

        ``data_batch`` is a DataBatch, or a list of DataBatches already cut into one slice
        per device.
        """
        if isinstance(data_batch, list):
            self._load_presliced(self.data_arrays, [b.data for b in data_batch])
            if self.label_arrays is not None and data_batch[0].label:
                self._load_presliced(self.label_arrays, [b.label for b in data_batch])
        else:
            self._load(self.data_arrays, self.data_layouts, data_batch.data)
            if self.label_arrays is not None and data_batch.label:
                self._load(self.label_arrays, self.label_layouts, data_batch.label)
        if is_train is None:
            is_train = self.for_training
        for exe in self.execs:
            exe.forward(is_train=is_train)

    def _load(self, targets, axes, sources):
        """Copy each source array's slices into the executors' arrays."""
        if len(sources) < len(targets):
            raise MXNetValueError('the batch has %d arrays, the module expects %d'
                                  % (len(sources), len(targets)))
        for source, name_targets, axis in zip(sources, targets, axes):
            for islice, target in name_targets:
                _copy_slice(source, target, islice, axis, self._whole)

    @staticmethod
    def _load_presliced(targets, per_device):
        """``per_device[i][j]`` is the j-th input of device i."""
        for j, name_targets in enumerate(targets):
            for (_, target), sources in zip(name_targets, per_device):
                _copy_slice(sources[j], target, None, 0, True)

    def get_output_shapes(self):
        """``[(name, shape)]`` of the outputs for the whole batch."""
        shapes = []
        for name, out, axis in zip(self.output_names, self.execs[0].outputs,
                                   self.output_layouts):
            shape = list(out.shape)
            if axis >= 0:
                shape[axis] = self.batch_size
            shapes.append((name, tuple(shape)))
        return shapes

    def get_outputs(self, merge_multi_context=True, begin=0, end=None):
        """Outputs ``begin:end`` of the last forward, joined over devices (or per device)."""
        end = self.num_outputs if end is None else end
        outputs = [[exe.outputs[i] for exe in self.execs] for i in range(begin, end)]
        if merge_multi_context:
            return _merge(outputs, self.output_layouts[begin:end])
        return outputs

    def get_input_grads(self, merge_multi_context=True):
        """Gradients of the data inputs, joined over devices (or per device)."""
        if not self.inputs_need_grad:
            raise MXNetValueError('get_input_grads: bind with inputs_need_grad=True first')
        if merge_multi_context:
            return _merge(self.input_grad_arrays, self.data_layouts)
        return self.input_grad_arrays

    def backward(self, out_grads=None):
        """Run backward on every executor (``out_grads`` only for outputs that are not
        losses)."""
        if not self.for_training:
            raise MXNetValueError('re-bind with for_training=True to run backward')
        out_grads = [] if out_grads is None else (
            [out_grads] if isinstance(out_grads, NDArray) else list(out_grads))
        for i, (exe, islice) in enumerate(zip(self.execs, self.slices)):
            sliced = []
            for grad, axis in zip(out_grads, self.output_layouts):
                if self._whole:
                    sliced.append(grad.as_in_context(self.contexts[i]))
                elif axis >= 0:
                    part = nd_op.slice_axis(grad, axis=axis, begin=islice.start, end=islice.stop)
                    sliced.append(part.as_in_context(self.contexts[i]))
                else:
                    sliced.append(grad.copyto(self.contexts[i]))
            exe.backward(out_grads=sliced)

    def update_metric(self, eval_metric, labels, pre_sliced=False):
        """Update ``eval_metric`` with each executor's outputs and its slice of ``labels``."""
        for i, (exe, islice) in enumerate(zip(self.execs, self.slices)):
            if pre_sliced:
                labels_slice = labels[i]
            elif self._whole:
                labels_slice = labels
            else:
                layouts = self.label_layouts or [0] * len(labels)
                labels_slice = []
                for label, axis in zip(labels, layouts):
                    if axis == 0:
                        labels_slice.append(label[islice.start:islice.stop])
                    elif axis > 0:
                        labels_slice.append(nd_op.slice_axis(label, axis=axis,
                                                             begin=islice.start,
                                                             end=islice.stop))
                    else:
                        labels_slice.append(label)
            names = self.label_names or ['label%d' % k for k in range(len(labels_slice))]
            eval_metric.update_dict(OrderedDict(zip(names, labels_slice)),
                                    OrderedDict(zip(self.output_names, exe.outputs)))

    def install_monitor(self, mon):
        """Install ``mon`` on every executor, including those made later by reshaping."""
        self._monitors.append(mon)
        installed = set()
        for execs in self._reshaped.values():
            for exe in execs:
                if id(exe) not in installed:
                    installed.add(id(exe))
                    mon.install(exe)


def _average_into(block, target):
    """target[:] = the mean of the arrays in ``block`` (one per device)."""
    if len(block) == 1:
        source = block[0]
        if source.dtype == target.dtype:
            source.copyto(target)
        else:
            target[:] = source.asnumpy().astype(target.dtype)
        return
    total = sum(w.asnumpy().astype(np.float64) for w in block) / len(block)
    target[:] = total.astype(target.dtype)
