"""
Digit recognition on MNIST: a multilayer perceptron
===================================================

This is the first half of MXNet.jl's tutorial *Digit Recognition on MNIST*, written in
Python with mxref: a small multilayer perceptron (MLP) learns to read the handwritten digits
of the `MNIST <http://yann.lecun.com/exdb/mnist/>`_ data set, 60,000 training images and
10,000 test images of 28x28 grey pixels.  The second half, a convolutional network, is the
:doc:`LeNet tutorial <mnist_lenet>`.

Run it as a script::

    python tutorials/mnist_mlp.py                 # 20 epochs, as the original
    python tutorials/mnist_mlp.py --fast          # 1 epoch

Options: ``--epochs``, ``--batch-size``, ``--ctx cpu|gpu``.  The documentation build runs the
fast mode (``MXREF_DOCS_FAST=1``), so the numbers on this page come from a short run; the
log of a full run of 20 epochs is recorded in :download:`docs/results/mnist_mlp.md
<../results/mnist_mlp.md>` (test accuracy 0.98, as the 0.9775 MXNet.jl reports).
"""
# %%
# Preliminaries
# -------------
# ``_mnist_data.py``, next to this script, holds what the two MNIST tutorials share (as
# ``mnist-data.jl`` does in MXNet.jl): the data providers, the command-line options and a
# logger in MXNet.jl's format.  Random generators are seeded so that every run is the same.
import warnings

import numpy as np

import mxref as mx
from _mnist_data import EpochSummary, get_mnist_providers, parse_args

args = parse_args('Train a 3-layer MLP on MNIST.', epochs=20, batch_size=100,
                  default_ctx='cpu')
np.random.seed(0)
mx.random.seed(0)
print('epochs: %d, batch size: %d, context: %s, fast mode: %s'
      % (args.epochs, args.batch_size, args.context, args.fast))

# %%
# The network, one layer at a time
# --------------------------------
# We start from a placeholder for the input, a variable named ``data``, and then cascade
# fully-connected layers and activation functions, each taking the previous symbol as its
# first argument:
data = mx.sym.Variable('data')
fc1 = mx.sym.FullyConnected(data, name='fc1', num_hidden=128)
act1 = mx.sym.Activation(fc1, name='relu1', act_type='relu')
fc2 = mx.sym.FullyConnected(act1, name='fc2', num_hidden=64)
act2 = mx.sym.Activation(fc2, name='relu2', act_type='relu')
fc3 = mx.sym.FullyConnected(act2, name='fc3', num_hidden=10)

# %%
# The architecture is ``input -> 128 units (ReLU) -> 64 units (ReLU) -> 10 units``, the last
# 10 units standing for the classes, the digits 0 to 9.  A final ``SoftmaxOutput`` turns
# those 10 numbers into probabilities (and, during training, compares them with the label,
# an input it names ``softmax_label``):
mlp = mx.sym.SoftmaxOutput(fc3, name='softmax')
print(mlp.list_arguments())

# %%
# The same network as a chain
# ---------------------------
# The MLP is just a chain of layers.  MXNet.jl writes such a chain with its ``@mx.chain``
# macro; mxref's equivalent is :func:`mx.sym.chain <mxref.symbol.chain>`: the first
# element, then every layer called *without* its data, in order.  Each layer receives the
# previous one as its data input.
mlp_chain = mx.sym.chain(
    mx.sym.Variable('data'),
    mx.sym.FullyConnected(name='fc1', num_hidden=128),
    mx.sym.Activation(name='relu1', act_type='relu'),
    mx.sym.FullyConnected(name='fc2', num_hidden=64),
    mx.sym.Activation(name='relu2', act_type='relu'),
    mx.sym.FullyConnected(name='fc3', num_hidden=10),
    mx.sym.SoftmaxOutput(name='softmax'))
print('the two networks are the same graph:', mlp_chain.tojson() == mlp.tojson())

# %%
# Drawn with ``mx.viz``, for a batch of 100 flat images:
mx.viz.plot_network(mlp_chain, shape={'data': (args.batch_size, 784)})

# %%
# The data
# --------
# ``get_mnist_providers`` makes two ``mx.io.MNISTIter``: the training images, shuffled, and
# the test images in their order.  The files come from ``MXREF_DATA_DIR``, from the download
# cache, or are downloaded and checked.  With ``flat=True`` (the default) each image is a
# vector of 784 pixel values in [0, 1), what a fully-connected layer expects.
train_provider, eval_provider = get_mnist_providers(args.batch_size, subset=args.subset)
print('training: %d images, evaluation: %d images'
      % (train_provider.num_examples, eval_provider.num_examples))
print(train_provider.provide_data, train_provider.provide_label)

# %%
# The model and the optimizer
# ---------------------------
# ``FeedForward`` is the classic model API for a network with one input and one output.  It
# takes the network and the device; this MLP is small enough for the CPU (``mx.gpu()``
# would run it on a GPU, and a list of devices splits every batch between them).  Python's
# ``FeedForward`` differs from MXNet.jl's in three details: the device argument is named
# ``ctx``, the number of epochs is given to the model (``num_epoch``), and the optimizer too.
#
# The optimizer is plain SGD with learning rate 0.1, momentum 0.9 and weight decay 1e-5.
# MXNet.jl divides each gradient by the batch size itself; in Python that is the optimizer's
# ``rescale_grad``.
optimizer = mx.optimizer.SGD(learning_rate=0.1, momentum=0.9, wd=0.00001,
                             rescale_grad=1.0 / args.batch_size)
with warnings.catch_warnings():    # FeedForward warns that MXNet prefers Module now
    warnings.simplefilter('ignore', DeprecationWarning)
    model = mx.model.FeedForward(mlp, ctx=args.context, num_epoch=args.epochs,
                                 optimizer=optimizer)

# %%
# Training
# --------
# ``fit`` trains for ``num_epoch`` passes over the training data and measures the accuracy
# on ``eval_data`` after each one.  ``EpochSummary`` gives it three callbacks that report
# each epoch in MXNet.jl's format:
summary = EpochSummary()
model.fit(X=train_provider, eval_data=eval_provider, **summary.callbacks())

# %%
# Predicting and measuring the accuracy by hand
# ---------------------------------------------
# ``predict`` runs the trained network over a data provider and returns the outputs as one
# NumPy array, a row of 10 class probabilities per image:
probs = model.predict(eval_provider)
print(probs.shape)

# %%
# To compute the accuracy ourselves we collect the labels from the provider, batch by
# batch (from the start: ``reset`` rewinds the provider), and compare them with the most
# probable class of each row:
eval_provider.reset()
labels = np.concatenate([batch.label[0].asnumpy() for batch in eval_provider])
predicted = probs.argmax(axis=1)
correct = int((predicted == labels).sum())
accuracy = correct / len(labels)
print('Accuracy on eval set: %.2f%%' % (100 * accuracy))

# %%
# The accuracy the last epoch's validation reported is the same number:
print('validation accuracy of the last epoch: %.4f' % summary.history[-1][2])
assert abs(summary.history[-1][2] - accuracy) < 1e-9
