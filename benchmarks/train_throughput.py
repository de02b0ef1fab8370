"""Training throughput of the MNIST networks, mxref against MXNet 1.9.1.

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
symbol, the data shape and the label shape of one batch, and how to make a random batch.  A
char-LSTM case (issue 6) adds one function here.
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
    data = mx.sym.Variable('data')
    net = mx.sym.FullyConnected(data, name='fc1', num_hidden=128)
    net = mx.sym.Activation(net, name='relu1', act_type='relu')
    net = mx.sym.FullyConnected(net, name='fc2', num_hidden=64)
    net = mx.sym.Activation(net, name='relu2', act_type='relu')
    net = mx.sym.FullyConnected(net, name='fc3', num_hidden=10)
    net = mx.sym.SoftmaxOutput(net, name='softmax')
    return dict(symbol=net, data_shape=(batch_size, 784), num_classes=10,
                optimizer=('sgd', dict(learning_rate=0.1, momentum=0.9, wd=1e-5)))


def lenet(mx, batch_size):
    """The MNIST tutorial's LeNet: two Conv5x5-tanh-maxpool2 blocks (20, 50 filters),
    FC500-tanh, FC10, SoftmaxOutput."""
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
    return dict(symbol=net, data_shape=(batch_size, 1, 28, 28), num_classes=10,
                optimizer=('sgd', dict(learning_rate=0.05, momentum=0.9, wd=1e-5)))


def random_images(rng, count, spec):
    """``count`` examples of random pixels in [0, 1) and random class labels (float32)."""
    import numpy as np
    data = rng.uniform(0, 1, (count,) + spec['data_shape'][1:]).astype(np.float32)
    label = rng.randint(0, spec['num_classes'], count).astype(np.float32)
    return data, label


# A case: f(mx, batch_size) -> dict(symbol, data_shape, num_classes, optimizer=(name, params)),
# optionally make_data(rng, count, spec) -> (data, label) NumPy arrays (default random_images)
# and metric (default 'acc').
CASES = {'mlp': mlp, 'lenet': lenet}
DEFAULT_BATCHES = {'mlp': 300, 'lenet': 40}


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
    rng = np.random.RandomState(seed)
    data, label = spec.get('make_data', random_images)(rng, 10 * batch_size, spec)  # 10 batches
    it = mx.io.NDArrayIter(data, label, batch_size, shuffle=False, label_name='softmax_label')
    mod = mx.mod.Module(spec['symbol'], context=mx.cpu())
    mod.bind(data_shapes=it.provide_data, label_shapes=it.provide_label)
    mod.init_params(mx.init.Xavier())
    name, params = spec['optimizer']
    mod.init_optimizer(optimizer=name, optimizer_params=params)
    metric = mx.metric.create(spec.get('metric', 'acc'))
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
    training steps of a bound executor, as ``[(layer, forward s, backward s)]``."""
    import mxref as mx
    import numpy as np

    spec = CASES[case](mx, batch_size)
    rng = np.random.RandomState(0)
    inputs = ('data', 'softmax_label')                 # no gradient for them, as in Module
    exe = spec['symbol'].simple_bind(
        mx.cpu(), grad_req={n: 'null' if n in inputs else 'write'
                            for n in spec['symbol'].list_arguments()},
        data=spec['data_shape'], softmax_label=(batch_size,))
    for name, array in exe.arg_dict.items():
        if name == 'softmax_label':
            array[:] = rng.randint(0, spec['num_classes'], batch_size)
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
    return [(s.node.name, forward[s.node.name], backward.get(s.node.name, 0.0))
            for s in exe._steps]


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
               '--batch-size', str(args.batch_size), '--warmup', str(args.warmup),
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
    parser.add_argument('--cases', default='mlp,lenet',
                        help='comma-separated cases among %s' % ', '.join(CASES))
    parser.add_argument('--batch-size', type=int, default=100)
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
            rows = layer_times(case, args.batch_size, args.batches or DEFAULT_BATCHES[case] // 2)
            print('%s, batch %d: fastest time per layer, ms' % (case, args.batch_size))
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
            print('%-6s %8.1f samples/s  %.3f ms/batch: %.3f ms in %.0f backend calls, %.3f ms '
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
    versions = {}
    for r in range(args.rounds):
        order = frameworks if r % 2 == 0 else frameworks[::-1]
        for case in cases:
            for label, python, kind, checkout in order:
                out = _spawn(python, kind, case, args, checkout)
                results[(case, label)].append(out['samples_per_s'])
                versions[label] = out['version']
                print('round %d  %-6s %-14s %9.1f samples/s  (load %s)'
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
        row = '| %s | %d | %s |' % (case, args.batch_size,
                                    ' | '.join('%.1f' % m for m in medians))
        for m in medians[1:]:
            row += ' %.2fx |' % (medians[0] / m)
        print(row)


if __name__ == '__main__':
    main()
