"""mx.profiler: the trace of a Module's training (valid Chrome JSON, operator names, nesting),
the statistics table, the objects users place themselves, the state errors, and that nothing is
recorded while the profiler is off."""
import json
import os

import numpy as np
import pytest

import mxref as mx
from mxref import profiler
from mxref.base import MXNetError


@pytest.fixture(autouse=True)
def fresh_profiler():
    profiler._reset()
    yield
    profiler._reset()


def mlp():
    net = mx.sym.Variable('data')
    net = mx.sym.FullyConnected(net, name='fc1', num_hidden=8)
    net = mx.sym.Activation(net, name='relu1', act_type='relu')
    net = mx.sym.FullyConnected(net, name='fc2', num_hidden=3)
    return mx.sym.SoftmaxOutput(net, name='softmax')


def train(batches=3, ctx=mx.cpu()):
    """``batches`` forward/backward/update steps of a small MLP on a Module."""
    rng = np.random.RandomState(0)
    it = mx.io.NDArrayIter(rng.rand(4 * batches, 5).astype(np.float32),
                           rng.randint(0, 3, 4 * batches), batch_size=4)
    mod = mx.mod.Module(mlp(), context=ctx)
    mod.bind(it.provide_data, it.provide_label)
    mod.init_params()
    mod.init_optimizer()
    return mod, it


def run_batches(mod, it):
    it.reset()
    for batch in it:
        mod.forward(batch, is_train=True)
        mod.backward()
        mod.update()


def load_trace(path):
    with open(path) as f:
        trace = json.load(f)
    assert set(trace) == {'traceEvents', 'displayTimeUnit'}
    return trace['traceEvents']


def operator_events(events):
    return [e for e in events if e.get('cat') == 'operator']


def check_nesting(events):
    """B/E events of each thread form a properly nested, time-ordered sequence; returns the
    (name, duration) of every span."""
    stacks, spans, last_ts = {}, [], {}
    for e in events:
        if e['ph'] not in 'BE':
            continue
        key = (e['pid'], e['tid'])
        assert e['ts'] >= last_ts.get(key, 0), 'timestamps go back in time at %s' % e
        last_ts[key] = e['ts']
        stack = stacks.setdefault(key, [])
        if e['ph'] == 'B':
            stack.append(e)
        else:
            assert stack, 'E without B: %s' % e
            begin = stack.pop()
            assert begin['name'] == e['name'] and begin['cat'] == e['cat']
            spans.append((e['name'], e['ts'] - begin['ts']))
    assert all(not s for s in stacks.values()), 'spans left open'
    return spans


def table_rows(text, category):
    """``{name: (count, total, min, max, avg)}`` of one category of dumps()'s table."""
    section = text.split('\n%s\n=================\n' % category)[1].split('\n\n')[0]
    rows = {}
    for line in section.splitlines()[2:]:
        name, count, total, low, high, avg = line.split()
        rows[name] = (int(count), float(total), float(low), float(high), float(avg))
    return rows


# ----------------------------------------------------------------------------------------------
# a profiled training run
# ----------------------------------------------------------------------------------------------
def test_module_training_trace_and_table(tmp_path):
    path = str(tmp_path / 'trace.json')
    mod, it = train(batches=3)
    profiler.set_config(profile_all=True, aggregate_stats=True, filename=path)
    profiler.set_state('run')
    run_batches(mod, it)
    profiler.set_state('stop')
    table = profiler.dumps()
    profiler.dump()

    events = load_trace(path)
    metadata = {e['pid']: e['args']['name'] for e in events if e['ph'] == 'M'}
    ops = operator_events(events)
    assert ops and all(metadata[e['pid']] == 'cpu/0' for e in ops)
    spans = check_nesting(events)
    assert all(duration >= 0 for _, duration in spans)
    names = [name for name, _ in spans]
    expected = {'FullyConnected': 6, 'Activation': 3, 'SoftmaxOutput': 3,
                '_backward_FullyConnected': 6, '_backward_Activation': 3,
                '_backward_SoftmaxOutput': 3}
    assert {n: names.count(n) for n in set(names)} == expected
    # one batch: forward in graph order, then backward in reverse order
    begins = [e['name'] for e in ops if e['ph'] == 'B']
    assert begins[:8] == ['FullyConnected', 'Activation', 'FullyConnected', 'SoftmaxOutput',
                          '_backward_SoftmaxOutput', '_backward_FullyConnected',
                          '_backward_Activation', '_backward_FullyConnected']
    assert [e['args']['node'] for e in ops if e['ph'] == 'B'][:4] == \
        ['fc1', 'relu1', 'fc2', 'softmax']

    assert table.startswith('\nProfile Statistics:\n\tNote the difference in units for '
                            'different entries.\noperator\n=================\n')
    assert ('Name                          Total Count        Time (ms)    Min Time (ms)    '
            'Max Time (ms)    Avg Time (ms)\n') in table
    rows = table_rows(table, 'operator')
    assert {n: r[0] for n, r in rows.items()} == expected
    for count, total, low, high, avg in rows.values():
        assert 0 <= low <= avg <= high <= total + 1e-4
        assert avg == pytest.approx(total / count, abs=1e-4)
    totals = [r[1] for r in rows.values()]
    assert totals == sorted(totals, reverse=True)       # sort_by='total', descending
    assert not [f for f in os.listdir(str(tmp_path)) if f != 'trace.json']   # no temp files


