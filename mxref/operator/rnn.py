"""Fused recurrent layers: ``RNN``, a whole stack of recurrent layers over a whole sequence in
one operator, its weights packed in one flat ``parameters`` vector.

The computation is written step by step with the backend's GEMM and elementwise functions, so
that it reads like the equations (and runs on any backend): for each layer and direction, the
input projections of all time steps are one GEMM per gate; then each time step does one GEMM
per gate for the recurrent projection and a few elementwise expressions.  The backward pass
(backpropagation through time) runs the forward again to record what the gradient formulas
need, then walks the steps in reverse.
"""
from .base import Operator, register, shape_str, merge_shapes
from .params import Param

__all__ = ['RNN', 'rnn_param_size', 'rnn_param_layout', 'GATES']

# number of gates (rows of H in each weight and bias) of each mode, in their packed order
GATES = {'rnn_relu': 1, 'rnn_tanh': 1, 'lstm': 4, 'gru': 3}

SIGMOID = '1 / (1 + exp(-a))'


def rnn_param_layout(mode, state_size, num_layers, input_size, bidirectional):
    """Where each weight and bias lies in the flat ``parameters`` vector of ``RNN``.

    MXNet packs all weights first, then all biases.  Weights: for each layer, for each
    direction (forward, then backward), the i2h weight ``(G·H, in)`` then the h2h weight
    ``(G·H, H)``; biases: the same order, i2h bias ``(G·H,)`` then h2h bias.  ``G`` is the
    number of gates, stacked by rows in the order LSTM ``i, f, g, o``, GRU ``r, z, n``; ``in``
    is the data's feature size for layer 0 and ``D·H`` above (``D`` directions).

    Returns ``(entries, total)``: one dict per (layer, direction), in the order
    ``layer·D + direction``, mapping ``'i2h_weight'``, ``'h2h_weight'``, ``'i2h_bias'`` and
    ``'h2h_bias'`` to ``(offset, shape)``; ``total`` is the vector's length.

    >>> entries, total = rnn_param_layout('lstm', 5, 1, 7, False)
    >>> total, entries[0]['h2h_weight'], entries[0]['i2h_bias']
    (280, (140, (20, 5)), (240, (20,)))
    """
    gates = GATES[mode]
    directions = 2 if bidirectional else 1
    rows = gates * state_size
    entries, offset = [], 0
    for layer in range(num_layers):
        layer_input = input_size if layer == 0 else directions * state_size
        for _ in range(directions):
            entry = {}
            for name, cols in (('i2h_weight', layer_input), ('h2h_weight', state_size)):
                entry[name] = (offset, (rows, cols))
                offset += rows * cols
            entries.append(entry)
    for entry in entries:
        for name in ('i2h_bias', 'h2h_bias'):
            entry[name] = (offset, (rows,))
            offset += rows
    return entries, offset


def rnn_param_size(mode, state_size, num_layers, input_size, bidirectional):
    """The length of ``RNN``'s ``parameters`` vector (MXNet's formula)::

        D·G·H·(in + H + 2)  +  (num_layers − 1)·D·G·H·(D·H + H + 2)

    >>> rnn_param_size('gru', 5, 2, 7, True)
    930
    """
    gates, directions = GATES[mode], (2 if bidirectional else 1)
    first = directions * gates * state_size * (input_size + state_size + 2)
    rest = directions * gates * state_size * (directions * state_size + state_size + 2)
    return first + (num_layers - 1) * rest


class _Tape:
    """What the forward pass of one layer and direction records for the backward pass."""

    def __init__(self):
        self.gates = {}         # step -> list of the G activated gates (N, H)
        self.extra = {}         # step -> mode-specific buffers (GRU: h2h of n; LSTM: clip mask)
        self.cells = {}         # step -> c_t (LSTM)
        self.hidden = {}        # step -> h_t


