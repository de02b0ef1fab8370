"""Recurrent cells that build symbol graphs step by step: ``mx.rnn.RNNCell``, ``LSTMCell``,
``GRUCell`` and the cells that combine them (``SequentialRNNCell``, ``BidirectionalCell``,
``DropoutCell``, ``ResidualCell``, ``ZoneoutCell``).

A cell is not an operator.  Calling it on one time step's input symbol and the previous
states returns new symbols::

    output, states = cell(x_t, states)          # one step
    outputs, states = cell.unroll(T, inputs)    # T steps, the same weights at every step

Each step adds FullyConnected/Activation/... nodes named ``<prefix>t<step>_...`` to the graph,
and every step uses the same weight variables ``<prefix>i2h_weight``, ``<prefix>h2h_bias``...
held in the cell's :class:`RNNParams`.  Initial states come from :meth:`BaseRNNCell.begin_state`:
by default ``mx.sym.zeros((0, num_hidden))`` nodes named ``<prefix>begin_state_<k>``, whose
batch size (the 0) shape inference takes from the data they meet.

Variable and node names are MXNet 1.9.1's, so graphs and checkpoints are interchangeable with it.

>>> import mxref as mx
>>> cell = mx.rnn.LSTMCell(num_hidden=8, prefix='lstm_')
>>> outputs, states = cell.unroll(3, mx.sym.Variable('data'), merge_outputs=True)
>>> outputs.list_arguments()
['data', 'lstm_i2h_weight', 'lstm_i2h_bias', 'lstm_h2h_weight', 'lstm_h2h_bias']
>>> outputs.infer_shape(data=(2, 3, 5))[1]
[(2, 3, 8)]
>>> [s.name for s in states]
['lstm_t2_out', 'lstm_t2_state']
"""
import numbers
import warnings

from .. import symbol, ndarray
from .. import initializer as init
from ..base import MXNetValueError, MXNetTypeError

__all__ = ['RNNParams', 'BaseRNNCell', 'RNNCell', 'LSTMCell', 'GRUCell', 'SequentialRNNCell',
           'DropoutCell', 'ModifierCell', 'ZoneoutCell', 'ResidualCell', 'BidirectionalCell',
           'FusedRNNCell']


def _normalize_sequence(length, inputs, layout, merge, in_layout=None):
    """Bring a sequence into the form a cell wants.

    ``inputs`` is either one symbol with time along ``layout``'s 'T' axis or a list of
    per-step symbols.  With ``merge=False`` the result is a list of ``length`` symbols; with
    ``merge=True`` one symbol laid out as ``layout``; with ``merge=None`` whichever it already
    is.  Returns ``(inputs, time_axis)``.
    """
    if inputs is None:
        raise MXNetValueError('unroll(inputs=None) is not supported: create the input '
                              'variables outside unroll and pass them in')
    axis = layout.find('T')
    if axis < 0:
        raise MXNetValueError("layout must contain 'T' (time), got %r" % layout)
    in_axis = in_layout.find('T') if in_layout is not None else axis
    if isinstance(inputs, symbol.Symbol):
        if merge is False:
            if len(inputs.list_outputs()) != 1:
                raise MXNetValueError('unroll does not take a grouped symbol as input: pass '
                                      'list(inputs), or one symbol for unroll to split')
            inputs = list(symbol.split(inputs, axis=in_axis, num_outputs=length,
                                       squeeze_axis=1))
    else:
        if length is not None and len(inputs) != length:
            raise MXNetValueError('unroll: %d input symbols given for length %d'
                                  % (len(inputs), length))
        if merge is True:
            inputs = symbol.Concat(*[symbol.expand_dims(i, axis=axis) for i in inputs],
                                   dim=axis)
            in_axis = axis
    if isinstance(inputs, symbol.Symbol) and axis != in_axis:
        inputs = symbol.swapaxes(inputs, dim0=axis, dim1=in_axis)
    return inputs, axis


class RNNParams:
    """The weight variables of one or more cells, created on first use and then shared.

    Parameters
    ----------
    prefix : str
        Put in front of every variable name this container creates.

    Examples
    --------
    >>> import mxref as mx
    >>> params = mx.rnn.RNNParams('lstm_')
    >>> params.get('i2h_weight') is params.get('i2h_weight')
    True
    >>> params.get('i2h_weight').name
    'lstm_i2h_weight'
    """

    def __init__(self, prefix=''):
        self._prefix = prefix
        self._params = {}

    def get(self, name, **kwargs):
        """The variable ``prefix + name``, created with ``mx.sym.Variable(**kwargs)`` the first
        time it is asked for."""
        name = self._prefix + name
        if name not in self._params:
            self._params[name] = symbol.Variable(name, **kwargs)
        return self._params[name]


