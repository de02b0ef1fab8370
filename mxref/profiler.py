"""``mx.profiler``: where the time goes, operator by operator.

Configure, run your code, stop, then look at the result two ways::

    mx.profiler.set_config(profile_all=True, aggregate_stats=True, filename='profile.json')
    mx.profiler.set_state('run')
    ...                                       # train a few batches
    mx.profiler.set_state('stop')
    print(mx.profiler.dumps())                # a table: per operator, count and total/min/max/avg ms
    mx.profiler.dump()                        # profile.json: open it in chrome://tracing or Perfetto

What is timed, and where:

* every operator an :class:`~mxref.executor.Executor` runs (``profile_symbolic``): its forward
  under the operator's name (``FullyConnected``) and its backward as ``_backward_<name>``, the
  names MXNet uses.  The hook is in ``Executor.forward`` and ``Executor.backward``;
* every operator called on NDArrays (``profile_imperative``, ``mx.nd.exp(x)``), in
  :func:`mxref.ndarray.invoke`;
* the spans and values you mark yourself with :class:`Domain`, :class:`Task`, :class:`Frame`,
  :class:`Event`, :class:`Counter` and :class:`Marker`.

When the profiler is not running each of those places reads one module flag
(``record_symbolic`` / ``record_imperative``) and goes on, so leaving the hooks in costs nothing
measurable.  On a GPU context a timed operator first waits for the device to finish earlier
work and then waits for its own kernels (``backend.synchronize()``), so its span is the time the
device spent on it, not the microseconds a kernel launch takes; this serialises the GPU, so
profiled runs are slower than unprofiled ones.

The trace file follows MXNet's layout of Chrome's trace-event format: ``{"traceEvents": [...],
"displayTimeUnit": "ms"}``, a ``process_name`` metadata event per process (``cpu/0``,
``gpu/0``, and one per domain), operators as ``B``/``E`` pairs in category ``operator`` with
timestamps in microseconds, counters as ``C`` events.  It is written to a temporary file and
renamed, so a viewer never reads half a file.

Differences from MXNet: there is no C API to profile (``profile_api`` is accepted and records
nothing), memory is not tracked (``profile_memory`` likewise), ``continuous_dump`` defaults to
False, markers are Chrome ``i`` (instant) events, and :func:`start` / :func:`stop` are mxref
shorthands for ``set_state('run')`` / ``set_state('stop')``.

>>> import mxref as mx
>>> mx.profiler.set_config(profile_imperative=True, aggregate_stats=True)
>>> mx.profiler.set_state('run')
>>> y = mx.nd.exp(mx.nd.ones((2, 3)))
>>> mx.profiler.set_state('stop')
>>> print(mx.profiler.dumps(reset=True))      # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
<BLANKLINE>
Profile Statistics:
    Note the difference in units for different entries.
operator
=================
Name          Total Count        Time (ms)    Min Time (ms)    Max Time (ms)    Avg Time (ms)
----          -----------        ---------    -------------    -------------    -------------
exp                     1 ...
"""
import json
import os
import threading
import itertools
import time

from .base import MXNetError, MXNetTypeError, MXNetValueError

__all__ = ['set_config', 'set_state', 'start', 'stop', 'pause', 'resume', 'dump', 'dumps',
           'Domain', 'Task', 'Frame', 'Event', 'Counter', 'Marker']

# ----------------------------------------------------------------------------------------------
# the switches the hooks read
# ----------------------------------------------------------------------------------------------
# Read before every operator by Executor.forward/backward and ndarray.invoke; kept in step with
# the configuration and state by _update_switches().  False, False when the profiler is off.
record_symbolic = False
record_imperative = False

# set_config's parameters: name -> (default, converter name for messages)
_DEFAULTS = {
    'profile_all': False,
    'profile_symbolic': True,
    'profile_imperative': True,
    'profile_memory': True,
    'profile_api': True,
    'filename': 'profile.json',
    'continuous_dump': False,
    'dump_period': 1.0,
    'aggregate_stats': False,
    'profile_process': 'worker',
}


class _Profiler:
    """Everything the profiler knows: configuration, state, and what it recorded."""

    def __init__(self):
        self.config = dict(_DEFAULTS)
        self.configured = False          # set_config was called
        self.running = False             # set_state('run')
        self.paused = False              # pause()
        self.has_run = False             # ran since configured: dump has something to write
        self.lock = threading.Lock()
        self.clear()

    def clear(self):
        self.spans = []                  # (name, category, process, start_us, end_us, tid, args)
        self.async_spans = []            # Task spans: same fields, written as b/e events
        self.instants = []               # (name, category, process, ts_us, tid, phase, extra)
        self.stats = {}                  # category -> name -> [count, total, min, max] (ms)
        self.last_dump = time.perf_counter()

    @property
    def recording(self):
        return self.running and not self.paused


