"""Recurrent graphs built the same way with MXNet 1.9.1 and with mxref, to compare names.

``tests/test_rnn_cell.py`` builds each case with mxref and compares it with what MXNet 1.9.1
built, recorded in ``tests/fixtures/rnn_graphs-mxnet-1.9.1.json``.  To record again (needs a
Python with MXNet, never a dependency of mxref)::

    /tmp/mxenv/bin/python tests/rnn_graph_cases.py > tests/fixtures/rnn_graphs-mxnet-1.9.1.json
"""
import json


def _flatten(states):
    """Nested state lists (BidirectionalCell returns [l_states, r_states]) as one list."""
    if isinstance(states, (list, tuple)):
        return [s for item in states for s in _flatten(item)]
    return [states]


def _cases(mx):
    """name -> function building ``(outputs, states)`` with the library ``mx``."""
    def data():
        return mx.sym.Variable('data')

    def sequential():
        stack = mx.rnn.SequentialRNNCell()
        stack.add(mx.rnn.LSTMCell(5, prefix='l0_'))
        stack.add(mx.rnn.DropoutCell(0.5, prefix='d0_'))
        stack.add(mx.rnn.ResidualCell(mx.rnn.LSTMCell(5, prefix='l1_')))
        return stack.unroll(3, data(), merge_outputs=True)

    def bidirectional(merge):
        cell = mx.rnn.BidirectionalCell(mx.rnn.LSTMCell(3, prefix='l_'),
                                        mx.rnn.GRUCell(3, prefix='r_'))
        return cell.unroll(3, data(), merge_outputs=merge)

    def zoneout():
        cell = mx.rnn.ZoneoutCell(mx.rnn.RNNCell(4, prefix='z_'), zoneout_outputs=0.3,
                                  zoneout_states=0.2)
        return cell.unroll(2, data(), merge_outputs=True)

    def one_step():
        cell = mx.rnn.LSTMCell(4, prefix='s_')
        return cell(mx.sym.Variable('x'), cell.begin_state(func=mx.sym.Variable))

    def residual_list():
        cell = mx.rnn.ResidualCell(mx.rnn.GRUCell(4, prefix='g_'))
        return cell.unroll(2, [mx.sym.Variable('a'), mx.sym.Variable('b')])

    return {
        'rnn': lambda: mx.rnn.RNNCell(4, prefix='rnn_').unroll(3, data(), merge_outputs=True),
        'rnn-relu-list': lambda: mx.rnn.RNNCell(4, activation='relu').unroll(
            2, [mx.sym.Variable('x0'), mx.sym.Variable('x1')]),
        'lstm-tnc': lambda: mx.rnn.LSTMCell(4, prefix='lstm_', forget_bias=2.5).unroll(
            3, data(), layout='TNC', merge_outputs=True),
        'gru-list': lambda: mx.rnn.GRUCell(4).unroll(3, data(), merge_outputs=False),
        'sequential': sequential,
        'bi-merged': lambda: bidirectional(True),
        'bi-list': lambda: bidirectional(False),
        'bi-none': lambda: bidirectional(None),
        'zoneout': zoneout,
        'one-step': one_step,
        'residual-list': residual_list,
    }


def describe(mx):
    """For every case: arguments, outputs, state names and the graph's JSON nodes/heads.
    Each case is built under a fresh NameManager, so automatic names restart from 0."""
    result = {}
    for name, build in _cases(mx).items():
        with mx.name.NameManager():
            outputs, states = build()
        outputs = [outputs] if isinstance(outputs, mx.sym.Symbol) else list(outputs)
        states = _flatten(states)
        group = mx.sym.Group(outputs + states)
        graph = json.loads(group.tojson())
        result[name] = {'arguments': group.list_arguments(), 'outputs': group.list_outputs(),
                        'states': [s.name for s in states], 'nodes': graph['nodes'],
                        'heads': graph['heads'], 'node_row_ptr': graph['node_row_ptr']}
    return result


if __name__ == '__main__':
    import mxnet
    print(json.dumps(describe(mxnet), indent=1, sort_keys=True))