class BaseRNNCell:
    """The base of every recurrent cell.

    A subclass defines ``__call__(inputs, states)`` for one step and ``state_info``, the shape
    and layout of each state; unrolling, initial states and weight (un)packing come from here.

    Parameters
    ----------
    prefix : str, optional
        Put in front of the names of the nodes the cell creates, and of its weights when
        ``params`` is None.
    params : RNNParams, optional
        The weights to use (to share them between cells); a new container when None.
    """

    def __init__(self, prefix='', params=None):
        if params is None:
            params = RNNParams(prefix)
            self._own_params = True
        else:
            self._own_params = False
        self._prefix = prefix
        self._params = params
        self._modified = False
        self.reset()

    def reset(self):
        """Restart the step counters, so that a new graph is numbered from t0 again."""
        self._init_counter = -1
        self._counter = -1
        for cell in getattr(self, '_cells', ()):
            cell.reset()

    def __call__(self, inputs, states):
        """One time step.

        Parameters
        ----------
        inputs : Symbol
            This step's input, (batch, features).
        states : list of Symbol
            The states after the previous step, or :meth:`begin_state`.

        Returns
        -------
        output : Symbol
            This step's output.
        states : list of Symbol
            The states after this step, in the form :meth:`begin_state` returns.
        """
        raise NotImplementedError('%s cannot be stepped' % type(self).__name__)

    @property
    def params(self):
        """The :class:`RNNParams` holding this cell's weights."""
        self._own_params = False
        return self._params

    @property
    def state_info(self):
        """One dict per state: its ``'shape'`` (0 = batch, inferred) and ``'__layout__'``."""
        raise NotImplementedError()

    @property
    def state_shape(self):
        """The shape of each state."""
        return [info['shape'] for info in self.state_info]

    @property
    def _gate_names(self):
        """Suffixes of the gates packed in the i2h/h2h weights, in their row order."""
        return ()

    def _check_not_modified(self):
        if self._modified:
            raise MXNetValueError('After applying modifier cells (e.g. DropoutCell) the base '
                                  'cell cannot be called directly. Call the modifier cell '
                                  'instead.')

    def begin_state(self, func=symbol.zeros, **kwargs):
        """The states before the first step, one symbol per entry of :attr:`state_info`.

        Parameters
        ----------
        func : callable, default mx.sym.zeros
            Called as ``func(name='<prefix>begin_state_<k>', shape=..., __layout__=...,
            **kwargs)``.  Pass ``mx.sym.Variable`` to feed the initial states as inputs.
        **kwargs
            More arguments for ``func`` (e.g. ``dtype``).

        Returns
        -------
        list of Symbol

        Examples
        --------
        >>> import mxref as mx
        >>> cell = mx.rnn.GRUCell(4, prefix='gru_')
        >>> [s.name for s in cell.begin_state(func=mx.sym.Variable)]
        ['gru_begin_state_0']
        """
        self._check_not_modified()
        states = []
        for info in self.state_info:
            self._init_counter += 1
            if info is not None:
                kwargs.update(info)
            states.append(func(name='%sbegin_state_%d' % (self._prefix, self._init_counter),
                               **kwargs))
        return states

    def unpack_weights(self, args):
        """Split each packed ``i2h``/``h2h`` weight and bias into one array per gate.

        Parameters
        ----------
        args : dict of str to NDArray
            Parameters as a Module holds them (``lstm_i2h_weight`` of shape (4H, in)...).

        Returns
        -------
        dict of str to NDArray
            A copy in which this cell's packed arrays are replaced by per-gate ones
            (``lstm_i2h_i_weight``, ``lstm_i2h_f_weight``, ``lstm_i2h_c_weight``,
            ``lstm_i2h_o_weight``...).
        """
        args = dict(args)
        if not self._gate_names:
            return args
        h = self._num_hidden
        for group in ('i2h', 'h2h'):
            weight = args.pop('%s%s_weight' % (self._prefix, group))
            bias = args.pop('%s%s_bias' % (self._prefix, group))
            for j, gate in enumerate(self._gate_names):
                rows = slice(j * h, (j + 1) * h)
                args['%s%s%s_weight' % (self._prefix, group, gate)] = weight[rows].copy()
                args['%s%s%s_bias' % (self._prefix, group, gate)] = bias[rows].copy()
        return args

    def pack_weights(self, args):
        """The inverse of :meth:`unpack_weights`: join the per-gate arrays back."""
        args = dict(args)
        if not self._gate_names:
            return args
        for group in ('i2h', 'h2h'):
            for kind in ('weight', 'bias'):
                parts = [args.pop('%s%s%s_%s' % (self._prefix, group, gate, kind))
                         for gate in self._gate_names]
                args['%s%s_%s' % (self._prefix, group, kind)] = ndarray.concatenate(parts)
        return args

    def unroll(self, length, inputs, begin_state=None, layout='NTC', merge_outputs=None):
        """Apply the cell ``length`` times, feeding each step's states to the next.

        Parameters
        ----------
        length : int
            Number of steps.
        inputs : Symbol or list of Symbol
            One symbol of shape (batch, length, ...) for layout 'NTC' or (length, batch, ...)
            for 'TNC', or a list of ``length`` symbols of shape (batch, ...).
        begin_state : list of Symbol, optional
            The initial states; :meth:`begin_state` when None.
        layout : str, default 'NTC'
            Where the time axis is in ``inputs`` (if one symbol) and in merged outputs.
        merge_outputs : bool, optional
            True: one output symbol laid out as ``layout``; False: a list of per-step
            symbols; None: whatever is cheaper.

        Returns
        -------
        outputs : Symbol or list of Symbol
        states : list of Symbol
            The states after the last step.
        """
        self.reset()
        inputs, _ = _normalize_sequence(length, inputs, layout, False)
        states = self.begin_state() if begin_state is None else begin_state
        outputs = []
        for step in range(length):
            output, states = self(inputs[step], states)
            outputs.append(output)
        outputs, _ = _normalize_sequence(length, outputs, layout, merge_outputs)
        return outputs, states

    def _get_activation(self, inputs, activation, **kwargs):
        """``Activation(act_type=activation)`` for a string, else ``activation(inputs)``."""
        if isinstance(activation, str):
            return symbol.Activation(inputs, act_type=activation, **kwargs)
        return activation(inputs, **kwargs)


