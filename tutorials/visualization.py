"""
Visualizing networks
====================

``mx.viz`` draws the computation graph of a Symbol and prints a table of its layers, exactly
as MXNet's ``mx.viz`` does: :func:`~mxref.visualization.plot_network` returns a
``graphviz.Digraph`` (drawn by Graphviz's ``dot``), and
:func:`~mxref.visualization.print_summary` prints each layer's output shape and parameter
count.
"""
import os
import tempfile

import mxref as mx

# %%
# A network to look at
# --------------------
# The multilayer perceptron of the MNIST tutorial: two hidden layers with ReLU, a softmax
# output layer, and a BatchNorm to show one more operator family.
data = mx.sym.Variable('data')
net = mx.sym.FullyConnected(data, num_hidden=128, name='fc1')
net = mx.sym.Activation(net, act_type='relu', name='relu1')
net = mx.sym.BatchNorm(net, name='bn1')
net = mx.sym.FullyConnected(net, num_hidden=64, name='fc2')
net = mx.sym.Activation(net, act_type='relu', name='relu2')
net = mx.sym.FullyConnected(net, num_hidden=10, name='fc3')
mlp = mx.sym.SoftmaxOutput(net, name='softmax')
print(mlp.list_arguments())

# %%
# Drawing the graph
# -----------------
# ``plot_network`` draws one box per operator, coloured by family (layers with weights in
# red, activations in yellow, normalisation in purple, everything else in pink) and one oval
# per input.  The data flows upwards.  Weights, biases and BatchNorm's statistics are hidden.
mx.viz.plot_network(mlp)

# %%
# Given the input shapes, each edge shows the shape of the tensor it carries, without the
# batch axis:
mx.viz.plot_network(mlp, shape={'data': (100, 784)})

# %%
# The layer table
# ---------------
# ``print_summary`` lists the layers in graph order with their output shapes, their number
# of parameters and the layers they read from, then the total.  The first FullyConnected
# layer has 784 × 128 weights and 128 biases; BatchNorm learns a scale and a shift per
# channel.
mx.viz.print_summary(mlp, shape={'data': (100, 784)})

# %%
# Showing the parameters, changing the style
# ------------------------------------------
# ``hide_weights=False`` draws the parameter inputs too, and ``node_attrs`` overrides
# Graphviz's node attributes (here: ovals that grow with their label).
mx.viz.plot_network(mlp, shape={'data': (100, 784)}, hide_weights=False,
                    node_attrs={'shape': 'oval', 'fixedsize': 'false'})

# %%
# Saving the picture
# ------------------
# The returned object is a ``graphviz.Digraph``: ``render`` writes the picture in
# ``save_format`` (PDF by default) and returns the file's path; ``source`` is the DOT text
# that Graphviz reads.
dot = mx.viz.plot_network(mlp, title='mlp', save_format='svg')
path = dot.render(directory=tempfile.mkdtemp())
print(os.path.basename(path), os.path.getsize(path) > 0)
print('\n'.join(dot.source.splitlines()[:4]))