_P = _Profiler()
_IDS = itertools.count(1)
_EPOCH_US = time.time() * 1e6 - time.perf_counter() * 1e6     # perf_counter -> wall-clock us


def _now_us():
    """Microseconds since the Unix epoch, from the monotonic high-resolution clock."""
    return _EPOCH_US + time.perf_counter() * 1e6


def _update_switches():
    global record_symbolic, record_imperative
    on, cfg = _P.recording, _P.config
    record_symbolic = on and (cfg['profile_all'] or cfg['profile_symbolic'])
    record_imperative = on and (cfg['profile_all'] or cfg['profile_imperative'])


# ----------------------------------------------------------------------------------------------
# recording
# ----------------------------------------------------------------------------------------------
def _record_span(name, category, process, start_us, end_us, args=None, is_async=False):
    tid = threading.get_ident()
    with _P.lock:
        (_P.async_spans if is_async else _P.spans).append(
            (name, category, process, start_us, end_us, tid, args))
        if _P.config['aggregate_stats']:
            ms = (end_us - start_us) / 1000.0
            entry = _P.stats.setdefault(category, {}).get(name)
            if entry is None:
                _P.stats[category][name] = [1, ms, ms, ms]
            else:
                entry[0] += 1
                entry[1] += ms
                entry[2] = min(entry[2], ms)
                entry[3] = max(entry[3], ms)
    if _P.config['continuous_dump'] and \
            time.perf_counter() - _P.last_dump >= float(_P.config['dump_period']):
        _write_trace()


def time_operator(name, ctx, backend, function, *args, node=None):
    """Run ``function(*args)`` (an operator's forward or backward) and record its span.

    Called by the hooks only while the profiler records.  ``backend.synchronize()`` before and
    after makes the span cover the device's work on a GPU (a no-op on the CPU).
    """
    backend.synchronize()
    start = _now_us()
    result = function(*args)
    backend.synchronize()
    end = _now_us()
    _record_span(name, 'operator', '%s/%d' % (ctx.device_type, ctx.device_id), start, end,
                 None if node is None else {'node': node})
    return result


# ----------------------------------------------------------------------------------------------
# configuration and state
# ----------------------------------------------------------------------------------------------
def _as_bool(function, key, value):
    if isinstance(value, bool) or (isinstance(value, int) and value in (0, 1)):
        return bool(value)
    if isinstance(value, str) and value.lower() in ('true', 'false', '1', '0'):
        return value.lower() in ('true', '1')
    raise MXNetValueError('%s: %s must be a boolean (True or False), got %r'
                          % (function, key, value))


def _check_process(function, profile_process):
    if profile_process != 'worker':
        raise MXNetValueError("%s: profile_process must be 'worker' (mxref has no distributed "
                              "kvstore servers to profile), got %r" % (function, profile_process))


def set_config(**kwargs):
    """Configure the profiler (keyword arguments only; those not given keep their defaults).

    Parameters
    ----------
    profile_all : bool, default False
        Record everything (overrides the ``profile_*`` switches below).
    profile_symbolic : bool, default True
        Record the operators executors run (Module, ``Executor.forward``/``backward``).
    profile_imperative : bool, default True
        Record the operators called on NDArrays (``mx.nd.exp(x)``).
    profile_memory : bool, default True
        Accepted for MXNet compatibility; mxref does not track memory.
    profile_api : bool, default True
        Accepted for MXNet compatibility; mxref has no C API to record.
    filename : str, default 'profile.json'
        Where :func:`dump` writes the trace.
    continuous_dump : bool, default False
        Also write the trace every ``dump_period`` seconds while recording.
    dump_period : float, default 1.0
        Seconds between continuous dumps.
    aggregate_stats : bool, default False
        Keep the per-operator statistics that :func:`dumps` prints.
    profile_process : str, default 'worker'
        Only ``'worker'``: there are no kvstore servers.
    """
    new = dict(_DEFAULTS)
    for key, value in kwargs.items():
        if key not in _DEFAULTS:
            raise MXNetValueError('set_config: unknown argument %r; expected some of %s'
                                  % (key, ', '.join(_DEFAULTS)))
        default = _DEFAULTS[key]
        if isinstance(default, bool):
            value = _as_bool('set_config', key, value)
        elif key == 'filename':
            if not isinstance(value, (str, os.PathLike)) or not str(value):
                raise MXNetTypeError('set_config: filename must be a non-empty path string, '
                                     'got %r' % (value,))
            value = os.fspath(value)
        elif key == 'dump_period':
            try:
                value = float(value)
            except (TypeError, ValueError):
                value = -1.0
            if not value > 0:
                raise MXNetValueError('set_config: dump_period must be a positive number of '
                                      'seconds, got %r' % (kwargs[key],))
        elif key == 'profile_process':
            _check_process('set_config', value)
        new[key] = value
    _P.config = new
    _P.configured = True
    _update_switches()