def _hidden_state_info(num_hidden):
    return {'shape': (0, num_hidden), '__layout__': 'NC'}


class RNNCell(BaseRNNCell):
    """The Elman cell: ``h_t = activation(W_i·x_t + b_i + W_h·h_{t-1} + b_h)``.

    Parameters
    ----------
    num_hidden : int
        Size of the output and of the state.
    activation : str or callable, default 'tanh'
        An ``Activation`` type ('tanh', 'relu'...) or a function of a symbol.
    prefix : str, default ``'rnn_'``
    params : RNNParams, optional

    Examples
    --------
    >>> import mxref as mx
    >>> cell = mx.rnn.RNNCell(3, prefix='rnn_')
    >>> out, states = cell(mx.sym.Variable('x'), cell.begin_state())
    >>> out.name, out.infer_shape(x=(2, 5))[1]
    ('rnn_t0_out', [(2, 3)])
    """

    def __init__(self, num_hidden, activation='tanh', prefix='rnn_', params=None):
        super().__init__(prefix=prefix, params=params)
        self._num_hidden = num_hidden
        self._activation = activation
        self._iW = self.params.get('i2h_weight')
        self._iB = self.params.get('i2h_bias')
        self._hW = self.params.get('h2h_weight')
        self._hB = self.params.get('h2h_bias')

    @property
    def state_info(self):
        return [_hidden_state_info(self._num_hidden)]

    @property
    def _gate_names(self):
        return ('',)

    def __call__(self, inputs, states):
        self._counter += 1
        name = '%st%d_' % (self._prefix, self._counter)
        i2h = symbol.FullyConnected(data=inputs, weight=self._iW, bias=self._iB,
                                    num_hidden=self._num_hidden, name='%si2h' % name)
        h2h = symbol.FullyConnected(data=states[0], weight=self._hW, bias=self._hB,
                                    num_hidden=self._num_hidden, name='%sh2h' % name)
        output = self._get_activation(i2h + h2h, self._activation, name='%sout' % name)
        return output, [output]


class LSTMCell(BaseRNNCell):
    """Long short-term memory (Hochreiter & Schmidhuber 1997).

    The four gates are computed by one pair of FullyConnected layers and cut apart with
    ``SliceChannel``::

        i, f, g, o = split(W_i·x_t + b_i + W_h·h_{t-1} + b_h, 4)
        c_t = sigmoid(f) * c_{t-1} + sigmoid(i) * tanh(g)
        h_t = sigmoid(o) * tanh(c_t)

    The states are ``[h, c]``; the output is ``h``.

    Parameters
    ----------
    num_hidden : int
        Size of h and c.
    prefix : str, default ``'lstm_'``
    params : RNNParams, optional
    forget_bias : float, default 1.0
        Initial value of the forget gate's part of ``i2h_bias`` (set through its ``__init__``
        attribute, ``mx.init.LSTMBias``), so that the cell starts by remembering
        (Jozefowicz et al. 2015).

    Examples
    --------
    >>> import mxref as mx
    >>> cell = mx.rnn.LSTMCell(4, prefix='l0_')
    >>> cell.params.get('i2h_bias').attr('__init__')
    '["lstmbias", {"forget_bias": 1.0}]'
    """

    def __init__(self, num_hidden, prefix='lstm_', params=None, forget_bias=1.0):
        super().__init__(prefix=prefix, params=params)
        self._num_hidden = num_hidden
        self._iW = self.params.get('i2h_weight')
        self._hW = self.params.get('h2h_weight')
        self._iB = self.params.get('i2h_bias', init=init.LSTMBias(forget_bias=forget_bias))
        self._hB = self.params.get('h2h_bias')

    @property
    def state_info(self):
        return [_hidden_state_info(self._num_hidden), _hidden_state_info(self._num_hidden)]

    @property
    def _gate_names(self):
        return ['_i', '_f', '_c', '_o']

    def __call__(self, inputs, states):
        self._counter += 1
        name = '%st%d_' % (self._prefix, self._counter)
        prev_h, prev_c = states
        i2h = symbol.FullyConnected(data=inputs, weight=self._iW, bias=self._iB,
                                    num_hidden=self._num_hidden * 4, name='%si2h' % name)
        h2h = symbol.FullyConnected(data=prev_h, weight=self._hW, bias=self._hB,
                                    num_hidden=self._num_hidden * 4, name='%sh2h' % name)
        gates = symbol.SliceChannel(i2h + h2h, num_outputs=4, name='%sslice' % name)
        in_gate = symbol.Activation(gates[0], act_type='sigmoid', name='%si' % name)
        forget_gate = symbol.Activation(gates[1], act_type='sigmoid', name='%sf' % name)
        in_transform = symbol.Activation(gates[2], act_type='tanh', name='%sc' % name)
        out_gate = symbol.Activation(gates[3], act_type='sigmoid', name='%so' % name)
        next_c = symbol._internal._plus(forget_gate * prev_c, in_gate * in_transform,
                                        name='%sstate' % name)
        next_h = symbol._internal._mul(out_gate, symbol.Activation(next_c, act_type='tanh'),
                                       name='%sout' % name)
        return next_h, [next_h, next_c]