def test_profiled_run_on_each_device(ctx, tmp_path):
    """On a GPU the process is gpu/0 and each span includes the synchronisation."""
    path = str(tmp_path / 'trace.json')
    profiler.set_config(profile_imperative=True, filename=path)
    profiler.set_state('run')
    x = mx.nd.ones((4, 4), ctx=ctx)
    mx.nd.exp(x).asnumpy()
    profiler.set_state('stop')
    profiler.dump()
    events = load_trace(path)
    metadata = {e['pid']: e['args']['name'] for e in events if e['ph'] == 'M'}
    exp = [e for e in operator_events(events) if e['name'] == 'exp']
    assert [e['ph'] for e in exp] == ['B', 'E']
    assert metadata[exp[0]['pid']] == '%s/%d' % (ctx.device_type, ctx.device_id)


def test_timing_waits_for_the_device():
    calls = []

    class Backend:
        @staticmethod
        def synchronize():
            calls.append('sync')

    profiler.set_config(aggregate_stats=True)
    profiler.set_state('run')
    result = profiler.time_operator('Op', mx.gpu(0), Backend, lambda: calls.append('run') or 7)
    assert result == 7 and calls == ['sync', 'run', 'sync']
    assert table_rows(profiler.dumps(), 'operator')['Op'][0] == 1


def test_dumps_options():
    profiler.set_config(aggregate_stats=True)
    profiler.set_state('run')
    x = mx.nd.ones((3, 3))
    for _ in range(3):
        mx.nd.exp(x)
    mx.nd.sqrt(x)
    profiler.set_state('stop')
    by_count = profiler.dumps(sort_by='count', ascending=True)
    assert list(table_rows(by_count, 'operator')) == ['sqrt', 'exp']
    stats = json.loads(profiler.dumps(format='json', reset=True))
    assert stats['Unit'] == {'Time': 'ms', 'Memory': 'kB'}
    assert stats['Time']['operator']['exp']['Count'] == 3
    assert set(stats['Time']['operator']['exp']) == {'Count', 'Total', 'Min', 'Max', 'Avg'}
    assert profiler.dumps() == ('\nProfile Statistics:\n\tNote the difference in units for '
                                'different entries.\n')        # reset emptied it


def test_dumps_is_empty_without_aggregate_stats():
    profiler.set_config()
    profiler.set_state('run')
    mx.nd.exp(mx.nd.ones((2,)))
    profiler.set_state('stop')
    assert profiler.dumps() == ''                 # as in MXNet


# ----------------------------------------------------------------------------------------------
# objects placed by the user
# ----------------------------------------------------------------------------------------------
def test_domain_objects(tmp_path):
    path = str(tmp_path / 'trace.json')
    profiler.set_config(aggregate_stats=True, filename=path)
    profiler.start()
    domain = profiler.Domain('train')
    task = domain.new_task('epoch')
    frame = domain.new_frame('batch')
    counter = domain.new_counter('samples', 5)
    event = profiler.Event('python')
    task.start()
    with frame:
        event.start()
        mx.nd.exp(mx.nd.ones((2,)))
        event.stop()
    counter.increment(3)
    counter -= 1
    counter.set_value(10)
    domain.new_marker('checkpoint').mark('global')
    task.stop()
    profiler.stop()
    profiler.dump()

    events = load_trace(path)
    processes = {e['args']['name'] for e in events if e['ph'] == 'M'}
    assert {'cpu/0', 'train', 'train,frame', 'event', 'train,instant_marker'} <= processes
    assert [e['args']['samples'] for e in events if e['ph'] == 'C'] == [5, 8, 7, 10]
    marks = [e for e in events if e['ph'] == 'i']
    assert [(m['name'], m['s'], m['cat']) for m in marks] == \
        [('checkpoint', 'g', 'train,instant_marker')]
    async_events = [e for e in events if e['ph'] in 'be']
    assert [(e['name'], e['ph']) for e in async_events] == [('epoch', 'b'), ('epoch', 'e')]
    assert async_events[0]['id'] == async_events[1]['id']
    assert async_events[0]['ts'] <= async_events[1]['ts']
    spans = dict(check_nesting(events))
    assert {'batch', 'python', 'exp'} <= set(spans)
    assert spans['batch'] >= spans['python'] >= spans['exp'] >= 0
    table = profiler.dumps()
    assert table_rows(table, 'train')['epoch'][0] == 1
    assert table_rows(table, 'train,frame')['batch'][0] == 1
    assert table_rows(table, 'event')['python'][0] == 1