def set_state(state='stop', profile_process='worker'):
    """Start (``'run'``) or stop (``'stop'``) recording.  Stopping keeps what was recorded for
    :func:`dump` and :func:`dumps`."""
    if state not in ('run', 'stop'):
        raise MXNetValueError("set_state: state must be 'run' or 'stop', got %r" % (state,))
    _check_process('set_state', profile_process)
    _P.running = state == 'run'
    if _P.running:
        _P.has_run = True
        _P.paused = False
    _update_switches()


def start(profile_process='worker'):
    """Start recording: ``set_state('run')`` (an mxref shorthand; MXNet 1.9 has no ``start``)."""
    set_state('run', profile_process)


def stop(profile_process='worker'):
    """Stop recording: ``set_state('stop')`` (an mxref shorthand; MXNet 1.9 has no ``stop``)."""
    set_state('stop', profile_process)


def pause(profile_process='worker'):
    """Stop recording for a while, without changing the state; :func:`resume` goes on."""
    _check_process('pause', profile_process)
    _P.paused = True
    _update_switches()


def resume(profile_process='worker'):
    """Go on recording after :func:`pause`."""
    _check_process('resume', profile_process)
    _P.paused = False
    _update_switches()


# ----------------------------------------------------------------------------------------------
# output: the trace file
# ----------------------------------------------------------------------------------------------
def dump(finished=True, profile_process='worker'):
    """Write the trace recorded so far to the configured ``filename`` (Chrome trace-event JSON).

    With ``finished=True`` (the default) this is the last dump: the profiler stops and forgets
    its trace, and a further ``dump`` needs it to run again.  The file is written to a temporary
    name beside it and renamed, so it is never seen half-written.
    """
    if not isinstance(finished, bool):
        raise MXNetTypeError('dump: finished must be True or False, got %r' % (finished,))
    _check_process('dump', profile_process)
    if not _P.has_run:                   # set_config is optional, as in MXNet: profile.json
        raise MXNetError("dump: the profiler hasn't been run; configure it with "
                         "mx.profiler.set_config(...) and start it with "
                         "mx.profiler.set_state('run') first")
    _write_trace()
    if finished:
        _P.running = _P.paused = _P.has_run = False
        _update_switches()
        with _P.lock:
            stats = _P.stats
            _P.clear()
            _P.stats = stats             # dumps() still reports after the final dump


def _write_trace():
    from .ndarray.serialization import atomic_write     # here: ndarray imports this module
    _P.last_dump = time.perf_counter()
    atomic_write(os.path.abspath(_P.config['filename']), json.dumps(_trace(), indent=1))


def _trace():
    """The trace-event dictionary: metadata, then each thread's spans properly nested."""
    with _P.lock:
        spans, async_spans, instants = list(_P.spans), list(_P.async_spans), list(_P.instants)
    pids = {}                                 # process name -> pid, in order of appearance

    def pid(process):
        return pids.setdefault(process, len(pids))

    events = []
    # B/E pairs must nest within a thread: order each thread's spans by start (outer span
    # first when two start together) and close, with a stack, every span that ended before the
    # next one starts.
    by_thread = {}
    for span in spans:
        by_thread.setdefault((pid(span[2]), span[5]), []).append(span)
    for (p, tid), group in by_thread.items():
        group.sort(key=lambda s: (s[3], -s[4]))
        open_spans = []
        for name, cat, _, begin, end, _, args in group:
            while open_spans and open_spans[-1][3] <= begin:
                events.append(_end_event(open_spans.pop(), p, tid))
            event = {'name': name, 'cat': cat, 'ph': 'B', 'ts': round(begin, 3),
                     'pid': p, 'tid': tid}
            if args:
                event['args'] = args
            events.append(event)
            # a child never outlives its parent, even by rounding
            end = min(end, open_spans[-1][3]) if open_spans else end
            open_spans.append((name, cat, begin, end))
        while open_spans:
            events.append(_end_event(open_spans.pop(), p, tid))
    for name, cat, process, begin, end, tid, task_id in async_spans:
        for phase, ts in (('b', begin), ('e', end)):
            events.append({'name': name, 'cat': cat, 'ph': phase, 'ts': round(ts, 3),
                           'id': task_id, 'pid': pid(process), 'tid': tid})
    for name, cat, process, ts, tid, phase, extra in instants:
        event = {'name': name, 'cat': cat, 'ph': phase, 'ts': round(ts, 3),
                 'pid': pid(process), 'tid': tid}
        event.update(extra)
        events.append(event)
    metadata = [{'ph': 'M', 'name': 'process_name', 'pid': p, 'args': {'name': process}}
                for process, p in pids.items()]
    return {'traceEvents': metadata + events, 'displayTimeUnit': 'ms'}


