"""
Module: training and inference, step by step
============================================

The ``mx.mod`` package runs a network defined as a ``Symbol``: it allocates the arrays,
initialises the parameters, applies an optimizer, and loops over data.  This walkthrough
follows MXNet's Module tutorial: a small multilayer perceptron learns to recognise letters in
the UCI Letter Recognition data, first with the *intermediate* API (each step called by hand),
then with the *high-level* ``fit`` / ``predict`` / ``score``, and finally with checkpoints to
save, reload and resume training.

Run it as a script: ``python tutorials/module_api.py``.  ``--fast`` (or the environment
variable ``MXREF_DOCS_FAST=1``) trains for fewer epochs, as the test suite does.
"""
# %%
# Preliminaries
# -------------
# Logging at the INFO level shows what ``fit`` reports after every epoch.  The data file is
# found through ``MXREF_DATA_DIR`` (or the download cache, or downloaded).
import logging
import os
import sys

import numpy as np

import mxref as mx

logging.basicConfig(level=logging.INFO)
FAST = '--fast' in sys.argv or os.environ.get('MXREF_DOCS_FAST') == '1'
np.random.seed(42)
mx.random.seed(42)

# %%
# The data set has 20,000 rows: a letter ``A``-``Z`` followed by 16 integer features
# computed from an image of that letter.  We keep the features as the input and turn each
# letter into a class number from 0 to 25.  The first 80% of the rows are for training and
# the remaining 20% for validation, served in batches of 32; the training batches are
# shuffled at every epoch.
data, label = mx.datasets.load_letter_recognition()
print(data.shape, label.shape, label[:10])

batch_size = 32
ntrain = int(data.shape[0] * 0.8)
train_iter = mx.io.NDArrayIter(data[:ntrain, :], label[:ntrain], batch_size, shuffle=True)
val_iter = mx.io.NDArrayIter(data[ntrain:, :], label[ntrain:], batch_size)

# %%
# The network
# -----------
# Two fully connected layers with a ReLU between them; ``SoftmaxOutput`` turns the 26 scores
# into class probabilities and, when training, also provides the loss gradient (its label
# input is named ``softmax_label`` after the layer's name).
net = mx.sym.Variable('data')
net = mx.sym.FullyConnected(net, name='fc1', num_hidden=64)
net = mx.sym.Activation(net, name='relu1', act_type='relu')
net = mx.sym.FullyConnected(net, name='fc2', num_hidden=26)
net = mx.sym.SoftmaxOutput(net, name='softmax')
print(net.list_arguments())

# %%
# Creating a module
# -----------------
# A ``Module`` needs the symbol, the device(s) to run on, and which of the symbol's inputs
# are data and which are labels; every other input is a parameter to learn.
mod = mx.mod.Module(symbol=net, context=mx.cpu(), data_names=['data'],
                    label_names=['softmax_label'])

# %%
# The intermediate-level interface
# --------------------------------
# Training by hand takes four setup calls and four calls per batch:
#
# - ``bind`` allocates memory for the shapes the iterator provides;
# - ``init_params`` fills the parameters (here uniformly in [-0.1, 0.1]);
# - ``init_optimizer`` chooses plain SGD with learning rate 0.1;
# - a metric (accuracy) is created to follow the training;
#
# and then, for each batch: ``forward`` computes the outputs, ``update_metric`` scores them
# against the labels, ``backward`` computes the gradients and ``update`` applies the
# optimizer.
mod.bind(data_shapes=train_iter.provide_data, label_shapes=train_iter.provide_label)
mod.init_params(initializer=mx.init.Uniform(scale=.1))
mod.init_optimizer(optimizer='sgd', optimizer_params=(('learning_rate', 0.1), ))
metric = mx.metric.create('acc')

for epoch in range(1 if FAST else 5):
    train_iter.reset()
    metric.reset()
    for batch in train_iter:
        mod.forward(batch, is_train=True)
        mod.update_metric(metric, batch.label)
        mod.backward()
        mod.update()
    print('Epoch %d, Training %s' % (epoch, metric.get()))

# %%
# The high-level interface
# ------------------------
# ``fit`` does all of the above in one call, and can evaluate on validation data after each
# epoch.  A fresh module starts from new parameters (``fit`` initialises them with its
# ``initializer``, ``Uniform(0.01)`` by default).
train_iter.reset()
mod = mx.mod.Module(symbol=net, context=mx.cpu(), data_names=['data'],
                    label_names=['softmax_label'])
mod.fit(train_iter,
        eval_data=val_iter,
        optimizer='sgd',
        optimizer_params={'learning_rate': 0.1},
        eval_metric='acc',
        num_epoch=2 if FAST else 8)

# %%
# Predicting and evaluating
# -------------------------
# ``predict`` collects the outputs for every example of an iterator (the padding of the last
# batch removed): one row of 26 probabilities per validation example.
y = mod.predict(val_iter)
assert y.shape == (4000, 26)

# %%
# ``score`` runs the same pass but only accumulates a metric.
score = mod.score(val_iter, ['acc'])
print('Accuracy score is %f' % (score[0][1]))
expected = 0.5 if FAST else 0.77
assert score[0][1] > expected, 'Achieved accuracy (%f) is lower than expected (%.2f)' % (
    score[0][1], expected)

# %%
# Other metrics are available by name, alone or several at once.
print(mod.score(val_iter, ['mse', 'acc', 'ce']))

# %%
# Saving and loading
# ------------------
# ``mx.callback.do_checkpoint`` saves the network and the parameters at the end of every
# epoch: ``mx_mlp-symbol.json`` once, and ``mx_mlp-0001.params``, ``mx_mlp-0002.params``...
# (the epoch number counts from 1).
model_prefix = 'mx_mlp'
checkpoint = mx.callback.do_checkpoint(model_prefix)
mod = mx.mod.Module(symbol=net)
mod.fit(train_iter, num_epoch=2 if FAST else 5, epoch_end_callback=checkpoint)

# %%
# ``load_checkpoint`` reads a saved epoch back: the symbol and the two dicts of parameters,
# which ``set_params`` puts into a bound module.
load_epoch = 1 if FAST else 3
sym, arg_params, aux_params = mx.model.load_checkpoint(model_prefix, load_epoch)
assert sym.tojson() == net.tojson()
mod.set_params(arg_params, aux_params)

# %%
# To resume training from a checkpoint, pass the loaded parameters to ``fit`` and say which
# epoch to begin from: here training continues from epoch 3 up to epoch 21 (so the log
# counts epochs 3 to 20).
mod = mx.mod.Module(symbol=sym)
mod.fit(train_iter,
        num_epoch=3 if FAST else 21,
        arg_params=arg_params,
        aux_params=aux_params,
        begin_epoch=load_epoch)

score = mod.score(val_iter, ['acc'])
print('Accuracy score after resuming is %f' % (score[0][1]))
assert score[0][1] > expected, 'Achieved accuracy (%f) is lower than expected (%.2f)' % (
    score[0][1], expected)