class GRUCell(BaseRNNCell):
    """Gated recurrent unit in cuDNN's form (the reset gate applies after h2h).

    The equations::

        r = sigmoid(i2h_r + h2h_r),   z = sigmoid(i2h_z + h2h_z)
        h~ = tanh(i2h_h + r * h2h_h)
        h_t = (1 - z) * h~ + z * h_{t-1}

    Parameters
    ----------
    num_hidden : int
    prefix : str, default ``'gru_'``
    params : RNNParams, optional
    """

    def __init__(self, num_hidden, prefix='gru_', params=None):
        super().__init__(prefix=prefix, params=params)
        self._num_hidden = num_hidden
        self._iW = self.params.get('i2h_weight')
        self._iB = self.params.get('i2h_bias')
        self._hW = self.params.get('h2h_weight')
        self._hB = self.params.get('h2h_bias')

    @property
    def state_info(self):
        return [_hidden_state_info(self._num_hidden)]

    @property
    def _gate_names(self):
        return ['_r', '_z', '_o']

    def __call__(self, inputs, states):
        self._counter += 1
        name = '%st%d_' % (self._prefix, self._counter)
        prev_h = states[0]
        i2h = symbol.FullyConnected(data=inputs, weight=self._iW, bias=self._iB,
                                    num_hidden=self._num_hidden * 3, name='%s_i2h' % name)
        h2h = symbol.FullyConnected(data=prev_h, weight=self._hW, bias=self._hB,
                                    num_hidden=self._num_hidden * 3, name='%s_h2h' % name)
        i2h_r, i2h_z, i2h = symbol.SliceChannel(i2h, num_outputs=3, name='%s_i2h_slice' % name)
        h2h_r, h2h_z, h2h = symbol.SliceChannel(h2h, num_outputs=3, name='%s_h2h_slice' % name)
        reset_gate = symbol.Activation(i2h_r + h2h_r, act_type='sigmoid', name='%s_r_act' % name)
        update_gate = symbol.Activation(i2h_z + h2h_z, act_type='sigmoid',
                                        name='%s_z_act' % name)
        candidate = symbol.Activation(i2h + reset_gate * h2h, act_type='tanh',
                                      name='%s_h_act' % name)
        next_h = symbol._internal._plus((1. - update_gate) * candidate, update_gate * prev_h,
                                        name='%sout' % name)
        return next_h, [next_h]


def _cells_state_info(cells):
    return [info for cell in cells for info in cell.state_info]


def _cells_begin_state(cells, **kwargs):
    return [state for cell in cells for state in cell.begin_state(**kwargs)]


def _cells_unpack_weights(cells, args):
    for cell in cells:
        args = cell.unpack_weights(args)
    return args


def _cells_pack_weights(cells, args):
    for cell in cells:
        args = cell.pack_weights(args)
    return args