@register
class RNN(Operator):
    r"""A stack of ``num_layers`` recurrent layers (``mode``: Elman with relu or tanh, LSTM,
    GRU), optionally bidirectional, over data laid out as (T, N, C), time first.

    Inputs: ``data`` (T, N, C); ``parameters``, the flat vector of all weights and biases
    (layout below); ``state``, the initial hidden state (L·D, N, H) with ``L = num_layers``,
    ``D = 2`` if bidirectional else 1, ``H = state_size``, indexed ``layer·D + direction``;
    ``state_cell`` (LSTM only), the initial cell state, same shape.

    Outputs: ``output`` (T, N, D·H), the top layer's hidden states at every step (the two
    directions concatenated on the feature axis); with ``state_outputs=True`` also
    ``state_output`` (L·D, N, H), every layer's and direction's last hidden state, and for LSTM
    ``statecell_output``, the last cell states.  The backward direction reads the sequence
    from step T−1 down to 0 and its ``state_output`` is its state after step 0.

    With ``a_k = W_k·x_t + b_k + R_k·h_{t−1} + r_k`` (``W, b``: i2h weight and bias rows of
    gate k; ``R, r``: h2h ones) and ``σ`` the sigmoid, each layer computes:

    * rnn_relu: ``h_t = max(a, 0)``;  rnn_tanh: ``h_t = tanh(a)``;
    * lstm, gates ``i, f, g, o`` in that order: ``i = σ(a_i)``, ``f = σ(a_f)``,
      ``g = tanh(a_g)``, ``o = σ(a_o)``, ``c_t = f·c_{t−1} + i·g``, ``h_t = o·tanh(c_t)``;
    * gru, gates ``r, z, n`` (cuDNN's form, the reset gate scales the h2h output including
      its bias): ``r = σ(a_r)``, ``z = σ(a_z)``,
      ``n = tanh(W_n·x_t + b_n + r·(R_n·h_{t−1} + r_n))``, ``h_t = (1 − z)·n + z·h_{t−1}``.

    Layer ``l > 0`` reads layer ``l − 1``'s output.  ``p`` is the dropout rate applied to
    every layer's output except the last one, during training only (``x·m/(1 − p)`` with a
    fresh Bernoulli mask ``m``); it is the identity in inference.

    ``parameters`` holds all weights first, then all biases.  Weights: for each layer, each
    direction (forward first), the i2h weight (G·H, in) then the h2h weight (G·H, H), with
    ``G`` the number of gates (1, 4 or 3) stacked by rows in the order above, ``in = C`` for
    layer 0 and ``D·H`` above; biases: in the same order, i2h bias (G·H) then h2h bias.  Its
    length is ``D·G·H·(C + H + 2) + (L − 1)·D·G·H·(D·H + H + 2)``.

    ``lstm_state_clip_min``/``_max`` clip every new cell state into that range (the
    gradient stops where it was clipped); ``lstm_state_clip_nan`` turns NaN cell states into
    ``lstm_state_clip_min`` instead of propagating them.  MXNet 1.9.1's CPU operator ignores
    these three parameters, its cuDNN one honours them; mxref always does.

    Gradients: backpropagation through time for ``data``, ``parameters``, ``state`` and
    ``state_cell``, with the head gradients of all outputs (``state_output`` included).
    ``projection_size`` (LSTM with projection) and ``use_sequence_length`` are not supported.
    """
    op_name = 'RNN'
    params = (Param('state_size', 'int', doc='H, the size of the hidden state of each layer'),
              Param('num_layers', 'int', doc='L, the number of stacked layers'),
              Param('bidirectional', 'bool', False, doc='whether each layer also reads the '
                                                        'sequence backwards'),
              Param('mode', 'str', choices=('rnn_relu', 'rnn_tanh', 'lstm', 'gru'),
                    doc='the kind of recurrent layer'),
              Param('p', 'float', 0.0, doc='dropout rate between layers (training only)'),
              Param('state_outputs', 'bool', False, doc='whether to output the last states'),
              Param('projection_size', 'int?', None, doc='not supported (must be None)'),
              Param('lstm_state_clip_min', 'float?', None, doc='lower bound of LSTM cell states'),
              Param('lstm_state_clip_max', 'float?', None, doc='upper bound of LSTM cell states'),
              Param('lstm_state_clip_nan', 'bool', False, doc='clip NaN cell states too'),
              Param('use_sequence_length', 'bool', False, doc='not supported (must be False)'))
    accepts_partial = True

    def setup(self):
        if self.state_size < 1:
            self.fail('state_size must be at least 1, got %d' % self.state_size)
        if self.num_layers < 1:
            self.fail('num_layers must be at least 1, got %d' % self.num_layers)
        if not 0 <= self.p < 1:
            self.fail('p (the dropout rate) must lie in [0, 1), got %r' % self.p)
        if self.projection_size is not None:
            self.fail('projection_size=%d is not supported in mxref (LSTM with projection; '
                      'MXNet 1.9.1 runs it with cuDNN only), expected None'
                      % self.projection_size, error=NotImplementedError)
        if self.use_sequence_length:
            self.fail('use_sequence_length=True is not supported in mxref (MXNet 1.9.1 runs '
                      'it with cuDNN only), expected False', error=NotImplementedError)
        clips = (self.lstm_state_clip_min, self.lstm_state_clip_max)
        if (clips[0] is None) != (clips[1] is None):
            self.fail('lstm_state_clip_min and lstm_state_clip_max must be given together, got '
                      'min=%r, max=%r' % clips)
        if clips[0] is not None and clips[0] > clips[1]:
            self.fail('lstm_state_clip_min must not exceed lstm_state_clip_max, got min=%r, '
                      'max=%r' % clips)
        self.gates = GATES[self.mode]
        self.directions = 2 if self.bidirectional else 1
        self._masks = None          # dropout masks of the last training forward

    # ------------------------------------------------------------------ structure
    def list_arguments(self):
        return (['data', 'parameters', 'state', 'state_cell'] if self.mode == 'lstm'
                else ['data', 'parameters', 'state'])

    def list_outputs(self):
        if not self.state_outputs:
            return ['output']
        return (['output', 'state_output', 'statecell_output'] if self.mode == 'lstm'
                else ['output', 'state_output'])

    # ------------------------------------------------------------------ inference
    def infer_shape(self, in_shapes, partial=False):
        shapes = list(in_shapes)
        data = shapes[0]
        n_out = len(self.list_outputs())
        if data is None:
            return shapes, [None] * n_out, []
        if len(data) != 3:
            self.fail('data must have 3 dimensions (sequence length T, batch N, features C), '
                      'got shape %s' % shape_str(data))
        steps, batch, features = data
        H, LD = self.state_size, self.num_layers * self.directions
        if features:
            size = rnn_param_size(self.mode, H, self.num_layers, features, self.bidirectional)
            given = shapes[1]
            if given is not None and tuple(given) != (size,) and not (
                    partial and len(given) == 1 and given[0] == 0):
                self.fail('parameters must have shape (%d,) for data with %d features, '
                          'mode=%s, state_size=%d, num_layers=%d, bidirectional=%s; got %s'
                          % (size, features, self.mode, H, self.num_layers, self.bidirectional,
                             shape_str(given)))
            shapes[1] = (size,)
        state = (LD, batch, H)
        for index in range(2, len(shapes)):
            given = shapes[index]
            if given is not None:
                try:
                    merge_shapes(given, state)
                except ValueError:
                    self.fail('%s must have shape %s (num_layers x directions, batch, '
                              'state_size), got %s' % (self.list_arguments()[index],
                                                       shape_str(state), shape_str(given)))
            self.merge_shape(shapes, index, state)
        batch = shapes[2][1]
        out = (steps, batch, self.directions * H)
        return shapes, [out] + [(LD, batch, H)] * (n_out - 1), []

    def infer_type(self, in_types):
        dtype = next((t for t in in_types if t is not None), None)
        return [dtype] * len(in_types), [dtype] * len(self.list_outputs()), []

    # ------------------------------------------------------------------ parameters
    def _weights(self, flat, input_size):
        """Per (layer, direction): ``{'i2h_weight': [G views (H, in)], 'h2h_weight': [G views
        (H, H)], 'i2h_bias': [G views (H,)], 'h2h_bias': [...]}`` into the flat vector
        ``flat`` (the parameters, or their gradient)."""
        B, H = self.B, self.state_size
        entries, _ = rnn_param_layout(self.mode, H, self.num_layers, input_size,
                                      self.bidirectional)
        views = []
        for entry in entries:
            per_gate = {}
            for name, (offset, shape) in entry.items():
                size = shape[0] * (shape[1] if len(shape) == 2 else 1)
                whole = B.reshape(B.rows(flat, offset, offset + size), shape)
                per_gate[name] = [B.rows(whole, k * H, (k + 1) * H) for k in range(self.gates)]
            views.append(per_gate)
        return views

    def _step_view(self, buf, t):
        """Step ``t`` of a (T, N, H) buffer, as an (N, H) view."""
        return self.B.reshape(self.B.rows(buf, t, t + 1), buf.shape[1:])

    def _state_view(self, buf, k):
        """Layer-direction ``k`` of a (L·D, N, H) state buffer, as an (N, H) view."""
        return self.B.reshape(self.B.rows(buf, k, k + 1), buf.shape[1:])

    # ------------------------------------------------------------------ forward
    def _forward_direction(self, x, w, h0, c0, reverse, out):
        """Run one layer in one direction over ``x`` (T, N, in), writing h_t into ``out``
        (T, N, H); returns the tape, the last hidden state and (LSTM) the last cell state."""
        B, H = self.B, self.state_size
        T, N = x.shape[0], x.shape[1]
        dtype = x.dtype
        x2 = B.reshape(x, (T * N, x.shape[2]))
        # input projections of every step at once: xp[k] = x · W_kᵀ + b_k, as (T, N, H)
        xp = []
        for k in range(self.gates):
            proj = B.empty((T, N, H), dtype)
            flat = B.reshape(proj, (T * N, H))
            B.gemm(x2, w['i2h_weight'][k], flat, 'write', trans_b=True)
            B.elementwise('b', flat, 'add', b=w['i2h_bias'][k])
            xp.append(proj)
        tape = _Tape()
        h, c = h0, c0
        for t in (range(T - 1, -1, -1) if reverse else range(T)):
            # recurrent projections hp[k] = h_{t-1} · R_kᵀ + r_k
            hp = []
            for k in range(self.gates):
                proj = B.empty((N, H), dtype)
                B.gemm(h, w['h2h_weight'][k], proj, 'write', trans_b=True)
                B.elementwise('b', proj, 'add', b=w['h2h_bias'][k])
                hp.append(proj)
            xs = [self._step_view(p, t) for p in xp]
            h_new = self._step_view(out, t)
            if self.mode in ('rnn_tanh', 'rnn_relu'):
                expr = 'tanh(x + h)' if self.mode == 'rnn_tanh' else 'fmax(x + h, 0)'
                B.elementwise(expr, h_new, 'write', x=xs[0], h=hp[0])
                tape.gates[t] = []
            elif self.mode == 'lstm':
                gates = [B.empty((N, H), dtype) for _ in range(4)]
                for k, act in enumerate((SIGMOID, SIGMOID, 'tanh(a)', SIGMOID)):
                    B.elementwise('x + h', hp[k], 'write', x=xs[k], h=hp[k])
                    B.elementwise(act, gates[k], 'write', a=hp[k])
                i, f, g, o = gates
                c_new = B.empty((N, H), dtype)
                B.elementwise('f * c + i * g', c_new, 'write', f=f, c=c, i=i, g=g)
                tape.extra[t] = self._clip_cell(c_new)
                B.elementwise('o * tanh(c)', h_new, 'write', o=o, c=c_new)
                tape.gates[t], tape.cells[t] = gates, c_new
                c = c_new
            else:                                                       # gru
                r, z, n = (B.empty((N, H), dtype) for _ in range(3))
                for k, gate in ((0, r), (1, z)):
                    B.elementwise('x + h', hp[k], 'write', x=xs[k], h=hp[k])
                    B.elementwise(SIGMOID, gate, 'write', a=hp[k])
                B.elementwise('tanh(x + r * hn)', n, 'write', x=xs[2], r=r, hn=hp[2])
                B.elementwise('(1 - z) * n + z * h', h_new, 'write', z=z, n=n, h=h)
                tape.gates[t], tape.extra[t] = [r, z, n], hp[2]
            tape.hidden[t] = h_new
            h = h_new
        return tape, h, c

    def _clip_cell(self, c):
        """Clip the new cell state in place; return the mask of the kept elements (None when
        there is no clipping)."""
        if self.lstm_state_clip_min is None:
            return None
        B = self.B
        lo, hi = self.lstm_state_clip_min, self.lstm_state_clip_max
        kept = B.empty(c.shape, c.dtype)
        B.elementwise('(c >= lo) * (c <= hi)', kept, 'write', c=c, lo=lo, hi=hi)
        if self.lstm_state_clip_nan:
            B.elementwise('fmin(fmax(c, lo), hi)', c, 'write', c=c, lo=lo, hi=hi)
        else:
            B.elementwise('where(c != c, c, fmin(fmax(c, lo), hi))', c, 'write', c=c, lo=lo,
                          hi=hi)
        return kept

    def _run(self, in_data, outputs, masks):
        """The whole forward pass.  ``outputs`` is ``(y, hy, cy)`` (buffers to write, or None)
        with y (T, N, D·H); returns the per-layer inputs and tapes for the backward pass."""
        B, H, D = self.B, self.state_size, self.directions
        data, flat, h0 = in_data[0], in_data[1], in_data[2]
        c0 = in_data[3] if self.mode == 'lstm' else None
        T, N = data.shape[0], data.shape[1]
        weights = self._weights(flat, data.shape[2])
        y, hy, cy = outputs
        x = data
        layers = []
        for layer in range(self.num_layers):
            dir_out, tapes = [], []
            for d in range(D):
                k = layer * D + d
                out = B.empty((T, N, H), data.dtype)
                tape, h_last, c_last = self._forward_direction(
                    x, weights[k], self._state_view(h0, k),
                    None if c0 is None else self._state_view(c0, k), d == 1, out)
                if hy is not None:
                    B.copy(h_last, self._state_view(hy, k))
                if cy is not None:
                    B.copy(c_last, self._state_view(cy, k))
                dir_out.append(out)
                tapes.append(tape)
            top = layer == self.num_layers - 1
            joined = y if top else B.empty((T, N, D * H), data.dtype)
            B.concat(dir_out, 2, joined, 'write')
            layers.append((x, tapes, dir_out))
            if not top and masks is not None:
                B.elementwise('x * m', joined, 'write', x=joined, m=masks[layer])
            x = joined
        return weights, layers

    def _dropout_masks(self, is_train, data):
        """Fresh dropout masks (already scaled by 1/(1 − p)) for the outputs of every layer
        but the last, or None when there is no dropout."""
        if not is_train or self.p == 0 or self.num_layers == 1:
            return None
        B = self.B
        shape = (data.shape[0], data.shape[1], self.directions * self.state_size)
        masks = []
        for _ in range(self.num_layers - 1):
            draw, mask = B.empty(shape, data.dtype), B.empty(shape, data.dtype)
            B.random_uniform(0.0, 1.0, draw)
            B.elementwise('(u >= p) / (1 - p)', mask, 'write', u=draw, p=self.p)
            masks.append(mask)
        return masks

    def forward(self, is_train, req, in_data, out_data, aux):
        B = self.B
        dtype = in_data[0].dtype
        self._masks = self._dropout_masks(is_train, in_data[0])
        shape = in_data[2].shape
        y = B.empty(out_data[0].shape, dtype)
        hy = B.empty(shape, dtype) if self.state_outputs else None
        cy = B.empty(shape, dtype) if self.state_outputs and self.mode == 'lstm' else None
        self._run(in_data, (y, hy, cy), self._masks)
        for buf, out, r in zip((y, hy, cy), out_data, req):
            B.store(out, buf, r)

    # ------------------------------------------------------------------ backward
    def _backward_direction(self, x, w, dw, tape, h0, c0, reverse, dy, dh, dc, dx):
        """Backpropagation through time for one layer and direction.

        ``dy`` (T, N, H): the gradient arriving at this direction's outputs; ``dh``/``dc``
        (N, H): the gradient at its last states, updated in place to the gradient at
        ``h0``/``c0``.  Adds the weight gradients into ``dw`` and the input gradient into
        ``dx`` (T, N, in).
        """
        B, H = self.B, self.state_size
        T, N = x.shape[0], x.shape[1]
        dtype = x.dtype
        # da[k] (T, N, H): gradient at the pre-activation of gate k, i2h part
        da = [B.zeros((T, N, H), dtype) for _ in range(self.gates)]
        dr = [B.empty((N, H), dtype) for _ in range(self.gates)]     # h2h part, one step
        order = range(T) if reverse else range(T - 1, -1, -1)       # the forward order reversed
        for t in order:
            prev = t + 1 if reverse else t - 1
            first = prev < 0 or prev >= T
            h_prev = h0 if first else tape.hidden[prev]
            B.elementwise('g', dh, 'add', g=self._step_view(dy, t))              # dh_t
            di = [self._step_view(a, t) for a in da]
            if self.mode == 'rnn_tanh':
                B.elementwise('dh * (1 - h * h)', di[0], 'write', dh=dh, h=tape.hidden[t])
                B.copy(di[0], dr[0])
            elif self.mode == 'rnn_relu':
                B.elementwise('dh * (h > 0)', di[0], 'write', dh=dh, h=tape.hidden[t])
                B.copy(di[0], dr[0])
            elif self.mode == 'lstm':
                i, f, g, o = tape.gates[t]
                c = tape.cells[t]
                c_prev = c0 if first else tape.cells[prev]
                # dc_t = dc_{t+1}·f_{t+1} (already in dc) + dh·o·(1 − tanh²c), zero where clipped
                B.elementwise('dc + dh * o * (1 - tanh(c) * tanh(c))', dc, 'write', dc=dc,
                              dh=dh, o=o, c=c)
                if tape.extra[t] is not None:
                    B.elementwise('dc * m', dc, 'write', dc=dc, m=tape.extra[t])
                B.elementwise('dc * g * i * (1 - i)', di[0], 'write', dc=dc, g=g, i=i)
                B.elementwise('dc * c * f * (1 - f)', di[1], 'write', dc=dc, c=c_prev, f=f)
                B.elementwise('dc * i * (1 - g * g)', di[2], 'write', dc=dc, i=i, g=g)
                B.elementwise('dh * tanh(c) * o * (1 - o)', di[3], 'write', dh=dh, c=c, o=o)
                for k in range(4):
                    B.copy(di[k], dr[k])
                B.elementwise('dc * f', dc, 'write', dc=dc, f=f)                  # dc_{t-1}
            else:                                                               # gru
                r, z, n = tape.gates[t]
                hn = tape.extra[t]
                B.elementwise('dh * (1 - z) * (1 - n * n)', di[2], 'write', dh=dh, z=z, n=n)
                B.elementwise('dn * hn * r * (1 - r)', di[0], 'write', dn=di[2], hn=hn, r=r)
                B.elementwise('dh * (h - n) * z * (1 - z)', di[1], 'write', dh=dh, h=h_prev,
                              n=n, z=z)
                B.copy(di[0], dr[0])
                B.copy(di[1], dr[1])
                B.elementwise('dn * r', dr[2], 'write', dn=di[2], r=r)
            # dh_{t-1} = (GRU: dh·z) + Σ_k dr_k · R_k;  dR_k += dr_kᵀ · h_{t-1};  dr_k += Σ dr_k
            if self.mode == 'gru':
                B.elementwise('dh * z', dh, 'write', dh=dh, z=tape.gates[t][1])
            else:
                B.store(dh, 0, 'write')
            for k in range(self.gates):
                B.gemm(dr[k], w['h2h_weight'][k], dh, 'add')
                B.gemm(dr[k], h_prev, dw['h2h_weight'][k], 'add', trans_a=True)
                B.sum_to(dr[k], dw['h2h_bias'][k], 'add')
        # the input side, all steps at once: dx += Σ_k da_k · W_k;  dW_k += da_kᵀ · x
        x2 = B.reshape(x, (T * N, x.shape[2]))
        dx2 = B.reshape(dx, (T * N, x.shape[2]))
        for k in range(self.gates):
            flat = B.reshape(da[k], (T * N, H))
            B.gemm(flat, w['i2h_weight'][k], dx2, 'add')
            B.gemm(flat, x2, dw['i2h_weight'][k], 'add', trans_a=True)
            B.sum_to(flat, dw['i2h_bias'][k], 'add')

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        B, H, D = self.B, self.state_size, self.directions
        data, flat = in_data[0], in_data[1]
        dtype, (T, N) = data.dtype, data.shape[:2]
        lstm = self.mode == 'lstm'
        weights, layers = self._run(in_data, (B.empty((T, N, D * H), dtype), None, None),
                                    self._masks)
        dflat = B.zeros(flat.shape, dtype)
        dweights = self._weights(dflat, data.shape[2])
        dh0 = B.zeros(in_data[2].shape, dtype)
        dc0 = B.zeros(in_data[2].shape, dtype) if lstm else None
        # gradients at the last states: the head gradients of state_output(s), if any
        if self.state_outputs:
            B.copy(out_grad[1], dh0)
            if lstm:
                B.copy(out_grad[2], dc0)
        dy = out_grad[0]                                            # (T, N, D·H) of the top
        for layer in range(self.num_layers - 1, -1, -1):
            x, tapes, _ = layers[layer]
            if layer < self.num_layers - 1 and self._masks is not None:
                masked = B.empty(dy.shape, dtype)
                B.elementwise('g * m', masked, 'write', g=dy, m=self._masks[layer])
                dy = masked
            parts = [B.empty((T, N, H), dtype) for _ in range(D)]
            B.split(dy, 2, parts, ['write'] * D)
            dx = B.zeros(x.shape, dtype)
            for d in range(D):
                k = layer * D + d
                self._backward_direction(
                    x, weights[k], dweights[k], tapes[d], self._state_view(in_data[2], k),
                    self._state_view(in_data[3], k) if lstm else None, d == 1, parts[d],
                    self._state_view(dh0, k), self._state_view(dc0, k) if lstm else None, dx)
            dy = dx
        B.store(in_grad[0], dy, req[0])
        B.store(in_grad[1], dflat, req[1])
        B.store(in_grad[2], dh0, req[2])
        if lstm:
            B.store(in_grad[3], dc0, req[3])
