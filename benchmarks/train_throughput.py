"""Training throughput of the MNIST networks and the char-LSTM, mxref against MXNet 1.9.1.

Trains a network with the Module API for a fixed number of mini-batches after a warm-up and
prints training samples per second.  One timed batch is what ``Module.fit`` does per batch::

    mod.forward(batch, is_train=True); mod.backward(); mod.update()
    mod.update_metric(metric, batch.label)          # reads the outputs: a sync point

Usage, from the repository root (kernels built)::

    python benchmarks/train_throughput.py                                  # mxref only
    python benchmarks/train_throughput.py --mxnet-python /tmp/mxenv/bin/python --rounds 5

With ``--mxnet-python`` every round runs each case once in a fresh ``mxref`` process and
once in a fresh MXNet process (the same script, ``--worker``), alternating which goes
first, so that both frameworks see the same load on a shared machine; the table gives the
median over rounds and the ratio mxref / MXNet of the medians.  MXNet is never imported by
mxref: it runs in its own Python (see benchmarks/README.md for how to make one).

Each framework runs in its default configuration: MXNet with its OpenMP threads and its
oneDNN kernels, mxref with its Cython kernels (``OMP_WAIT_POLICY=PASSIVE`` set by
``mxref._kernels`` unless already set).  ``--threads N`` gives both N OpenMP threads and
``--env NAME=VALUE`` sets a variable for both (``--env OMP_WAIT_POLICY=PASSIVE`` stops
MXNet's OpenMP threads from spinning, which matters on a busy machine).  ``--breakdown``
splits mxref's time per batch between the backend functions and the Python around them;
``--layers`` gives the fastest forward and backward time of each layer.

A case is an entry of ``CASES``: a function of the framework module (``mx``) returning the
symbol, the data shape and the label shape of one batch, and how to make a random batch.  The
char-LSTM case trains the char-LSTM tutorial's unrolled 2-layer LSTM on random character
sequences; its samples are sequences of 32 characters.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ------------------------------------------------------------------------------------ cases
def mlp(mx, batch_size):
    """The MNIST tutorial's MLP: 784 -> FC128-relu -> FC64-relu -> FC10 -> SoftmaxOutput."""
    batch_size = batch_size or 100
    data = mx.sym.Variable('data')
    net = mx.sym.FullyConnected(data, name='fc1', num_hidden=128)
    net = mx.sym.Activation(net, name='relu1', act_type='relu')
    net = mx.sym.FullyConnected(net, name='fc2', num_hidden=64)
    net = mx.sym.Activation(net, name='relu2', act_type='relu')
    net = mx.sym.FullyConnected(net, name='fc3', num_hidden=10)
    net = mx.sym.SoftmaxOutput(net, name='softmax')
    return dict(symbol=net, batch_size=batch_size, data_shape=(batch_size, 784),
                num_classes=10,
                optimizer=('sgd', dict(learning_rate=0.1, momentum=0.9, wd=1e-5)))


def lenet(mx, batch_size):
    """The MNIST tutorial's LeNet: two Conv5x5-tanh-maxpool2 blocks (20, 50 filters),
    FC500-tanh, FC10, SoftmaxOutput."""
    batch_size = batch_size or 100
    data = mx.sym.Variable('data')
    net = mx.sym.Convolution(data, kernel=(5, 5), num_filter=20)
    net = mx.sym.Activation(net, act_type='tanh')
    net = mx.sym.Pooling(net, pool_type='max', kernel=(2, 2), stride=(2, 2))
    net = mx.sym.Convolution(net, kernel=(5, 5), num_filter=50)
    net = mx.sym.Activation(net, act_type='tanh')
    net = mx.sym.Pooling(net, pool_type='max', kernel=(2, 2), stride=(2, 2))
    net = mx.sym.Flatten(net)
    net = mx.sym.FullyConnected(net, num_hidden=500)
    net = mx.sym.Activation(net, act_type='tanh')
    net = mx.sym.FullyConnected(net, num_hidden=10)
    net = mx.sym.SoftmaxOutput(net, name='softmax')
    return dict(symbol=net, batch_size=batch_size, data_shape=(batch_size, 1, 28, 28),
                num_classes=10,
                optimizer=('sgd', dict(learning_rate=0.05, momentum=0.9, wd=1e-5)))


