"""Shared helpers for the kernel benchmarks: every benchmark records what it computed (FLOPs
or bytes moved), and the end of the run prints one table with GFLOP/s or GB/s, the speed-up
over the NumPy baseline of the same case, and GEMM/convolution throughput as a fraction of
NumPy's BLAS float32 matmul at 1024³ measured in the same run (the practical limit here).

Run from the repository root (see README.md)::

    python -m pytest benchmarks --benchmark-enable
"""
import os
import platform
import time

import numpy as np
import pytest

_RESULTS = []          # (group, case, impl, seconds, flops, nbytes)
PEAK_CASE = ('gemm', '1024x1024x1024 NN')


def record(benchmark, group, case, impl, flops=None, nbytes=None):
    """Remember the fastest round of ``benchmark`` (None when benchmarks are disabled)."""
    stats = getattr(benchmark, 'stats', None)
    if stats is None:
        return
    _RESULTS.append((group, case, impl, stats.stats.min, flops, nbytes))


@pytest.fixture(autouse=True)
def quiet_cores(request):
    """Start every timed case on idle cores.

    After a multi-threaded call NumPy's OpenBLAS keeps its worker threads spinning for about
    0.1 s, waiting for more work.  A case timed right after a NumPy baseline shares the cores
    with them: measured on 2 cores, our 100×784×128 GEMM took 0.19 ms instead of 0.14 ms.  A
    quarter of a second's pause before each case lets those threads go to sleep (a few seconds
    per run; nothing is paused when the benchmarks are disabled)."""
    if not request.config.getoption('benchmark_disable', True):
        time.sleep(0.25)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def _rate(seconds, flops, nbytes):
    if flops:
        return '%7.1f GFLOP/s' % (flops / seconds / 1e9)
    if nbytes:
        return '%7.1f GB/s   ' % (nbytes / seconds / 1e9)
    return ''


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not _RESULTS:
        return
    times = {(g, c, i): s for g, c, i, s, _, _ in _RESULTS}
    peak = None
    for g, c, i, s, flops, _ in _RESULTS:
        if (g, c) == PEAK_CASE and i == 'numpy':
            peak = flops / s
    write = terminalreporter.write_line
    write('')
    write('mxref kernel benchmarks: %s, %d cores, NumPy %s' % (platform.processor() or
                                                            platform.machine(),
                                                            os.cpu_count(), np.__version__))
    write('%-8s %-44s %-8s %10s %16s %9s %9s' % ('group', 'case', 'impl', 'best ms', 'rate',
                                                 'vs numpy', 'vs BLAS'))
    for g, c, i, s, flops, nbytes in _RESULTS:
        base = times.get((g, c, 'numpy'))
        speedup = '%8.2fx' % (base / s) if base and i != 'numpy' else ''
        of_peak = '%8.2f' % (flops / s / peak) if flops and peak else ''
        write('%-8s %-44s %-8s %10.3f %16s %9s %9s' % (g, c, i, s * 1e3, _rate(s, flops, nbytes),
                                                       speedup, of_peak))