def _end_event(span, p, tid):
    name, cat, _, end = span
    return {'name': name, 'cat': cat, 'ph': 'E', 'ts': round(end, 3), 'pid': p, 'tid': tid}


# ----------------------------------------------------------------------------------------------
# output: the statistics table
# ----------------------------------------------------------------------------------------------
_SORT_KEYS = {'total': 1, 'avg': None, 'min': 2, 'max': 3, 'count': 0}


def dumps(reset=False, format='table', sort_by='total', ascending=False):
    """The aggregate statistics as text: per category (``operator``, ``event``, each domain),
    per name, the count and the total, min, max and average time in milliseconds.

    Needs ``set_config(aggregate_stats=True)``; without it the statistics are not kept and the
    result is empty, as in MXNet.

    Parameters
    ----------
    reset : bool, default False
        Forget the statistics after printing them.
    format : {'table', 'json'}
        MXNet's fixed-width table, or a JSON document with the same numbers.
    sort_by : {'total', 'avg', 'min', 'max', 'count'}
        The column that orders the rows of each category.
    ascending : bool, default False
        Smallest first.
    """
    for key, value, allowed in (('format', format, ('table', 'json')),
                                ('sort_by', sort_by, tuple(_SORT_KEYS)),
                                ('ascending', ascending, (False, True)),
                                ('reset', reset, (False, True))):
        if not any(value is a or (type(value) is type(a) and value == a) for a in allowed):
            raise MXNetValueError('dumps: %s must be one of %s, got %r'
                                  % (key, ', '.join(repr(a) for a in allowed), value))
    if not _P.config['aggregate_stats']:
        return ''
    with _P.lock:
        stats = {cat: {name: list(entry) for name, entry in names.items()}
                 for cat, names in _P.stats.items()}
        if reset:
            _P.stats = {}

    def order(item):
        count, total, low, high = item[1]
        return total / count if sort_by == 'avg' else item[1][_SORT_KEYS[sort_by]]

    if format == 'json':
        times = {cat: {name: {'Count': c, 'Total': round(t, 4), 'Min': round(lo, 4),
                              'Max': round(hi, 4), 'Avg': round(t / c, 4)}
                       for name, (c, t, lo, hi) in sorted(names.items(), key=order,
                                                          reverse=not ascending)}
                 for cat, names in sorted(stats.items())}
        return json.dumps({'Time': times, 'Memory': {}, 'Unit': {'Time': 'ms', 'Memory': 'kB'}},
                          indent=4)
    lines = ['', 'Profile Statistics:', '\tNote the difference in units for different entries.']
    row = '%-30s%11s%17s%17s%17s%17s'
    for cat, names in sorted(stats.items()):
        lines += [cat, '=================',
                  row % ('Name', 'Total Count', 'Time (ms)', 'Min Time (ms)', 'Max Time (ms)',
                         'Avg Time (ms)'),
                  row % ('----', '-----------', '---------', '-------------', '-------------',
                         '-------------')]
        for name, (count, total, low, high) in sorted(names.items(), key=order,
                                                      reverse=not ascending):
            lines.append(row % (name, count, '%.4f' % total, '%.4f' % low, '%.4f' % high,
                                '%.4f' % (total / count)))
        lines.append('')
    return '\n'.join(lines) + '\n'


# ----------------------------------------------------------------------------------------------
# objects you place in your own code
# ----------------------------------------------------------------------------------------------
def _check_name(what, name):
    if not isinstance(name, str) or not name:
        raise MXNetTypeError('%s: name must be a non-empty string, got %r' % (what, name))
    return name


def _check_domain(what, domain):
    if not isinstance(domain, Domain):
        raise MXNetTypeError('%s: domain must be an mx.profiler.Domain, got %s'
                             % (what, type(domain).__name__))
    return domain