class SequentialRNNCell(BaseRNNCell):
    """Cells stacked on top of each other: each one's output is the next one's input.
    The states are all the cells' states, in order.

    Parameters
    ----------
    params : RNNParams, optional
        Weights for all the stacked cells (then the cells must not have their own).

    Examples
    --------
    >>> import mxref as mx
    >>> stack = mx.rnn.SequentialRNNCell()
    >>> stack.add(mx.rnn.LSTMCell(5, prefix='l0_'))
    >>> stack.add(mx.rnn.LSTMCell(5, prefix='l1_'))
    >>> outputs, states = stack.unroll(4, mx.sym.Variable('data'))
    >>> len(outputs), [s.name for s in states]
    (4, ['l0_t3_out', 'l0_t3_state', 'l1_t3_out', 'l1_t3_state'])
    """

    def __init__(self, params=None):
        super().__init__(prefix='', params=params)
        self._override_cell_params = params is not None
        self._cells = []

    def add(self, cell):
        """Put ``cell`` on top of the stack."""
        self._cells.append(cell)
        if self._override_cell_params:
            if not cell._own_params:
                raise MXNetValueError('Either specify params for SequentialRNNCell or child '
                                      'cells, not both.')
            cell.params._params.update(self.params._params)
        self.params._params.update(cell.params._params)

    @property
    def state_info(self):
        return _cells_state_info(self._cells)

    def begin_state(self, **kwargs):
        self._check_not_modified()
        return _cells_begin_state(self._cells, **kwargs)

    def unpack_weights(self, args):
        return _cells_unpack_weights(self._cells, args)

    def pack_weights(self, args):
        return _cells_pack_weights(self._cells, args)

    def _split_states(self, states):
        """``states`` cut into one list per cell."""
        parts, start = [], 0
        for cell in self._cells:
            count = len(cell.state_info)
            parts.append(states[start:start + count])
            start += count
        return parts

    def __call__(self, inputs, states):
        self._counter += 1
        next_states = []
        for cell, cell_states in zip(self._cells, self._split_states(states)):
            if isinstance(cell, BidirectionalCell):
                raise MXNetValueError('a SequentialRNNCell holding a BidirectionalCell cannot '
                                      'be stepped; use unroll')
            inputs, cell_states = cell(inputs, cell_states)
            next_states.extend(cell_states)
        return inputs, next_states

    def unroll(self, length, inputs, begin_state=None, layout='NTC', merge_outputs=None):
        self.reset()
        if begin_state is None:
            begin_state = self.begin_state()
        next_states = []
        last = len(self._cells) - 1
        for i, (cell, states) in enumerate(zip(self._cells, self._split_states(begin_state))):
            inputs, states = cell.unroll(length, inputs=inputs, begin_state=states,
                                         layout=layout,
                                         merge_outputs=merge_outputs if i == last else None)
            next_states.extend(states)
        return inputs, next_states


class DropoutCell(BaseRNNCell):
    """Dropout on the input, with no state: ``y = Dropout(x, p=dropout)``.  Stack it between
    cells of a :class:`SequentialRNNCell`.

    Parameters
    ----------
    dropout : float
        The fraction of the elements set to zero during training.
    prefix : str, default ``'dropout_'``
    params : RNNParams, optional
    """

    def __init__(self, dropout, prefix='dropout_', params=None):
        super().__init__(prefix, params)
        if not isinstance(dropout, numbers.Number):
            raise MXNetTypeError('DropoutCell: dropout probability must be a number, got %s'
                                 % type(dropout).__name__)
        self.dropout = dropout

    @property
    def state_info(self):
        return []

    def __call__(self, inputs, states):
        if self.dropout > 0:
            inputs = symbol.Dropout(data=inputs, p=self.dropout)
        return inputs, states

    def unroll(self, length, inputs, begin_state=None, layout='NTC', merge_outputs=None):
        self.reset()
        inputs, _ = _normalize_sequence(length, inputs, layout, merge_outputs)
        if isinstance(inputs, symbol.Symbol):
            return self(inputs, [])
        return super().unroll(length, inputs, begin_state=begin_state, layout=layout,
                              merge_outputs=merge_outputs)


class ModifierCell(BaseRNNCell):
    """The base of cells that wrap another cell and change what it computes (residual
    connections, zoneout).  Once wrapped, the base cell must only be used through the
    wrapper."""

    def __init__(self, base_cell):
        super().__init__()
        base_cell._modified = True
        self.base_cell = base_cell

    @property
    def params(self):
        self._own_params = False
        return self.base_cell.params

    @property
    def state_info(self):
        return self.base_cell.state_info

    def begin_state(self, init_sym=symbol.zeros, **kwargs):
        self._check_not_modified()
        self.base_cell._modified = False
        try:
            return self.base_cell.begin_state(init_sym, **kwargs)
        finally:
            self.base_cell._modified = True

    def unpack_weights(self, args):
        return self.base_cell.unpack_weights(args)

    def pack_weights(self, args):
        return self.base_cell.pack_weights(args)

    def __call__(self, inputs, states):
        raise NotImplementedError()


class ZoneoutCell(ModifierCell):
    """Zoneout (Krueger et al. 2016): during training each output and state element keeps its
    previous value with probability ``zoneout_outputs`` / ``zoneout_states`` instead of
    taking the new one.

    Parameters
    ----------
    base_cell : BaseRNNCell
    zoneout_outputs : float, default 0
    zoneout_states : float, default 0
    """

    def __init__(self, base_cell, zoneout_outputs=0., zoneout_states=0.):
        if isinstance(base_cell, BidirectionalCell):
            raise MXNetValueError("BidirectionalCell doesn't support zoneout since it doesn't "
                                  'support step. Please add ZoneoutCell to the cells '
                                  'underneath instead.')
        super().__init__(base_cell)
        self.zoneout_outputs = zoneout_outputs
        self.zoneout_states = zoneout_states
        self.prev_output = None

    def reset(self):
        super().reset()
        self.prev_output = None

    def __call__(self, inputs, states):
        next_output, next_states = self.base_cell(inputs, states)

        def keep_new(p, like):
            """1 where the new value is taken (Dropout of ones: 0 with probability p)."""
            return symbol.Dropout(symbol.ones_like(like), p=p)

        prev_output = self.prev_output if self.prev_output is not None else symbol.zeros((0, 0))
        output = (symbol.where(keep_new(self.zoneout_outputs, next_output), next_output,
                               prev_output)
                  if self.zoneout_outputs != 0. else next_output)
        if self.zoneout_states != 0.:
            next_states = [symbol.where(keep_new(self.zoneout_states, new), new, old)
                           for new, old in zip(next_states, states)]
        self.prev_output = output
        return output, next_states


