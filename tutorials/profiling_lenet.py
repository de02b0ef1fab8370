"""
Where the time goes: profiling LeNet's training
===============================================

Before optimising a kernel, measure which one matters.  ``mx.profiler`` times every operator
that an executor runs, forward and backward, and prints a table of counts and times per
operator, as MXNet's profiler does; it also writes a trace that chrome://tracing or
https://ui.perfetto.dev draws as a timeline.  This page trains the
:doc:`LeNet of the MNIST tutorial <mnist_lenet>` for a few batches with the profiler running;
the numbers below come from the run that built this page, on whatever machine built it.
"""

# %%
# The network and the data
# ------------------------
# The same LeNet as in the MNIST tutorial: two convolution modules (``Convolution``, ``tanh``,
# max ``Pooling``), then ``Flatten``, two ``FullyConnected`` layers and the softmax.
import json
import os
import tempfile

import numpy as np

import mxref as mx
from _mnist_data import get_mnist_providers

np.random.seed(0)
mx.random.seed(0)
ctx = mx.gpu() if mx.context.num_gpus() > 0 else mx.cpu()
batch_size, batches = 100, 20

data = mx.sym.Variable('data')
net = mx.sym.Convolution(data, kernel=(5, 5), num_filter=20, name='conv1')
net = mx.sym.Activation(net, act_type='tanh', name='tanh1')
net = mx.sym.Pooling(net, pool_type='max', kernel=(2, 2), stride=(2, 2), name='pool1')
net = mx.sym.Convolution(net, kernel=(5, 5), num_filter=50, name='conv2')
net = mx.sym.Activation(net, act_type='tanh', name='tanh2')
net = mx.sym.Pooling(net, pool_type='max', kernel=(2, 2), stride=(2, 2), name='pool2')
net = mx.sym.Flatten(net, name='flatten')
net = mx.sym.FullyConnected(net, num_hidden=500, name='fc1')
net = mx.sym.Activation(net, act_type='tanh', name='tanh3')
net = mx.sym.FullyConnected(net, num_hidden=10, name='fc2')
lenet = mx.sym.SoftmaxOutput(net, name='softmax')

train_provider, _ = get_mnist_providers(batch_size, flat=False, subset=20)
module = mx.mod.Module(lenet, context=ctx)
module.bind(train_provider.provide_data, train_provider.provide_label)
module.init_params(mx.init.Xavier())
module.init_optimizer(optimizer='sgd', optimizer_params={'learning_rate': 0.05,
                                                         'momentum': 0.9})
print('context: %s, %d batches of %d images' % (ctx, batches, batch_size))

# %%
# Profiling the training loop
# ---------------------------
# ``set_config`` chooses what to record and where the trace goes; ``aggregate_stats=True``
# keeps the per-operator statistics that ``dumps`` prints.  Recording runs between
# ``set_state('run')`` and ``set_state('stop')``.  A first, unprofiled batch warms up (the
# first call of a kernel pays for one-time work such as allocating its scratch memory).
trace_file = os.path.join(tempfile.mkdtemp(), 'lenet_profile.json')
mx.profiler.set_config(profile_symbolic=True, aggregate_stats=True, filename=trace_file)


def train(n):
    train_provider.reset()
    for _, batch in zip(range(n), train_provider):
        module.forward(batch, is_train=True)
        module.backward()
        module.update()


train(1)
mx.profiler.set_state('run')
train(batches)
mx.profiler.set_state('stop')

# %%
# Reading the table
# -----------------
# One section per category (here only ``operator``), one row per operator, sorted by total
# time.  *Total Count* is how many times it ran: LeNet has two ``Convolution`` nodes, so 20
# batches make 40 calls; ``_backward_Convolution`` is the same operator's backward pass.
# *Time* is the sum over those calls, then the fastest, slowest and average call, in
# milliseconds.  The top rows are where a faster kernel would pay off; a large gap between
# *Min* and *Max* means some calls waited for something else.
print(mx.profiler.dumps())

# %%
# The same numbers answer questions directly.  ``format='json'`` gives them as a dictionary:
# which share of the time goes into the backward pass, and which operators take half of it?
stats = json.loads(mx.profiler.dumps(format='json'))['Time']['operator']
total = sum(s['Total'] for s in stats.values())
backward = sum(s['Total'] for name, s in stats.items() if name.startswith('_backward_'))
print('operator time per batch: %.2f ms, of which backward %.0f%%'
      % (total / batches, 100 * backward / total))
running = 0.0
for name, s in sorted(stats.items(), key=lambda item: -item[1]['Total']):
    running += s['Total']
    print('%-28s %5.1f%%' % (name, 100 * s['Total'] / total))
    if running >= total / 2:
        break

# %%
# The timeline
# ------------
# ``dump`` writes the trace (and, by default, ends this profiling session).  Each operator call
# is a pair of ``B`` (begin) and ``E`` (end) events with timestamps in microseconds; open the
# file in chrome://tracing or Perfetto to see the forward pass, then the backward pass in
# reverse order, batch after batch.  The first events of the file:
mx.profiler.dump()
with open(trace_file) as f:
    events = json.load(f)['traceEvents']
for event in events[:7]:
    print(event)