def test_objects_record_nothing_while_stopped(tmp_path):
    path = str(tmp_path / 'trace.json')
    profiler.set_config(filename=path)
    domain = profiler.Domain('d')
    counter = profiler.Counter(domain, 'c')
    event = profiler.Event('e')
    event.start()
    event.stop()
    counter.increment(2)
    profiler.Marker(domain, 'm').mark()
    profiler.set_state('run')
    profiler.set_state('stop')
    profiler.dump()
    assert [e for e in load_trace(path) if e['ph'] != 'M'] == []
    assert counter.value == 2


# ----------------------------------------------------------------------------------------------
# off, paused, partly on
# ----------------------------------------------------------------------------------------------
def test_profiler_off_adds_no_events(tmp_path):
    path = str(tmp_path / 'trace.json')
    mod, it = train(batches=2)
    profiler.set_config(profile_all=True, aggregate_stats=True, filename=path)
    run_batches(mod, it)                          # configured but not running
    mx.nd.exp(mx.nd.ones((2,)))
    assert not profiler.record_symbolic and not profiler.record_imperative
    profiler.set_state('run')
    profiler.pause()                              # running but paused
    run_batches(mod, it)
    profiler.resume()
    profiler.set_state('stop')
    run_batches(mod, it)                          # stopped again
    profiler.dump()
    assert operator_events(load_trace(path)) == []
    assert 'operator' not in profiler.dumps()


def test_pause_and_resume(tmp_path):
    path = str(tmp_path / 'trace.json')
    profiler.set_config(filename=path)
    profiler.set_state('run')
    x = mx.nd.ones((2,))
    mx.nd.exp(x)
    profiler.pause()
    mx.nd.sqrt(x)
    profiler.resume()
    mx.nd.log(x)
    profiler.set_state('stop')
    profiler.dump()
    assert [e['name'] for e in operator_events(load_trace(path)) if e['ph'] == 'B'] == \
        ['exp', 'log']


def test_symbolic_and_imperative_switches(tmp_path):
    path = str(tmp_path / 'trace.json')
    mod, it = train(batches=1)
    profiler.set_config(profile_symbolic=False, profile_imperative=True, filename=path)
    profiler.set_state('run')
    run_batches(mod, it)
    mx.nd.exp(mx.nd.ones((2,)))
    profiler.set_state('stop')
    profiler.dump()
    assert {e['name'] for e in operator_events(load_trace(path))} == {'exp'}


def test_dump_finished_and_continuous(tmp_path):
    path = str(tmp_path / 'trace.json')
    profiler.set_config(filename=path)
    profiler.set_state('run')
    mx.nd.exp(mx.nd.ones((2,)))
    profiler.dump(finished=False)
    profiler.dump(finished=False)                 # may be repeated
    assert profiler.record_imperative
    profiler.dump()                               # the last: stops the profiler
    assert not profiler.record_imperative
    with pytest.raises(MXNetError, match="dump: the profiler hasn't been run"):
        profiler.dump()

    path2 = str(tmp_path / 'continuous.json')
    profiler.set_config(filename=path2, continuous_dump=True, dump_period=1e-9)
    profiler.set_state('run')
    mx.nd.exp(mx.nd.ones((2,)))
    assert [e['name'] for e in operator_events(load_trace(path2))] == ['exp', 'exp']
    profiler.set_state('stop')


def test_dump_is_atomic(tmp_path, monkeypatch):
    path = str(tmp_path / 'trace.json')
    profiler.set_config(filename=path)
    profiler.set_state('run')
    profiler.dump(finished=False)
    before = open(path).read()

    def failing_replace(src, dst):
        raise OSError('disk full')

    monkeypatch.setattr(os, 'replace', failing_replace)
    mx.nd.exp(mx.nd.ones((2,)))
    with pytest.raises(OSError):
        profiler.dump(finished=False)
    assert open(path).read() == before            # the old trace is intact
    assert os.listdir(str(tmp_path)) == ['trace.json']