class ResidualCell(ModifierCell):
    """Adds the input to the base cell's output (Wu et al. 2016): ``y_t = cell(x_t) + x_t``.

    Parameters
    ----------
    base_cell : BaseRNNCell
        Its output must have the input's size.
    """

    def __call__(self, inputs, states):
        output, states = self.base_cell(inputs, states)
        output = symbol.elemwise_add(output, inputs, name='%s_plus_residual' % output.name)
        return output, states

    def unroll(self, length, inputs, begin_state=None, layout='NTC', merge_outputs=None):
        self.reset()
        self.base_cell._modified = False
        try:
            outputs, states = self.base_cell.unroll(length, inputs=inputs,
                                                    begin_state=begin_state, layout=layout,
                                                    merge_outputs=merge_outputs)
        finally:
            self.base_cell._modified = True
        if merge_outputs is None:
            merge_outputs = isinstance(outputs, symbol.Symbol)
        inputs, _ = _normalize_sequence(length, inputs, layout, merge_outputs)
        if merge_outputs:
            return symbol.elemwise_add(outputs, inputs,
                                       name='%s_plus_residual' % outputs.name), states
        return [symbol.elemwise_add(out, inp, name='%s_plus_residual' % out.name)
                for out, inp in zip(outputs, inputs)], states


class BidirectionalCell(BaseRNNCell):
    """Runs ``l_cell`` forwards and ``r_cell`` backwards over the sequence and concatenates
    their outputs at each step (features axis).  It can only be unrolled, not stepped.

    Parameters
    ----------
    l_cell : BaseRNNCell
        The cell reading the sequence from first to last step.
    r_cell : BaseRNNCell
        The cell reading it from last to first.
    params : RNNParams, optional
    output_prefix : str, default ``'bi_'``
        Prefix of the Concat nodes' names (``bi_t0``... or ``bi_out`` when merged).

    Examples
    --------
    >>> import mxref as mx
    >>> bi = mx.rnn.BidirectionalCell(mx.rnn.GRUCell(3, prefix='l_'),
    ...                               mx.rnn.GRUCell(3, prefix='r_'))
    >>> out, states = bi.unroll(2, mx.sym.Variable('data'), merge_outputs=True)
    >>> out.name, out.infer_shape(data=(4, 2, 5))[1]
    ('bi_out', [(4, 2, 6)])
    """

    def __init__(self, l_cell, r_cell, params=None, output_prefix='bi_'):
        super().__init__('', params=params)
        self._output_prefix = output_prefix
        self._override_cell_params = params is not None
        if self._override_cell_params:
            if not (l_cell._own_params and r_cell._own_params):
                raise MXNetValueError('Either specify params for BidirectionalCell or child '
                                      'cells, not both.')
            l_cell.params._params.update(self.params._params)
            r_cell.params._params.update(self.params._params)
        self.params._params.update(l_cell.params._params)
        self.params._params.update(r_cell.params._params)
        self._cells = [l_cell, r_cell]

    def unpack_weights(self, args):
        return _cells_unpack_weights(self._cells, args)

    def pack_weights(self, args):
        return _cells_pack_weights(self._cells, args)

    def __call__(self, inputs, states):
        raise NotImplementedError('Bidirectional cannot be stepped. Please use unroll')

    @property
    def state_info(self):
        return _cells_state_info(self._cells)

    def begin_state(self, **kwargs):
        self._check_not_modified()
        return _cells_begin_state(self._cells, **kwargs)

    def unroll(self, length, inputs, begin_state=None, layout='NTC', merge_outputs=None):
        self.reset()
        inputs, axis = _normalize_sequence(length, inputs, layout, False)
        if begin_state is None:
            begin_state = self.begin_state()
        l_cell, r_cell = self._cells
        n_left = len(l_cell.state_info)
        l_outputs, l_states = l_cell.unroll(length, inputs=inputs,
                                            begin_state=begin_state[:n_left],
                                            layout=layout, merge_outputs=merge_outputs)
        r_outputs, r_states = r_cell.unroll(length, inputs=list(reversed(inputs)),
                                            begin_state=begin_state[n_left:],
                                            layout=layout, merge_outputs=merge_outputs)
        if merge_outputs is None:
            merge_outputs = (isinstance(l_outputs, symbol.Symbol)
                             and isinstance(r_outputs, symbol.Symbol))
            if not merge_outputs:
                if isinstance(l_outputs, symbol.Symbol):
                    l_outputs = list(symbol.SliceChannel(l_outputs, axis=axis,
                                                         num_outputs=length, squeeze_axis=1))
                if isinstance(r_outputs, symbol.Symbol):
                    r_outputs = list(symbol.SliceChannel(r_outputs, axis=axis,
                                                         num_outputs=length, squeeze_axis=1))
        if merge_outputs:
            # one (batch, time, 2H) symbol: the backward cell's outputs flipped back in time
            outputs = symbol.Concat(l_outputs, symbol.reverse(r_outputs, axis=axis), dim=2,
                                    name='%sout' % self._output_prefix)
        else:
            outputs = [symbol.Concat(l_out, r_out, dim=1,
                                     name='%st%d' % (self._output_prefix, step))
                       for step, (l_out, r_out) in enumerate(zip(l_outputs,
                                                                 reversed(r_outputs)))]
        return outputs, [l_states, r_states]