def char_lstm(mx, batch_size):
    """The char-LSTM tutorial's model (``tutorials/char_lstm.py``, MXNet.jl's configuration):
    one-hot characters of a 65-letter vocabulary, a 256-unit embedding without bias, 2 LSTM
    layers of 256 units unrolled over 32 steps with each step's four gates computed together
    and cut by ``SliceChannel``, a ``SoftmaxOutput`` per step (the final states are not
    outputs of the training graph, as in the tutorial); Adam with learning rate 0.01, wd 1e-5 and gradients clipped at 1.  Built here
    from ``mx.sym`` alone so that the same function runs under MXNet."""
    seq_len, n_layer, hidden, embed, vocab = 32, 2, 256, 256, 65
    sym = mx.sym
    embed_w, pred_w, pred_b = (sym.Variable('ptb_' + n)
                               for n in ('embed_weight', 'pred_weight', 'pred_bias'))
    layers = []                   # per layer: [weights (i2h_W, i2h_b, h2h_W, h2h_b), c, h]
    for l in range(1, n_layer + 1):
        weights = [sym.Variable('ptb_l%d_%s' % (l, n))
                   for n in ('i2h_weight', 'i2h_bias', 'h2h_weight', 'h2h_bias')]
        layers.append([weights, sym.Variable('ptb_l%d_init_c' % l),
                       sym.Variable('ptb_l%d_init_h' % l)])
    outputs = []
    for t in range(1, seq_len + 1):
        x = sym.FullyConnected(sym.Variable('ptb_data_%d' % t), weight=embed_w,
                               num_hidden=embed, no_bias=True, name='ptb_embed_%d' % t)
        for l, layer in enumerate(layers, 1):
            (i2h_w, i2h_b, h2h_w, h2h_b), c, h = layer
            name = 'ptb_lstm_l%d_t%d' % (l, t)
            gates = sym.SliceChannel(
                sym.FullyConnected(x, weight=i2h_w, bias=i2h_b, num_hidden=4 * hidden,
                                   name=name + '_i2h')
                + sym.FullyConnected(h, weight=h2h_w, bias=h2h_b, num_hidden=4 * hidden,
                                     name=name + '_h2h'),
                num_outputs=4, name=name + '_gates')
            c = (sym.Activation(gates[2], act_type='sigmoid') * c
                 + sym.Activation(gates[0], act_type='sigmoid')
                 * sym.Activation(gates[1], act_type='tanh'))
            h = sym.Activation(gates[3], act_type='sigmoid') * sym.Activation(c, act_type='tanh')
            layer[1:] = [c, h]
            x = h
        pred = sym.FullyConnected(x, weight=pred_w, bias=pred_b, num_hidden=vocab,
                                  name='ptb_pred_%d' % t)
        outputs.append(sym.SoftmaxOutput(pred, sym.Variable('ptb_label_%d' % t),
                                         name='ptb_softmax_%d' % t))
    return dict(symbol=sym.Group(outputs), batch_size=batch_size or 32,
                seq_len=seq_len, n_layer=n_layer, hidden=hidden, num_classes=vocab,
                make_iter=char_sequences, metric=lambda: mx.metric.Perplexity(None),
                optimizer=('adam', dict(learning_rate=0.01, wd=1e-5, clip_gradient=1.0)))


def char_sequences(mx, rng, count, spec):
    """An ``NDArrayIter`` over ``count`` random character sequences, named as the tutorial's
    provider names them: one-hot ``ptb_data_t`` and ``ptb_label_t`` per step, and zero
    initial states ``ptb_l<layer>_init_c``/``_h``."""
    import numpy as np
    T, vocab, batch = spec['seq_len'], spec['num_classes'], spec['batch_size']
    codes = rng.randint(0, vocab, (count, T + 1))
    one_hot = np.eye(vocab, dtype=np.float32)
    data = {'ptb_data_%d' % t: one_hot[codes[:, t - 1]] for t in range(1, T + 1)}
    for l in range(1, spec['n_layer'] + 1):
        for s in 'ch':
            data['ptb_l%d_init_%s' % (l, s)] = np.zeros((count, spec['hidden']), np.float32)
    label = {'ptb_label_%d' % t: codes[:, t].astype(np.float32) for t in range(1, T + 1)}
    return mx.io.NDArrayIter(data, label, batch, shuffle=False)


