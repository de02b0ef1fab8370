"""
Symbol API: describing a computation before running it
=======================================================

A *symbol* is a description of a computation: a graph whose leaves are named placeholders
(variables) and whose inner nodes are operators.  Nothing is computed while the graph is
built.  Later we *bind* the graph to arrays and run it, forward and backward, as often as we
like.  Describing first and running later lets the framework plan the whole computation:
memory for every intermediate result is allocated once, and gradients are derived from the
graph automatically.

This tutorial walks through the Symbol API step by step, as the classic MXNet tutorial does:
composing symbols, inspecting them, inferring shapes and types, binding and evaluating, and
saving them as JSON.
"""

# %%
# Composing symbols
# -----------------
# Variables are the inputs of a graph.  Arithmetic on symbols creates operator nodes; each
# gets an automatic name made of the operator and a counter.
import os
import tempfile

import numpy as np

import mxref as mx

A = mx.sym.Variable('A')
B = mx.sym.Variable('B')
C = mx.sym.Variable('C')
D = mx.sym.Variable('D')
E = (A * B) + (C * D)
print(E)

# %%
# ``E`` is the output of the last node.  It remembers everything it depends on: its
# *arguments* (the variables that must be given values) and its *outputs*.
print('arguments:', E.list_arguments())
print('outputs:  ', E.list_outputs())

# %%
# ``mx.viz.plot_network`` draws the graph: variables are ovals, operators boxes, and the data
# flows upwards.  In a notebook (and on this page) the returned graph displays itself;
# ``.render()`` writes it to a file.
mx.viz.plot_network(E, title='E')

# %%
# The internals of a symbol are the outputs of every node in the graph, in the order they
# are computed.  Any of them can be picked out and used as a symbol of its own.
internals = E.get_internals()
print(internals.list_outputs())
print(internals['_mul0_output'])

# %%
# Operators take symbols and parameters
# -------------------------------------
# Every operator is available as a function of ``mx.sym``.  Inputs that are not given, such
# as the weight and bias of a fully connected layer, become new variables named after the
# layer.  This is how a small multilayer perceptron is described:
data = mx.sym.Variable('data')
net = mx.sym.FullyConnected(data=data, name='fc1', num_hidden=128)
net = mx.sym.Activation(data=net, name='relu1', act_type='relu')
net = mx.sym.FullyConnected(data=net, name='fc2', num_hidden=10)
net = mx.sym.SoftmaxOutput(data=net, name='out')
print(net.list_arguments())
print(net.list_outputs())

# %%
# Symbols can be grouped, so that one graph has several outputs:
group = mx.sym.Group([E, net])
print(group.list_outputs())

# %%
# Shape and type inference
# ------------------------
# Given the shapes of some arguments, the graph tells the shapes of everything else, without
# computing anything.  Here the weight shapes follow from the data shape and ``num_hidden``.
arg_shapes, out_shapes, aux_shapes = net.infer_shape(data=(100, 784))
for name, shape in zip(net.list_arguments(), arg_shapes):
    print('%-12s %s' % (name, shape))
print('output      ', out_shapes[0])

# %%
# Types are inferred the same way:
arg_types, out_types, _ = E.infer_type(A='int32')
print(arg_types, out_types)

# %%
# Binding and evaluating
# ----------------------
# Binding attaches arrays to the arguments and returns an *executor*.  We bind ``E`` to
# A=1, B=2, C=3, D=4 as 32-bit integers and run it forward: (1·2) + (3·4) = 14.
ctx = mx.cpu()
args = {name: mx.nd.array([value], ctx=ctx, dtype='int32')
        for name, value in zip('ABCD', (1, 2, 3, 4))}
executor = E.bind(ctx, args)
outputs = executor.forward()
print('E =', outputs[0].asnumpy(), outputs[0].dtype)
assert outputs[0].asscalar() == 14

# %%
# The executor keeps its arrays: change an argument in place and run again.
executor.arg_dict['D'][:] = 10
print('E =', executor.forward()[0].asscalar())

# %%
# The graph can also compute gradients.  Binding with gradient arrays and calling
# ``backward`` with the gradient of some loss with respect to E gives the gradient with
# respect to every argument: dE/dA = B, dE/dB = A, dE/dC = D, dE/dD = C.
values = {n: mx.nd.array([v]) for n, v in zip('ABCD', (1., 2., 3., 4.))}
grads = {n: mx.nd.zeros((1,)) for n in 'ABCD'}
trainer = E.bind(ctx, values, args_grad=grads)
trainer.forward(is_train=True)
trainer.backward(mx.nd.ones((1,)))
print({n: g.asscalar() for n, g in grads.items()})

# %%
# ``eval`` binds and runs in one call, for quick checks:
print(E.eval(ctx, A=mx.nd.ones((2, 2)), B=mx.nd.ones((2, 2)), C=mx.nd.ones((2, 2)),
             D=mx.nd.ones((2, 2)))[0])

# %%
# Saving and loading
# ------------------
# A symbol is saved as JSON: the nodes in the order they run, their attributes, and which
# outputs are the heads.  The format is MXNet 1.x's, so files move freely between mxref and
# MXNet.
print(E.tojson())

folder = tempfile.mkdtemp()
path = os.path.join(folder, 'E-symbol.json')
E.save(path)
E2 = mx.sym.load(path)
print('round trip equal:', E.tojson() == E2.tojson())
assert E.tojson() == E2.tojson()

# %%
# The loaded symbol is a complete graph again and runs like the original
# (D still holds 10 from above, so E2 = 1·2 + 3·10).
print('E2 =', E2.bind(ctx, args).forward()[0].asscalar())
