"""Write what MXNet 1.9.1's mx.viz prints for the networks that tests/test_viz.py draws.

Run with a Python that has MXNet 1.9.1 and the graphviz package (never mxref's own Python;
MXNet is not a dependency of mxref):

    /tmp/mxenv/bin/python tests/data/mxnet-viz/make_reference.py

For each case it writes ``CASE.dot`` (``plot_network(...).source``) and, where the case
prints one, ``CASE.summary.txt`` (the output of ``print_summary``), beside this script.
"""
import contextlib
import io
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, '..', '..', '..', '..', 'shared', 'fixtures', 'mxnet-1.9.1')


def main():
    # Imported here, not at the top: pytest's --doctest-modules imports this file under
    # mxref's Python, which has no MXNet.
    import numpy as np
    import mxnet as mx
    sys.path.insert(0, os.path.join(HERE, '..', '..'))
    from viz_networks import NETWORKS, CASES            # the builders the tests use

    for case in CASES:
        with mx.name.NameManager():          # automatic names start from 0 for each case
            symbol = NETWORKS[case['network']](mx, FIXTURES)
        kwargs = dict(case.get('plot', {}))
        if 'dtype' in kwargs:
            kwargs['dtype'] = {k: np.dtype(v).type for k, v in kwargs['dtype'].items()}
        with open(os.path.join(HERE, case['name'] + '.dot'), 'w') as f:
            f.write(mx.viz.plot_network(symbol, **kwargs).source)
        if 'summary' in case:
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                mx.viz.print_summary(symbol, **case['summary'])
            with open(os.path.join(HERE, case['name'] + '.summary.txt'), 'w') as f:
                f.write(out.getvalue())
        print('wrote', case['name'])


if __name__ == '__main__':
    main()