# the gate suffixes of each mode in the names of unpacked weights, in their packed order
_FUSED_GATE_NAMES = {'rnn_relu': ('',), 'rnn_tanh': ('',), 'lstm': ('_i', '_f', '_c', '_o'),
                     'gru': ('_r', '_z', '_o')}


class FusedRNNCell(BaseRNNCell):
    """A whole stack of recurrent layers run by one ``RNN`` operator (see
    :class:`mxref.operator.rnn.RNN` for the equations and the packed weight layout).

    All weights and biases live in one flat variable ``<prefix>parameters``, initialised by
    :class:`mxref.initializer.FusedRNN`.  :meth:`unpack_weights` cuts it into one array per
    layer, direction, gate and kind, named as the cells of :meth:`unfuse` name their unpacked
    weights (``<prefix>l0_i2h_f_weight``, ``<prefix>r1_h2h_o_bias``...), and
    :meth:`pack_weights` joins them back, so that a model trained with the fused cell can be
    loaded into its unfused equivalent and the other way round.

    Parameters
    ----------
    num_hidden : int
        H, the size of every layer's hidden state.
    num_layers : int, default 1
    mode : {'lstm', 'gru', 'rnn_tanh', 'rnn_relu'}, default 'lstm'
    bidirectional : bool, default False
    dropout : float, default 0
        Dropout rate between layers (training only).
    get_next_state : bool, default False
        Whether :meth:`unroll` returns the last states (else an empty list).
    forget_bias : float, default 1.0
        The initial value of the LSTM forget-gate biases (both the i2h and the h2h one, as in
        MXNet, so the forget gate starts at ``2·forget_bias``).
    prefix : str, optional
        Default ``'<mode>_'``.
    params : RNNParams, optional

    Examples
    --------
    >>> import mxref as mx
    >>> cell = mx.rnn.FusedRNNCell(4, num_layers=2, mode='gru', prefix='gru_')
    >>> out, _ = cell.unroll(3, mx.sym.Variable('data'), layout='TNC', merge_outputs=True)
    >>> out.list_arguments()
    ['data', 'gru_parameters']
    >>> out.infer_shape(data=(3, 2, 5))[0][1]
    (252,)
    """

    def __init__(self, num_hidden, num_layers=1, mode='lstm', bidirectional=False, dropout=0.,
                 get_next_state=False, forget_bias=1.0, prefix=None, params=None):
        if mode not in _FUSED_GATE_NAMES:
            raise MXNetValueError("FusedRNNCell: mode must be one of %s, got %r"
                                  % (', '.join(sorted(_FUSED_GATE_NAMES)), mode))
        if prefix is None:
            prefix = '%s_' % mode
        super().__init__(prefix=prefix, params=params)
        self._num_hidden = num_hidden
        self._num_layers = num_layers
        self._mode = mode
        self._bidirectional = bidirectional
        self._dropout = dropout
        self._get_next_state = get_next_state
        self._forget_bias = forget_bias
        self._directions = ['l', 'r'] if bidirectional else ['l']
        initializer = init.FusedRNN(None, num_hidden, num_layers, mode, bidirectional,
                                    forget_bias)
        self._parameter = self.params.get('parameters', init=initializer)

    @property
    def state_info(self):
        shape = (len(self._directions) * self._num_layers, 0, self._num_hidden)
        count = 2 if self._mode == 'lstm' else 1
        return [{'shape': shape, '__layout__': 'LNC'} for _ in range(count)]

    @property
    def _gate_names(self):
        return _FUSED_GATE_NAMES[self._mode]

    def _weight_slots(self, input_size):
        """``[(name, shape)]`` of every unpacked array, in the order of the packed vector."""
        h, prefix = self._num_hidden, self._prefix
        directions = len(self._directions)
        weights, biases = [], []
        for layer in range(self._num_layers):
            layer_input = input_size if layer == 0 else directions * h
            for direction in self._directions:
                for group, cols in (('i2h', layer_input), ('h2h', h)):
                    for gate in self._gate_names:
                        stem = '%s%s%d_%s%s' % (prefix, direction, layer, group, gate)
                        weights.append((stem + '_weight', (h, cols)))
                        biases.append((stem + '_bias', (h,)))
        # biases follow the weights, each layer and direction's i2h gates then h2h gates
        return weights + biases

    def _input_size(self, total):
        """The data's feature size that makes a packed vector of length ``total``."""
        h, layers = self._num_hidden, self._num_layers
        d, g = len(self._directions), len(self._gate_names)
        rest = total - (layers - 1) * d * g * h * (d * h + h + 2)
        if rest <= 0 or rest % (d * g * h):
            raise MXNetValueError('FusedRNNCell: a parameters vector of %d elements does not fit '
                                  'mode=%s, num_hidden=%d, num_layers=%d, bidirectional=%s'
                                  % (total, self._mode, h, layers, self._bidirectional))
        return rest // (d * g * h) - h - 2

    def unpack_weights(self, args):
        """Replace ``<prefix>parameters`` in (a copy of) ``args`` by one array per layer,
        direction, i2h/h2h, gate and weight/bias, with the unfused cells' names."""
        args = dict(args)
        flat = args.pop(self._parameter.name)
        offset = 0
        for name, shape in self._weight_slots(self._input_size(flat.size)):
            size = shape[0] * (shape[1] if len(shape) == 2 else 1)
            args[name] = flat[offset:offset + size].reshape(shape).copy()
            offset += size
        return args

    def pack_weights(self, args):
        """The inverse of :meth:`unpack_weights`: join the per-gate arrays into
        ``<prefix>parameters``."""
        args = dict(args)
        first = '%sl0_i2h%s_weight' % (self._prefix, self._gate_names[0])
        if first not in args:
            raise MXNetValueError('FusedRNNCell.pack_weights: %s is missing from the arrays '
                                  'given' % first)
        slots = self._weight_slots(args[first].shape[1])
        parts = []
        for name, shape in slots:
            if name not in args:
                raise MXNetValueError('FusedRNNCell.pack_weights: %s is missing from the arrays '
                                      'given' % name)
            array = args.pop(name)
            if tuple(array.shape) != shape:
                raise MXNetValueError('FusedRNNCell.pack_weights: %s must have shape %s, got %s'
                                      % (name, shape, tuple(array.shape)))
            parts.append(array.reshape((-1,)))
        args[self._parameter.name] = ndarray.concatenate(parts)
        return args

    def __call__(self, inputs, states):
        raise NotImplementedError('FusedRNNCell cannot be stepped. Please use unroll')

    def unroll(self, length, inputs, begin_state=None, layout='NTC', merge_outputs=None):
        """One ``RNN`` node over the whole sequence; see :meth:`BaseRNNCell.unroll`.  The
        operator wants time first (TNC): 'NTC' inputs are swapped in and the outputs back."""
        self.reset()
        inputs, axis = _normalize_sequence(length, inputs, layout, True)
        if axis == 1:
            warnings.warn('NTC layout detected. Consider using TNC for FusedRNNCell for faster '
                          'speed')
            inputs = symbol.swapaxes(inputs, dim1=0, dim2=1)
        elif axis != 0:
            raise MXNetValueError('FusedRNNCell: unsupported layout %r (time must be the first '
                                  'or second axis)' % layout)
        if begin_state is None:
            begin_state = self.begin_state()
        states = {'state': begin_state[0]}
        if self._mode == 'lstm':
            states['state_cell'] = begin_state[1]
        rnn = symbol.RNN(data=inputs, parameters=self._parameter, state_size=self._num_hidden,
                         num_layers=self._num_layers, bidirectional=self._bidirectional,
                         p=self._dropout, state_outputs=self._get_next_state, mode=self._mode,
                         name=self._prefix + 'rnn', **states)
        if not self._get_next_state:
            outputs, states = rnn, []
        else:
            outputs = rnn[0]
            states = [rnn[k] for k in range(1, 3 if self._mode == 'lstm' else 2)]
            for state in states:
                state._set_attr(__layout__='LNC')
        if axis == 1:
            outputs = symbol.swapaxes(outputs, dim1=0, dim2=1)
        outputs, _ = _normalize_sequence(length, outputs, layout, merge_outputs)
        return outputs, states

    def unfuse(self):
        """The same network as unfused cells: a :class:`SequentialRNNCell` of one
        :class:`LSTMCell`/:class:`GRUCell`/:class:`RNNCell` per layer (prefix
        ``<prefix>l<layer>_``; for bidirectional layers a :class:`BidirectionalCell` of
        ``l`` and ``r`` cells), with a :class:`DropoutCell` between layers when dropout > 0.
        Its unpacked weights have the names of :meth:`unpack_weights`."""
        def make(cell_prefix):
            if self._mode == 'lstm':
                return LSTMCell(self._num_hidden, prefix=cell_prefix)
            if self._mode == 'gru':
                return GRUCell(self._num_hidden, prefix=cell_prefix)
            return RNNCell(self._num_hidden, activation=self._mode[4:], prefix=cell_prefix)

        stack = SequentialRNNCell()
        for layer in range(self._num_layers):
            if self._bidirectional:
                stack.add(BidirectionalCell(make('%sl%d_' % (self._prefix, layer)),
                                            make('%sr%d_' % (self._prefix, layer)),
                                            output_prefix='%sbi_l%d_' % (self._prefix, layer)))
            else:
                stack.add(make('%sl%d_' % (self._prefix, layer)))
            if self._dropout > 0 and layer != self._num_layers - 1:
                stack.add(DropoutCell(self._dropout,
                                      prefix='%s_dropout%d_' % (self._prefix, layer)))
        return stack
