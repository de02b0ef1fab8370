"""
Digit recognition on MNIST: a convolutional network (LeNet)
===========================================================

The second half of MXNet.jl's tutorial *Digit Recognition on MNIST*: the same digits as in
the :doc:`MLP tutorial <mnist_mlp>`, now read by a convolutional neural network with the
LeNet architecture (LeCun et al., 1998), which sees each image as a 28x28 picture instead of
a list of 784 numbers.

Run it as a script::

    python tutorials/mnist_lenet.py               # 20 epochs, on the GPU when there is one
    python tutorials/mnist_lenet.py --fast        # 1 epoch on half of the data

Options: ``--epochs``, ``--batch-size``, ``--ctx cpu|gpu``.  The documentation build runs the
fast mode (``MXREF_DOCS_FAST=1``); the log of a full run of 20 epochs is recorded in
:download:`docs/results/mnist_lenet.md <../results/mnist_lenet.md>` (test accuracy 0.99, as
the 0.9915 MXNet.jl reports).
"""
# %%
# Preliminaries
# -------------
# The shared helpers of ``_mnist_data.py`` (data providers, options, MXNet.jl-style log).
# MXNet.jl trains this network on a GPU; we use one when PyCUDA finds one, else the CPU.
import os
import tempfile
import warnings

import numpy as np

import mxref as mx
from _mnist_data import EpochSummary, get_mnist_providers, parse_args

args = parse_args('Train LeNet on MNIST.', epochs=20, batch_size=100,
                  default_ctx='gpu' if mx.context.num_gpus() > 0 else 'cpu', fast_subset=2)
np.random.seed(0)
mx.random.seed(0)
print('epochs: %d, batch size: %d, context: %s, fast mode: %s'
      % (args.epochs, args.batch_size, args.context, args.fast))

# %%
# The convolution modules
# -----------------------
# LeNet starts with two *convolution modules*, each a chain of a ``Convolution``, a ``tanh``
# activation and a max ``Pooling``.  Every 5x5 filter of a convolution slides over the image
# and produces one feature map (20 maps in the first module, 50 in the second); pooling
# keeps the largest value of each 2x2 block, halving the height and the width.  The layers
# are chained with :func:`mx.sym.chain <mxref.symbol.chain>`, as with ``@mx.chain`` in
# MXNet.jl: the first element is a complete layer, the following ones leave out their data.
data = mx.sym.Variable('data')

conv1 = mx.sym.chain(mx.sym.Convolution(data, kernel=(5, 5), num_filter=20),
                     mx.sym.Activation(act_type='tanh'),
                     mx.sym.Pooling(pool_type='max', kernel=(2, 2), stride=(2, 2)))

conv2 = mx.sym.chain(mx.sym.Convolution(conv1, kernel=(5, 5), num_filter=50),
                     mx.sym.Activation(act_type='tanh'),
                     mx.sym.Pooling(pool_type='max', kernel=(2, 2), stride=(2, 2)))

# %%
# A batch of 100 MNIST images is an array of shape ``(100, 1, 28, 28)``: batch, channel,
# height, width (MXNet.jl lists the same axes in the opposite order, ``(28, 28, 1, 100)``).
# The shapes through the two modules:
for name, symbol in (('conv1', conv1), ('conv2', conv2)):
    print(name, symbol.infer_shape(data=(args.batch_size, 1, 28, 28))[1][0])

# %%
# The classifier
# --------------
# A fully-connected layer expects a matrix, one row per image, while convolution and pooling
# give 4-D arrays; ``Flatten`` turns each image's 50 maps of 4x4 into a row of 800 values.
# Then come a hidden layer of 500 ``tanh`` units, 10 output units, and the softmax:
fc1 = mx.sym.chain(mx.sym.Flatten(conv2),
                   mx.sym.FullyConnected(num_hidden=500),
                   mx.sym.Activation(act_type='tanh'))
fc2 = mx.sym.FullyConnected(fc1, num_hidden=10)
lenet = mx.sym.SoftmaxOutput(fc2, name='softmax')
mx.viz.plot_network(lenet, shape={'data': (args.batch_size, 1, 28, 28)})

# %%
# The data
# --------
# The same providers as for the MLP, with ``flat=False``: each image keeps its 1x28x28 shape,
# which the convolutions need.
train_provider, eval_provider = get_mnist_providers(args.batch_size, flat=False,
                                                    subset=args.subset)
print('training: %d images, evaluation: %d images'
      % (train_provider.num_examples, eval_provider.num_examples))
print(train_provider.provide_data)

# %%
# Training
# --------
# SGD with learning rate 0.05, momentum 0.9 and weight decay 1e-5 (the gradient divided by
# the batch size through ``rescale_grad``, which MXNet.jl does by itself), for 20 epochs:
optimizer = mx.optimizer.SGD(learning_rate=0.05, momentum=0.9, wd=0.00001,
                             rescale_grad=1.0 / args.batch_size)
with warnings.catch_warnings():    # FeedForward warns that MXNet prefers Module now
    warnings.simplefilter('ignore', DeprecationWarning)
    model = mx.model.FeedForward(lenet, ctx=args.context, num_epoch=args.epochs,
                                 optimizer=optimizer)
summary = EpochSummary()
model.fit(X=train_provider, eval_data=eval_provider, **summary.callbacks())

# %%
# Predicting with the trained model
# ---------------------------------
# ``predict`` returns the outputs of every batch as one array, from which the accuracy
# follows as in the MLP tutorial:
probs = model.predict(eval_provider)
eval_provider.reset()
labels = np.concatenate([batch.label[0].asnumpy() for batch in eval_provider])
accuracy = float((probs.argmax(axis=1) == labels).mean())
print('Accuracy on eval set: %.2f%%' % (100 * accuracy))

# %%
# Predicting batch by batch, with a callback
# ------------------------------------------
# When the data set is too large to hold all the outputs in memory, MXNet.jl's ``predict``
# takes a callback that receives the outputs of each mini-batch instead.  In Python the
# same loop is ``Module.iter_predict``, which yields ``(outputs, batch number, batch)``; the
# trained parameters move into a ``Module`` with ``set_params``.  This callback writes each
# batch's predicted digits to a file, as a program inspecting its predictions later would:
def predict(model, provider, callback):
    """Call ``callback(outputs, batch)`` with the NumPy outputs of every mini-batch."""
    module = mx.mod.Module(model.symbol, context=model.ctx)
    module.bind(data_shapes=provider.provide_data, label_shapes=provider.provide_label,
                for_training=False)
    module.set_params(model.arg_params, model.aux_params)
    for outputs, _, batch in module.iter_predict(provider):
        valid = provider.batch_size - batch.pad
        callback([out[:valid].asnumpy() for out in outputs], batch)


output_dir = tempfile.mkdtemp()
path = os.path.join(output_dir, 'predictions.txt')
correct = 0
with open(path, 'w') as out_file:
    def save_predictions(outputs, batch):
        global correct
        digits = outputs[0].argmax(axis=1)
        out_file.write(' '.join(str(d) for d in digits) + '\n')
        correct += int((digits == batch.label[0].asnumpy()[:len(digits)]).sum())

    predict(model, eval_provider, save_predictions)

with open(path) as f:
    lines = f.read().splitlines()
print('%d lines of predictions; the first starts with %s' % (len(lines), lines[0][:19]))
print('accuracy from the callback: %.2f%%' % (100 * correct / eval_provider.num_examples))