def random_images(mx, rng, count, spec):
    """An ``NDArrayIter`` over ``count`` examples of random pixels in [0, 1) and random class
    labels, named ``data`` and ``softmax_label``."""
    import numpy as np
    data = rng.uniform(0, 1, (count,) + spec['data_shape'][1:]).astype(np.float32)
    label = rng.randint(0, spec['num_classes'], count).astype(np.float32)
    return mx.io.NDArrayIter(data, label, spec['batch_size'], shuffle=False,
                             label_name='softmax_label')


# A case: f(mx, batch_size or None) -> dict(symbol, batch_size (the case's default when given
# None), num_classes, optimizer=(name, params)), optionally make_iter(mx, rng, count, spec) ->
# a DataIter over ``count`` random examples (default random_images, which needs data_shape)
# and metric (a function returning an EvalMetric; default accuracy).
CASES = {'mlp': mlp, 'lenet': lenet, 'char_lstm': char_lstm}
DEFAULT_BATCHES = {'mlp': 300, 'lenet': 40, 'char_lstm': 20}


# ------------------------------------------------------------------------------------ worker
class BackendTimer:
    """Sums the wall time spent inside mxref's CPU backend functions (the Cython kernels and
    the NumPy calls), counting only the outermost call when one backend function calls
    another.  What a training step spends outside them is the Python of the layers above:
    Module, executor group, Executor, operators, optimizer, metric."""

    def __init__(self):
        from mxref.backend import cpu
        import types
        self.seconds, self.calls, self._depth = 0.0, 0, 0
        for name, fn in list(vars(cpu).items()):
            if isinstance(fn, types.FunctionType) and not name.startswith('_') \
                    and fn.__module__ == cpu.__name__:
                setattr(cpu, name, self._timed(fn))

    def _timed(self, fn):
        def timed(*args, **kwargs):
            if self._depth:
                return fn(*args, **kwargs)
            self._depth += 1
            tic = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - tic
                self.calls += 1
                self._depth -= 1
        return timed


def run_worker(framework, case, batch_size, batches, warmup, seed=0, breakdown=False):
    """Train ``case`` for ``warmup`` then ``batches`` batches; return samples/s of the latter
    (with ``breakdown``, mxref only: also the time per batch inside and outside the backend
    functions; the timer's own cost, about 0.3 µs a call, is in the latter)."""
    if framework == 'mxnet':
        import mxnet as mx
    else:
        import mxref as mx
    import numpy as np
    timer = None
    if breakdown and framework == 'mxref':
        timer = BackendTimer.installed = getattr(BackendTimer, 'installed', None) or BackendTimer()

    spec = CASES[case](mx, batch_size)
    batch_size = spec['batch_size']
    rng = np.random.RandomState(seed)
    it = spec.get('make_iter', random_images)(mx, rng, 10 * batch_size, spec)  # 10 batches
    mod = mx.mod.Module(spec['symbol'], context=mx.cpu(),
                        data_names=[d.name for d in it.provide_data],
                        label_names=[d.name for d in it.provide_label])
    mod.bind(data_shapes=it.provide_data, label_shapes=it.provide_label)
    mod.init_params(mx.init.Xavier())
    name, params = spec['optimizer']
    mod.init_optimizer(optimizer=name, optimizer_params=params)
    metric = spec.get('metric', lambda: mx.metric.Accuracy())()
    batches_list = list(it)

    def train(count):
        for i in range(count):
            batch = batches_list[i % len(batches_list)]
            mod.forward(batch, is_train=True)
            mod.backward()
            mod.update()
            mod.update_metric(metric, batch.label)
        mx.nd.waitall()

    train(warmup)
    if timer is not None:
        timer.seconds, timer.calls = 0.0, 0
    tic = time.perf_counter()
    train(batches)
    seconds = time.perf_counter() - tic
    result = {'framework': framework, 'case': case, 'batch_size': batch_size,
              'batches': batches, 'seconds': seconds,
              'samples_per_s': batches * batch_size / seconds, 'version': mx.__version__}
    if timer is not None:
        result.update(ms_per_batch=1e3 * seconds / batches,
                      backend_ms_per_batch=1e3 * timer.seconds / batches,
                      python_ms_per_batch=1e3 * (seconds - timer.seconds) / batches,
                      backend_calls_per_batch=timer.calls / batches)
    return result


