"""Executor: a symbol bound to arrays, running forward and backward over its graph.

Binding does all the planning once: it infers every shape and type, allocates one buffer per
operator output and per gradient, creates each node's operator on the context, and records for
every node the exact buffers and write requests it will use.  ``forward`` and ``backward`` are
then plain loops over those steps::

    forward:   for each operator node in topological order:
                   op.forward(is_train, req, inputs, outputs, aux)
    backward:  for each operator node that leads to a gradient, in reverse order:
                   op.backward(req, output grads, inputs, outputs, input grads, aux)

The first gradient that reaches a buffer is written, later ones are added (``req``), so an
array used twice receives the sum of both gradients.
"""
import numpy as np

from . import backend
from . import profiler as _profiler
from .base import MXNetError, MXNetKeyError, MXNetTypeError, MXNetValueError
from .context import Context
from .ndarray.ndarray import NDArray, empty as nd_empty, zeros as nd_zeros
from .operator.base import shape_str, known_shape
from .symbol.graph import (topo_order, aux_variable_ids, infer_shapes, infer_types,
                           shape_is_complete)

__all__ = ['Executor', 'simple_bind']

GRAD_REQS = ('null', 'write', 'add')


class _Step:
    """One operator node with the buffers its forward and backward use."""
    __slots__ = ('node', 'op', 'inputs', 'outputs', 'aux', 'out_req',
                 'run_backward', 'out_grads', 'in_grads', 'in_reqs')


