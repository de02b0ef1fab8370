"""
Module on synthetic data: build, train, score, checkpoint, resume
=================================================================

A compact walkthrough of the Module API on made-up data, in the spirit of the "introduction
to the MXNet API" series: we generate random samples, split them with ``crop``, train a
two-layer network, measure it, save a checkpoint *including the optimizer's state*, load it
back and carry on training.

The labels are drawn at random, independently of the features, so there is nothing to
generalise: the network can only memorise its training set.  Watch the training accuracy
climb while the validation accuracy stays near chance (1 in 10); that gap is what
overfitting looks like.

Run it as a script: ``python tutorials/module_synthetic.py``.  ``--fast`` (or
``MXREF_DOCS_FAST=1``) trains for fewer epochs, as the test suite does.
"""
# %%
# The data set
# ------------
# 1000 samples of 100 features each, every feature a float in [0, 1), and a class from 0 to
# 9 per sample.  800 samples train the network and 200 validate it, in batches of 10.
import logging
import os
import sys

import numpy as np

import mxref as mx

logging.basicConfig(level=logging.INFO)
FAST = '--fast' in sys.argv or os.environ.get('MXREF_DOCS_FAST') == '1'
np.random.seed(7)
mx.random.seed(7)

sample_count = 1000
train_count = 800
valid_count = sample_count - train_count
feature_count = 100
category_count = 10
batch = 10

X = mx.nd.random.uniform(low=0, high=1, shape=(sample_count, feature_count))
Y = mx.nd.random.randint(0, category_count, shape=(sample_count,)).astype('float32')
print(X.shape, Y.shape, Y[0:10].asnumpy())

# %%
# ``crop`` cuts a block out of an array: rows 0-799 for training, 800-999 for validation
# (``begin`` is inclusive, ``end`` exclusive, one entry per axis).
X_train = mx.nd.crop(X, begin=(0, 0), end=(train_count, feature_count))
X_valid = mx.nd.crop(X, begin=(train_count, 0), end=(sample_count, feature_count))
Y_train = Y[0:train_count]
Y_valid = Y[train_count:sample_count]
print(X_train.shape, X_valid.shape, Y_train.shape, Y_valid.shape)

# %%
# The network
# -----------
# 100 inputs, a hidden layer of 128 ReLU units, and 10 outputs turned into probabilities by
# ``SoftmaxOutput``.
data = mx.sym.Variable('data')
fc1 = mx.sym.FullyConnected(data, name='fc1', num_hidden=128)
relu1 = mx.sym.Activation(fc1, name='relu1', act_type='relu')
fc2 = mx.sym.FullyConnected(relu1, name='fc2', num_hidden=category_count)
out = mx.sym.SoftmaxOutput(fc2, name='softmax')
print(out.list_arguments())

# %%
# Iterators serve the arrays in batches of 10.
train_iter = mx.io.NDArrayIter(data=X_train, label=Y_train, batch_size=batch)
val_iter = mx.io.NDArrayIter(data=X_valid, label=Y_valid, batch_size=batch)

# %%
# Binding and initialising
# ------------------------
# Binding sizes every array from the shapes the iterator provides.  The weights start from
# Xavier's initialisation, scaled for ReLU layers (``magnitude=2``); the biases start at 0.
# The optimizer is plain SGD with learning rate 0.1.
mod = mx.mod.Module(out)
mod.bind(data_shapes=train_iter.provide_data, label_shapes=train_iter.provide_label)
mod.init_params(initializer=mx.init.Xavier(magnitude=2.))
mod.init_optimizer(optimizer='sgd', optimizer_params=(('learning_rate', 0.1), ))

# %%
# Training
# --------
# ``fit`` finds the module already bound and initialised and keeps it; it only runs the
# epochs.
num_epoch = 5 if FAST else 50
mod.fit(train_iter, num_epoch=num_epoch)

# %%
# Scoring
# -------
# On the training data the network does well, on the validation data it guesses: the
# labels were random.  The training score is lower than the last ``Train-accuracy`` line:
# that line judges each batch just *before* the update made on it, whereas every one of the
# 80 updates of an epoch, made to fit its own 10 samples, disturbs what the network had
# memorised of the others.  (MXNet shows the same gap on this example.)
train_acc = mod.score(train_iter, 'acc')[0][1]
valid_acc = mod.score(val_iter, 'acc')[0][1]
print('Training accuracy: %.3f, validation accuracy: %.3f' % (train_acc, valid_acc))
assert train_acc > (0.2 if FAST else 0.8), train_acc
assert valid_acc < 0.3, valid_acc

# %%
# ``iter_predict`` gives the outputs batch by batch, with the batch itself, so predictions can
# be compared with labels by hand.
correct = 0
for preds, i_batch, data_batch in mod.iter_predict(val_iter):
    predicted = preds[0].asnumpy().argmax(axis=1)
    correct += int((predicted == data_batch.label[0].asnumpy()).sum())
print('Validation accuracy by hand: %.3f' % (correct / float(valid_count)))
assert abs(correct / float(valid_count) - valid_acc) < 1e-9

# %%
# Saving a checkpoint
# -------------------
# ``save_checkpoint`` writes the symbol (``synthetic-symbol.json``), the parameters
# (``synthetic-00NN.params``) and, with ``save_optimizer_states=True``, the optimizer's
# state (``synthetic-00NN.states``) so that training can later resume exactly where it
# stopped.
mod.save_checkpoint('synthetic', num_epoch, save_optimizer_states=True)

# %%
# Loading it back
# ---------------
# ``Module.load`` rebuilds a module from those files; it still has to be bound.  Its
# outputs match the saved module's exactly.
loaded = mx.mod.Module.load('synthetic', num_epoch, load_optimizer_states=True)
loaded.bind(data_shapes=train_iter.provide_data, label_shapes=train_iter.provide_label)
original = mod.predict(val_iter).asnumpy()
restored = loaded.predict(val_iter).asnumpy()
assert np.array_equal(original, restored)
print('The loaded module predicts exactly as the saved one.')

# %%
# Resuming training
# -----------------
# ``fit`` with ``begin_epoch`` continues the epoch count.  The optimizer's saved state is
# loaded when the optimizer is installed (the SGD here has no momentum, so its state is
# empty; with momentum it would hold the velocities).  ``fit`` starts from wherever the
# iterator is, so we rewind it first: scoring left it at its end.
train_iter.reset()
loaded.fit(train_iter, begin_epoch=num_epoch, num_epoch=num_epoch + (2 if FAST else 10),
           optimizer='sgd', optimizer_params=(('learning_rate', 0.1), ))
print('Training accuracy after resuming: %.3f' % loaded.score(train_iter, 'acc')[0][1])