def layer_times(case, batch_size, batches):
    """mxref only: the fastest forward and backward time of each layer over ``batches``
    training steps of a bound executor, as ``(batch size, [(layer, forward s, backward s)])``."""
    import mxref as mx
    import numpy as np

    spec = CASES[case](mx, batch_size)
    rng = np.random.RandomState(0)
    it = spec.get('make_iter', random_images)(mx, rng, spec['batch_size'], spec)
    shapes = {d.name: d.shape for d in it.provide_data + it.provide_label}
    labels = {d.name for d in it.provide_label}
    exe = spec['symbol'].simple_bind(      # no gradient for the inputs, as in Module
        mx.cpu(), grad_req={n: 'null' if n in shapes else 'write'
                            for n in spec['symbol'].list_arguments()}, **shapes)
    for name, array in exe.arg_dict.items():
        if name in labels:
            array[:] = rng.randint(0, spec['num_classes'], array.shape)
        else:
            array[:] = rng.uniform(-0.1, 0.1, array.shape)
    forward, backward = {}, {}
    for _ in range(batches):
        for step in exe._steps:
            tic = time.perf_counter()
            step.op.forward(True, step.out_req, step.inputs, step.outputs, step.aux)
            seconds = time.perf_counter() - tic
            forward[step.node.name] = min(forward.get(step.node.name, seconds), seconds)
        for step in exe._backward_steps:
            tic = time.perf_counter()
            step.op.backward(step.in_reqs, step.out_grads, step.inputs, step.outputs,
                             step.in_grads, step.aux)
            seconds = time.perf_counter() - tic
            backward[step.node.name] = min(backward.get(step.node.name, seconds), seconds)
    return spec['batch_size'], [(s.node.name, forward[s.node.name],
                                 backward.get(s.node.name, 0.0)) for s in exe._steps]


# ------------------------------------------------------------------------------------ driver
def _spawn(python, framework, case, args, mxref_root=ROOT):
    env = dict(os.environ)
    if framework == 'mxref':
        env['PYTHONPATH'] = mxref_root + os.pathsep + env.get('PYTHONPATH', '')
    if args.threads:
        env['OMP_NUM_THREADS'] = str(args.threads)
    for setting in args.env:
        key, _, value = setting.partition('=')
        env[key] = value
    command = [python, os.path.abspath(__file__), '--worker', framework, '--cases', case,
               '--batch-size', str(args.batch_size or 0), '--warmup', str(args.warmup),
               '--batches', str(args.batches or DEFAULT_BATCHES[case])]
    result = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit('%s worker for %s failed:\n%s%s' % (framework, case, result.stdout,
                                                             result.stderr))
    return json.loads(result.stdout.strip().splitlines()[-1])