# ----------------------------------------------------------------------------------------------
# errors
# ----------------------------------------------------------------------------------------------
def test_dump_before_configuring_or_running():
    with pytest.raises(MXNetError, match=r"dump: .*set_config.*set_state\('run'\)"):
        profiler.dump()
    profiler.set_config()
    with pytest.raises(MXNetError, match="hasn't been run"):
        profiler.dump()


@pytest.mark.parametrize('call, pattern', [
    (lambda: profiler.set_state('go'), r"set_state: state must be 'run' or 'stop', got 'go'"),
    (lambda: profiler.set_state('run', profile_process='server'),
     r"set_state: profile_process must be 'worker'.*got 'server'"),
    (lambda: profiler.set_config(bogus=1),
     r"set_config: unknown argument 'bogus'; expected some of profile_all, .*filename"),
    (lambda: profiler.set_config(profile_all='maybe'),
     r"set_config: profile_all must be a boolean \(True or False\), got 'maybe'"),
    (lambda: profiler.set_config(dump_period=0),
     r"set_config: dump_period must be a positive number of seconds, got 0"),
    (lambda: profiler.set_config(filename=3), r"set_config: filename must be .*got 3"),
    (lambda: profiler.dumps(format='xml'),
     r"dumps: format must be one of 'table', 'json', got 'xml'"),
    (lambda: profiler.dumps(sort_by='name'),
     r"dumps: sort_by must be one of 'total', 'avg', 'min', 'max', 'count', got 'name'"),
    (lambda: profiler.dumps(ascending=1), r"dumps: ascending must be one of False, True, got 1"),
    (lambda: profiler.dump(finished='yes'), r"dump: finished must be True or False, got 'yes'"),
    (lambda: profiler.Marker(profiler.Domain('d'), 'm').mark('bogus'),
     r"Marker.mark: scope must be one of 'global', .*got 'bogus'"),
    (lambda: profiler.Counter(profiler.Domain('d'), 'c').set_value('many'),
     r"Counter.set_value: value must be an integer, got 'many'"),
    (lambda: profiler.Task('d', 't'), r"Task: domain must be an mx.profiler.Domain, got str"),
    (lambda: profiler.Domain(''), r"Domain: name must be a non-empty string, got ''"),
    (lambda: profiler.Event('e').stop(), r"Event.stop: 'e' was not started"),
])
def test_bad_arguments(call, pattern):
    with pytest.raises(MXNetError, match=pattern):
        call()


def test_config_strings_as_in_mxnet():
    profiler.set_config(profile_all='True', aggregate_stats=1, profile_symbolic='false')
    profiler.set_state('run')
    assert profiler.record_symbolic and profiler.record_imperative     # profile_all wins
    profiler.set_state('stop')
    assert not profiler.record_symbolic


# ----------------------------------------------------------------------------------------------
# the tutorial
# ----------------------------------------------------------------------------------------------
def test_profiling_tutorial(data_dir):
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, MXREF_DATA_DIR=data_dir,
               PYTHONPATH=root + os.pathsep + os.environ.get('PYTHONPATH', ''))
    result = subprocess.run([sys.executable, os.path.join(root, 'tutorials', 'profiling_lenet.py')],
                            cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    rows = table_rows(result.stdout, 'operator')
    assert rows['Convolution'][0] == rows['_backward_Convolution'][0] == 40
    assert rows['Activation'][0] == 60 and rows['SoftmaxOutput'][0] == 20
    assert "'name': 'Convolution', 'cat': 'operator', 'ph': 'B'" in result.stdout


def test_dump_after_a_run_without_set_config(tmp_path, monkeypatch):
    # MXNet writes profile.json when the profiler ran, configured or not
    monkeypatch.chdir(tmp_path)
    old_umask = os.umask(0o022)
    try:
        profiler.set_state('run')
        mx.nd.exp(mx.nd.ones((2,))).asnumpy()
        profiler.set_state('stop')
        profiler.dump()
    finally:
        os.umask(old_umask)
    path = tmp_path / 'profile.json'
    assert 'traceEvents' in json.loads(path.read_text())
    assert path.stat().st_mode & 0o777 == 0o644          # an ordinary file, not mkstemp's 0600


def test_dump_into_a_missing_folder_is_a_clear_error(tmp_path):
    target = str(tmp_path / 'missing' / 'p.json')
    profiler.set_config(filename=target)
    profiler.set_state('run')
    mx.nd.exp(mx.nd.ones((2,))).asnumpy()
    with pytest.raises(MXNetError, match="cannot write '%s'" % target):
        profiler.dump()