class Domain:
    """A named group of tasks, frames, counters and markers: their category in the trace and
    the statistics, and their own process row in the trace viewer."""

    def __init__(self, name):
        self.name = _check_name('Domain', name)

    def __str__(self):
        return self.name

    def new_task(self, name):
        """A :class:`Task` in this domain."""
        return Task(self, name)

    def new_frame(self, name):
        """A :class:`Frame` in this domain."""
        return Frame(self, name)

    def new_counter(self, name, value=None):
        """A :class:`Counter` in this domain."""
        return Counter(self, name, value)

    def new_marker(self, name):
        """A :class:`Marker` in this domain."""
        return Marker(self, name)


class _Duration:
    """A span between ``start()`` and ``stop()``, recorded when the profiler records at stop."""
    _async = False

    def _setup(self, name, category, process):
        self.name = _check_name(type(self).__name__, name)
        self._category, self._process = category, process
        self._start = None
        self._id = next(_IDS)            # pairs a Task's b and e events

    def start(self):
        """Begin the span."""
        self._start = _now_us()

    def stop(self):
        """End the span and record it (only while the profiler records)."""
        if self._start is None:
            raise MXNetError('%s.stop: %r was not started (call start() first)'
                             % (type(self).__name__, self.name))
        begin, self._start = self._start, None
        if _P.recording:
            _record_span(self.name, self._category, self._process, begin, _now_us(),
                         args=self._id if self._async else None, is_async=self._async)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def __str__(self):
        return self.name


class Task(_Duration):
    """A unit of work in a domain; every pass through it adds to one statistic.  Written as an
    asynchronous span (``b``/``e``), so tasks may overlap the operators they contain."""
    _async = True

    def __init__(self, domain, name):
        domain = _check_domain('Task', domain)
        self._setup(name, domain.name, domain.name)


class Frame(_Duration):
    """A repeated period, such as one training batch, shown on the domain's frame row."""

    def __init__(self, domain, name):
        domain = _check_domain('Frame', domain)
        self._setup(name, domain.name + ',frame', domain.name + ',frame')


class Event(_Duration):
    """A span of your own code, outside any domain (category ``event``)."""

    def __init__(self, name):
        self._setup(name, 'event', 'event')


class Counter:
    """A value that changes over time, drawn as a graph in the trace viewer (``C`` events)."""

    def __init__(self, domain, name, value=None):
        self.domain = _check_domain('Counter', domain)
        self.name = _check_name('Counter', name)
        self.value = 0
        if value is not None:
            self.set_value(value)

    def _record(self):
        if _P.recording:
            with _P.lock:
                _P.instants.append((self.name, self.domain.name, self.domain.name, _now_us(),
                                    threading.get_ident(), 'C', {'args': {self.name: self.value}}))

    def set_value(self, value):
        """Set the counter to ``value`` (an integer)."""
        self.value = _as_int('Counter.set_value', 'value', value)
        self._record()

    def increment(self, delta=1):
        """Add ``delta``."""
        self.value += _as_int('Counter.increment', 'delta', delta)
        self._record()

    def decrement(self, delta=1):
        """Subtract ``delta``."""
        self.value -= _as_int('Counter.decrement', 'delta', delta)
        self._record()

    def __iadd__(self, delta):
        self.increment(delta)
        return self

    def __isub__(self, delta):
        self.decrement(delta)
        return self

    def __str__(self):
        return self.name


def _as_int(function, key, value):
    try:
        return int(value)
    except (TypeError, ValueError):
        raise MXNetTypeError('%s: %s must be an integer, got %r' % (function, key, value)) \
            from None


_MARKER_SCOPES = {'global': 'g', 'process': 'p', 'thread': 't', 'task': 't', 'marker': 't'}


class Marker:
    """An instant in time, drawn as a line across the given scope."""

    def __init__(self, domain, name):
        self.domain = _check_domain('Marker', domain)
        self.name = _check_name('Marker', name)

    def mark(self, scope='process'):
        """Record the instant (while the profiler records).  ``scope``: ``'global'``,
        ``'process'``, ``'thread'``, ``'task'`` or ``'marker'`` (the last two drawn as
        ``'thread'``)."""
        if scope not in _MARKER_SCOPES:
            raise MXNetValueError('Marker.mark: scope must be one of %s, got %r'
                                  % (', '.join(repr(s) for s in _MARKER_SCOPES), scope))
        if _P.recording:
            category = self.domain.name + ',instant_marker'
            with _P.lock:
                _P.instants.append((self.name, category, category, _now_us(),
                                    threading.get_ident(), 'i', {'s': _MARKER_SCOPES[scope]}))


def _reset():
    """Back to the state of a fresh import: not configured, stopped, nothing recorded (tests)."""
    _P.__init__()
    _update_switches()