def _load():
    try:
        return '%.2f %.2f %.2f' % os.getloadavg()
    except OSError:
        return 'unknown'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--cases', default='mlp,lenet,char_lstm',
                        help='comma-separated cases among %s' % ', '.join(CASES))
    parser.add_argument('--batch-size', type=int, default=None,
                        help="examples per batch (default: the case's own, 100 for MNIST, "
                             "32 sequences for char_lstm)")
    parser.add_argument('--batches', type=int, default=None,
                        help='timed batches per run (default: %s)' % DEFAULT_BATCHES)
    parser.add_argument('--warmup', type=int, default=10)
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--mxnet-python', default=None,
                        help='a Python with MXNet 1.9.1, to compare against')
    parser.add_argument('--baseline', default=None, metavar='CHECKOUT',
                        help='another mxref checkout (kernels built) to run as a third '
                             'framework, "mxref-baseline": before/after comparisons')
    parser.add_argument('--threads', type=int, default=None,
                        help='OMP_NUM_THREADS for both frameworks (default: unset)')
    parser.add_argument('--env', action='append', default=[], metavar='NAME=VALUE',
                        help='an environment variable for every worker, e.g. '
                             'OMP_WAIT_POLICY=PASSIVE (repeatable)')
    parser.add_argument('--breakdown', action='store_true',
                        help='mxref only, in this process: per batch, the time inside the '
                             'backend functions and the Python around them')
    parser.add_argument('--layers', action='store_true',
                        help='mxref only, in this process: the fastest forward and backward '
                             'time of every layer')
    parser.add_argument('--mxref-root', default=ROOT, metavar='CHECKOUT',
                        help='the mxref checkout --breakdown and --layers measure (default: '
                             'this one)')
    parser.add_argument('--worker', choices=('mxref', 'mxnet'), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    cases = [c.strip() for c in args.cases.split(',') if c.strip()]
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        parser.error('unknown case(s) %s; known: %s' % (unknown, ', '.join(CASES)))

    if args.layers:
        sys.path.insert(0, os.path.abspath(args.mxref_root))
        for case in cases:
            batch_size, rows = layer_times(case, args.batch_size,
                                           args.batches or DEFAULT_BATCHES[case] // 2)
            print('%s, batch %d: fastest time per layer, ms' % (case, batch_size))
            print('%-18s %9s %9s' % ('layer', 'forward', 'backward'))
            for name, fwd, bwd in rows:
                print('%-18s %9.3f %9.3f' % (name, 1e3 * fwd, 1e3 * bwd))
            print('%-18s %9.3f %9.3f' % ('total', 1e3 * sum(r[1] for r in rows),
                                         1e3 * sum(r[2] for r in rows)))
        return

    if args.breakdown:
        sys.path.insert(0, os.path.abspath(args.mxref_root))
        for case in cases:
            out = run_worker('mxref', case, args.batch_size,
                             args.batches or DEFAULT_BATCHES[case], args.warmup, breakdown=True)
            print('%-9s %8.1f samples/s  %.3f ms/batch: %.3f ms in %.0f backend calls, %.3f ms '
                  'of Python around them (%.0f%%)'
                  % (case, out['samples_per_s'], out['ms_per_batch'],
                     out['backend_ms_per_batch'], out['backend_calls_per_batch'],
                     out['python_ms_per_batch'],
                     100 * out['python_ms_per_batch'] / out['ms_per_batch']))
        return

    if args.worker:
        for case in cases:
            print(json.dumps(run_worker(args.worker, case, args.batch_size,
                                        args.batches or DEFAULT_BATCHES[case], args.warmup)))
        return

    # (label, python, worker kind, mxref checkout)
    frameworks = [('mxref', sys.executable, 'mxref', ROOT)]
    if args.mxnet_python:
        frameworks.append(('mxnet', args.mxnet_python, 'mxnet', None))
    if args.baseline:
        frameworks.append(('mxref-baseline', sys.executable, 'mxref',
                           os.path.abspath(args.baseline)))
    print('load average at start: %s (%d CPUs)%s' % (
        _load(), os.cpu_count(), ''.join('; ' + e for e in args.env)))
    labels = [f[0] for f in frameworks]
    results = {(c, f): [] for c in cases for f in labels}
    versions, batch_sizes = {}, {}
    for r in range(args.rounds):
        order = frameworks if r % 2 == 0 else frameworks[::-1]
        for case in cases:
            for label, python, kind, checkout in order:
                out = _spawn(python, kind, case, args, checkout)
                results[(case, label)].append(out['samples_per_s'])
                versions[label] = out['version']
                batch_sizes[case] = out['batch_size']
                print('round %d  %-9s %-14s %9.1f samples/s  (load %s)'
                      % (r + 1, case, label, out['samples_per_s'], _load()), flush=True)
    print('load average at end: %s' % _load())
    print()
    header = '| case | batch | %s |' % ' | '.join(
        '%s %s samples/s (median of %d)' % (f, versions[f], args.rounds) for f in labels)
    for other in labels[1:]:
        header += ' mxref / %s |' % other
    print(header)
    print('|' + ' --- |' * (header.count('|') - 1))
    for case in cases:
        medians = [statistics.median(results[(case, f)]) for f in labels]
        row = '| %s | %d | %s |' % (case, batch_sizes[case],
                                    ' | '.join('%.1f' % m for m in medians))
        for m in medians[1:]:
            row += ' %.2fx |' % (medians[0] / m)
        print(row)


if __name__ == '__main__':
    main()