class Executor:
    """A bound symbol.  Made by :meth:`Symbol.bind` or :meth:`Symbol.simple_bind`.

    Attributes: ``arg_arrays``, ``grad_arrays``, ``aux_arrays``, ``outputs`` (lists) and
    ``arg_dict``, ``grad_dict``, ``aux_dict``, ``output_dict`` (by name).
    """

    def __init__(self, symbol, ctx, args, args_grad=None, grad_req='write', aux_states=None,
                 group2ctx=None, shared_exec=None):
        if not isinstance(ctx, Context):
            raise MXNetTypeError('bind: ctx must be a Context, got %s' % type(ctx).__name__)
        self._symbol = symbol
        self._ctx = ctx
        self._group2ctx = group2ctx
        self._backend = backend.get(ctx)
        self._arg_names = symbol.list_arguments()
        self._aux_names = symbol.list_auxiliary_states()
        _check_unique(self._arg_names + self._aux_names)
        self.arg_arrays = _as_list(args, self._arg_names, 'args', required=True)
        self.grad_arrays = _as_list(args_grad, self._arg_names, 'args_grad', required=False)
        self.aux_arrays = _as_list(aux_states, self._aux_names, 'aux_states', required=True)
        self._grad_req = _grad_reqs(grad_req, self._arg_names)
        for i, name in enumerate(self._arg_names):
            if self.grad_arrays[i] is None:
                self._grad_req[name] = 'null'           # MXNet: no array, no gradient
        for name, array in zip(self._arg_names + self._aux_names,
                               self.arg_arrays + self.aux_arrays):
            if array.context.device_type != ctx.device_type or (
                    ctx.device_type == 'gpu' and array.context != ctx):
                raise MXNetValueError("bind: array '%s' is on %s, the executor on %s"
                                      % (name, array.context, ctx))
        self._monitor = None                            # (callback, monitor_all)
        self._plan()
        self.arg_dict = dict(zip(self._arg_names, self.arg_arrays))
        self.grad_dict = {n: g for n, g in zip(self._arg_names, self.grad_arrays)
                          if g is not None}
        self.aux_dict = dict(zip(self._aux_names, self.aux_arrays))
        self.output_dict = dict(zip(symbol.list_outputs(), self.outputs))

    # ------------------------------------------------------------------ planning
    def _plan(self):
        B, ctx = self._backend, self._ctx
        symbol = self._symbol
        order = topo_order(symbol._outputs)
        aux_ids = aux_variable_ids(order)
        variables = [n for n in order if n.op is None]
        array_of = {}                                   # id(variable node) -> NDArray
        arg_index = {n: i for i, n in enumerate(self._arg_names)}
        aux_index = {n: i for i, n in enumerate(self._aux_names)}
        for node in variables:
            if id(node) in aux_ids:
                array_of[id(node)] = self.aux_arrays[aux_index[node.name]]
            else:
                array_of[id(node)] = self.arg_arrays[arg_index[node.name]]
        # bound arrays have known shapes: a 0 there is an empty dimension, not an unknown one
        known_shapes = {n.name: known_shape(array_of[id(n)].shape) for n in variables}
        shapes = infer_shapes(order, known_shapes)
        types = infer_types(order, {n.name: np.dtype(array_of[id(n)].dtype) for n in variables})
        for node in variables:
            inferred = shapes.get((id(node), 0))
            if inferred is not None and inferred != array_of[id(node)].shape:
                raise MXNetValueError("bind: array '%s' has shape %s, the graph needs %s"
                                      % (node.name, array_of[id(node)].shape, inferred))

        # one buffer per entry: variables use their bound arrays, operators get new buffers
        buffers = {}
        for node in order:
            if node.op is None:
                buffers[(id(node), 0)] = array_of[id(node)].handle
                continue
            for i in range(node.num_outputs()):
                shape, dtype = shapes.get((id(node), i)), types.get((id(node), i))
                if not shape_is_complete(shape):
                    raise MXNetValueError("bind: cannot infer the shape of output %d of %s '%s' "
                                          "(got %s)" % (i, node.op.op_name, node.name, shape))
                buffers[(id(node), i)] = B.empty(shape, dtype or np.float32)

        # which entries lead to a gradient
        needs_grad = {}
        for node in order:
            if node.op is None:
                needs_grad[id(node)] = (id(node) not in aux_ids
                                        and self._grad_req[node.name] != 'null')
            else:
                n_args = node.num_arguments()
                needs_grad[id(node)] = any(needs_grad[id(src)] for src, _ in node.inputs[:n_args])

        # gradient buffers: the bound grad arrays for variables, zeros for operator outputs
        grad_of = {}
        grad_index = {n: i for i, n in enumerate(self._arg_names)}
        for node in order:
            if not needs_grad[id(node)]:
                continue
            if node.op is None:
                grad_of[(id(node), 0)] = self.grad_arrays[grad_index[node.name]].handle
            else:
                for i in range(node.num_outputs()):
                    buf = buffers[(id(node), i)]
                    grad_of[(id(node), i)] = B.zeros(buf.shape, buf.dtype)

        # head gradients: given by the caller unless the producing operator ignores them
        written = set()
        self._head_grads = []                          # (output index, request, buffer)
        for k, (node, i) in enumerate(symbol._outputs):
            if not needs_grad[id(node)]:
                continue
            if node.op is None or node.operator().uses_out_grad:
                entry = (id(node), i)
                accumulate = entry in written or (node.op is None
                                                  and self._grad_req[node.name] == 'add')
                self._head_grads.append((k, 'add' if accumulate else 'write', grad_of[entry]))
                written.add(entry)

        steps = []
        for node in order:
            if node.op is None:
                continue
            step = _Step()
            step.node = node
            step.op = node.operator().__class__(node.attrs, node.name).to(ctx)
            n_args = node.num_arguments()
            step.inputs = [buffers[(id(s), i)] for s, i in node.inputs[:n_args]]
            step.aux = [buffers[(id(s), i)] for s, i in node.inputs[n_args:]]
            step.outputs = [buffers[(id(node), i)] for i in range(node.num_outputs())]
            step.out_req = ['write'] * len(step.outputs)
            step.run_backward = needs_grad[id(node)]
            steps.append(step)

        # write requests for gradients, decided in backward (reverse) order
        for step in reversed(steps):
            if not step.run_backward:
                continue
            node = step.node
            n_args = node.num_arguments()
            step.out_grads = [grad_of[(id(node), i)] for i in range(node.num_outputs())]
            step.in_grads, step.in_reqs = [], []
            for source, index in node.inputs[:n_args]:
                entry = (id(source), index)
                if not needs_grad[id(source)]:
                    step.in_grads.append(None)
                    step.in_reqs.append('null')
                    continue
                step.in_grads.append(grad_of[entry])
                if source.op is None and self._grad_req[source.name] == 'add':
                    step.in_reqs.append('add')
                else:
                    step.in_reqs.append('add' if entry in written else 'write')
                written.add(entry)

        # arguments asking for a gradient that none flows into get zeros
        self._zero_grads = [self.grad_arrays[grad_index[n.name]] for n in variables
                            if needs_grad[id(n)] and (id(n), 0) not in written
                            and self._grad_req[n.name] == 'write']
        self._steps = steps
        self._backward_steps = [s for s in reversed(steps) if s.run_backward]
        self.outputs = []
        for node, i in symbol._outputs:
            if node.op is None:
                self.outputs.append(array_of[id(node)])
            else:
                self.outputs.append(NDArray(buffers[(id(node), i)], ctx))
        self._order = order

    # ------------------------------------------------------------------ running
    def forward(self, is_train=False, **kwargs):
        """Run the graph forward; ``kwargs`` (name -> NDArray or NumPy array) are copied into
        the bound arguments first.  Returns :attr:`outputs`."""
        for name, value in kwargs.items():
            if not isinstance(value, (NDArray, np.ndarray)):
                raise MXNetValueError('forward: only accept keyword argument of NDArrays and '
                                      'numpy.ndarray, got %s=%s' % (name, type(value).__name__))
            if name not in self.arg_dict:
                raise MXNetTypeError('forward: unknown argument %s; arguments are %s'
                                     % (name, self._arg_names))
            target = self.arg_dict[name]
            if tuple(target.shape) != tuple(value.shape):
                raise MXNetValueError('Shape not match! Argument %s, need: %s, received: %s'
                                      % (name, target.shape, tuple(value.shape)))
            target[:] = value
        monitor = self._monitor
        for step in self._steps:
            if monitor is not None and monitor[1]:
                self._report_inputs(step, monitor[0])
            if _profiler.record_symbolic:           # one flag read when not profiling
                _profiler.time_operator(step.op.op_name, self._ctx, self._backend,
                                        step.op.forward, is_train, step.out_req, step.inputs,
                                        step.outputs, step.aux, node=step.node.name)
            else:
                step.op.forward(is_train, step.out_req, step.inputs, step.outputs, step.aux)
            if monitor is not None:
                self._report_outputs(step, monitor[0])
        return self.outputs

    def backward(self, out_grads=None, is_train=True):
        """Propagate gradients from the outputs to the arguments' gradient arrays.

        ``out_grads`` (NDArray, list or dict by output name) is needed only for outputs that
        are not losses.
        """
        if out_grads is None:
            out_grads = []
        elif isinstance(out_grads, NDArray):
            out_grads = [out_grads]
        elif isinstance(out_grads, dict):
            out_grads = [out_grads.get(k) for k in self._symbol.list_outputs()]
        for grad in out_grads:
            if grad is not None and not isinstance(grad, NDArray):
                raise MXNetTypeError('backward: inputs must be NDArray, got %s'
                                     % type(grad).__name__)
        for k, req, buf in self._head_grads:
            if k >= len(out_grads) or out_grads[k] is None:
                raise MXNetValueError(
                    'Because the last operator is not Loss function, head_gradient is required '
                    'when calling backward (output %d, %s, needs one). If you are attempting to '
                    'minimize the output as an objective, please modify your network and pass '
                    'it through the make_loss symbol.' % (k, self._symbol.list_outputs()[k]))
            given = out_grads[k].as_in_context(self._ctx)
            if tuple(given.shape) != tuple(buf.shape):
                raise MXNetValueError('backward: head gradient %d has shape %s, output is %s'
                                      % (k, given.shape, buf.shape))
            self._backend.store(buf, given.handle, req)
        for array in self._zero_grads:
            array[:] = 0
        monitor = self._monitor
        for step in self._backward_steps:
            if _profiler.record_symbolic:
                _profiler.time_operator('_backward_' + step.op.op_name, self._ctx,
                                        self._backend, step.op.backward, step.in_reqs,
                                        step.out_grads, step.inputs, step.outputs,
                                        step.in_grads, step.aux, node=step.node.name)
            else:
                step.op.backward(step.in_reqs, step.out_grads, step.inputs, step.outputs,
                                 step.in_grads, step.aux)
            if monitor is not None:
                self._report_gradients(step, monitor[0])

    # ------------------------------------------------------------------ parameters
    def copy_params_from(self, arg_params, aux_params=None, allow_extra_params=False):
        """Copy values from dicts of NDArrays into the bound arguments / auxiliary states."""
        for name, array in arg_params.items():
            if name in self.arg_dict:
                _copy_param(array, self.arg_dict[name], name)
            elif not allow_extra_params:
                raise MXNetValueError('Find name "%s" that is not in the arguments' % name)
        if aux_params is None:
            return
        for name, array in aux_params.items():
            if name in self.aux_dict:
                _copy_param(array, self.aux_dict[name], name)
            elif not allow_extra_params:
                raise MXNetValueError('Find name %s that is not in the auxiliary states' % name)

    def reshape(self, partial_shaping=False, allow_up_sizing=False, **kwargs):
        """A new executor for new input shapes, sharing memory with this one.

        Arrays whose shape is unchanged are shared; changed ones (named in ``kwargs``, or any
        with ``partial_shaping``) reuse this executor's memory when they are not larger, else
        need ``allow_up_sizing``.
        """
        arg_shapes, _, aux_shapes = self._symbol.infer_shape_partial(**kwargs)
        unknown = [n for n, s in zip(self._arg_names, arg_shapes) if not shape_is_complete(s)]
        if unknown:
            hints = dict(kwargs)
            hints.update({n: self.arg_dict[n].shape for n in unknown})
            arg_shapes, _, aux_shapes = self._symbol.infer_shape_partial(**hints)
        new_args, new_grads, new_aux = [], [], []
        for name, shape, array, grad in zip(self._arg_names, arg_shapes, self.arg_arrays,
                                            self.grad_arrays):
            new_args.append(self._resized(name, array, shape, partial_shaping or name in kwargs,
                                          allow_up_sizing))
            new_grads.append(None if grad is None else
                             self._resized(name, grad, shape, True, allow_up_sizing))
        for name, shape, array in zip(self._aux_names, aux_shapes, self.aux_arrays):
            new_aux.append(self._resized(name, array, shape, partial_shaping, allow_up_sizing))
        return Executor(self._symbol, self._ctx, new_args, new_grads, dict(self._grad_req),
                        new_aux, self._group2ctx, self)

    def _resized(self, name, array, shape, may_change, allow_up_sizing):
        shape = tuple(shape)
        if shape == array.shape:
            return array
        if not may_change:
            raise MXNetValueError('Shape of unspecified array arg:%s changed. This can cause the '
                                  'new executor to not share parameters with the old one. Please '
                                  'check for error in network. If this is intended, set '
                                  'partial_shaping=True to suppress this warning.' % name)
        size = int(np.prod(shape, dtype=np.int64))
        if size > array.size:
            if not allow_up_sizing:
                raise MXNetValueError('New shape of arg:%s is larger than original. First making '
                                      'a big executor and then down sizing it is more efficient '
                                      'than the reverse. If you really want to up size, set '
                                      'allow_up_sizing=True to enable allocation of new arrays.'
                                      % name)
            return nd_empty(shape, self._ctx, array.dtype)
        flat = array.reshape((array.size,))
        return flat[0:size].reshape(shape)

    # ------------------------------------------------------------------ introspection
    def debug_str(self):
        """The bound graph's listing with the memory it holds."""
        total = sum(b.nbytes for s in self._steps for b in s.outputs)
        return (self._symbol.debug_str()
                + 'Total %d MB allocated\n' % (total // (1 << 20)))

    def set_monitor_callback(self, callback, monitor_all=False):
        """Call ``callback(name, NDArray)`` on the tensors of every operator as it runs, with
        the names MXNet's graph executor gives them:

        * after an operator's forward, each of its outputs, hidden ones included:
          ``<node>_<output>`` (``fc1_output``, ``bn_mean``, ``bn_var``);
        * after an operator's backward, each gradient it computed, named after the backward
          node ``<node>_backward``: ``relu1_backward_output`` when the operator has one
          argument, else ``fc1_backward_output0``, ``fc1_backward_output1``... in argument
          order.  Gradients no one asked for (``grad_req='null'``, such as ``data`` in a
          Module) are not computed and not reported; MXNet reports its unwritten buffers;
        * with ``monitor_all``, before an operator's forward, each of its inputs:
          ``<node>_<input>`` (``fc1_data``, ``fc1_weight``), preceded by the variable's own
          name when the input is a variable.  (MXNet also reports the inputs of backward
          nodes, ``<node>_backward_input<i>``; mxref does not.)
        """
        self._monitor = (callback, bool(monitor_all))

    def _report_outputs(self, step, callback):
        name = step.node.name
        for out_name, buf in zip(step.op.list_outputs(), step.outputs):
            callback('%s_%s' % (name, out_name), NDArray(buf, self._ctx))

    def _report_inputs(self, step, callback):
        node = step.node
        names = step.op.list_arguments() + step.op.list_auxiliary_states()
        for (source, _), in_name, buf in zip(node.inputs, names, step.inputs + step.aux):
            if source.op is None:
                callback(source.name, NDArray(buf, self._ctx))
            callback('%s_%s' % (node.name, in_name), NDArray(buf, self._ctx))

    def _report_gradients(self, step, callback):
        prefix = step.node.name + '_backward_output'
        single = len(step.in_grads) == 1
        for i, buf in enumerate(step.in_grads):
            if buf is not None:
                callback(prefix if single else '%s%d' % (prefix, i), NDArray(buf, self._ctx))

    @property
    def symbol(self):
        return self._symbol


def _copy_param(src, dst, name):
    if tuple(src.shape) != tuple(dst.shape):
        raise MXNetValueError("copy_params_from: '%s' has shape %s, the executor's is %s"
                              % (name, src.shape, dst.shape))
    dst[:] = src.as_in_context(dst.context) if isinstance(src, NDArray) else src


def _check_unique(names):
    seen = set()
    for name in names:
        if name in seen:
            raise MXNetValueError('Duplicate names detected, %s: two variables are named %r'
                                  % (names, name))
        seen.add(name)


def _as_list(arrays, names, what, required):
    """Arrays given as a list (in ``names`` order) or a dict, as a list in ``names`` order."""
    if arrays is None:
        if required and names:
            raise MXNetValueError('bind: %s is required (needs %s)' % (what, names))
        return [None] * len(names)
    if isinstance(arrays, dict):
        result = []
        for name in names:
            if name not in arrays and required:
                raise MXNetKeyError('bind: key `%s` is missing in `%s`' % (name, what))
            result.append(arrays.get(name))
    elif isinstance(arrays, (list, tuple)):
        if len(arrays) != len(names):
            raise MXNetValueError('bind: %s has %d arrays, the symbol needs %d (%s)'
                                  % (what, len(arrays), len(names), names))
        result = list(arrays)
    else:
        raise MXNetTypeError('bind: %s must be a list or a dict of NDArrays, got %s'
                             % (what, type(arrays).__name__))
    for name, array in zip(names, result):
        if array is not None and not isinstance(array, NDArray):
            raise MXNetTypeError("bind: %s['%s'] must be an NDArray, got %s"
                                 % (what, name, type(array).__name__))
    return result


def _grad_reqs(grad_req, names):
    if isinstance(grad_req, str):
        reqs = {n: grad_req for n in names}
    elif isinstance(grad_req, (list, tuple)):
        if len(grad_req) != len(names):
            raise MXNetValueError('grad_req has %d entries, the symbol has %d arguments'
                                  % (len(grad_req), len(names)))
        reqs = dict(zip(names, grad_req))
    elif isinstance(grad_req, dict):
        reqs = {n: grad_req.get(n, 'null') for n in names}
    else:
        raise MXNetTypeError('grad_req must be a str, list or dict, got %s'
                             % type(grad_req).__name__)
    for name, req in reqs.items():
        if req not in GRAD_REQS:
            raise MXNetValueError("grad_req must be in %s, got %r for '%s'"
                                  % (GRAD_REQS, req, name))
    return reqs


def simple_bind(symbol, ctx, grad_req='write', type_dict=None, shared_exec=None, shapes=None,
                shared_arg_names=None):
    """Infer shapes from ``shapes``, allocate zero-filled arrays, bind (``Symbol.simple_bind``)."""
    shapes = {k: tuple(v) for k, v in (shapes or {}).items() if isinstance(v, (tuple, list))}
    arg_shapes, _, aux_shapes = symbol.infer_shape_partial(**shapes)
    arg_names = symbol.list_arguments()
    aux_names = symbol.list_auxiliary_states()
    missing = [n for n, s in zip(arg_names + aux_names, arg_shapes + aux_shapes)
               if not shape_is_complete(s)]
    if missing:
        raise MXNetValueError('simple_bind error. Cannot infer the shapes of %s from the given '
                              'shapes %s; provide them as keyword arguments'
                              % (missing, shapes))
    type_dict = {k: np.dtype(v) for k, v in (type_dict or {}).items()}
    arg_types, _, aux_types = symbol.infer_type_partial(**type_dict)
    reqs = _grad_reqs(grad_req, arg_names)
    shared = shared_exec.arg_dict if shared_exec is not None else {}
    shared_grads = shared_exec.grad_dict if shared_exec is not None else {}
    args, grads = [], []
    for name, shape, dtype in zip(arg_names, arg_shapes, arg_types):
        dtype = dtype or np.float32
        if name in shared and shared[name].shape == tuple(shape) and (
                shared_arg_names is None or name in shared_arg_names):
            args.append(shared[name])
            grads.append(shared_grads.get(name) if reqs[name] != 'null' else None)
            continue
        args.append(nd_zeros(shape, ctx, dtype))
        grads.append(nd_zeros(shape, ctx, dtype) if reqs[name] != 'null' else None)
    shared_aux = shared_exec.aux_dict if shared_exec is not None else {}
    aux = [shared_aux[n] if n in shared_aux and shared_aux[n].shape == tuple(s)
           else nd_zeros(s, ctx, t or np.float32)
           for n, s, t in zip(aux_names, aux_shapes, aux_types)]
    return Executor(symbol, ctx, args, grads, reqs, aux, None, shared_exec)
