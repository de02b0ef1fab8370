"""Shared by the MNIST tutorials (``mnist_mlp.py`` and ``mnist_lenet.py``), as MXNet.jl's
``examples/mnist/mnist-data.jl`` is shared by its ``mlp.jl`` and ``lenet.jl``.

* :func:`get_mnist_providers`: the training and evaluation iterators;
* :class:`EpochSummary`: ``fit`` callbacks that log each epoch as MXNet.jl's ``mx.fit`` does;
* :func:`parse_args`: the command-line options both scripts take.

The name starts with ``_``, so the documentation build neither runs nor shows it as a
tutorial; the tutorials print the parts that matter.
"""
import argparse
import logging
import os
import sys
import time

import mxref as mx


def get_mnist_providers(batch_size, data_name='data', label_name='softmax_label', flat=True,
                        subset=1):
    """``(train_provider, eval_provider)``: MNIST in mini-batches of ``batch_size``.

    The four files are found in ``MXREF_DATA_DIR``, the download cache, or downloaded.  The
    training images are shuffled, the test images kept in order; pixels are in [0, 1).
    ``flat=True`` serves each image as a vector of 784 values (for the MLP), ``flat=False``
    as a 1x28x28 image (for convolutions).  ``subset=k`` keeps only the first 1/k of both
    sets (the tutorials' fast mode).
    """
    files = mx.datasets.mnist_files()
    common = dict(data_name=data_name, label_name=label_name, batch_size=batch_size,
                  flat=flat, silent=True, num_parts=subset, part_index=0)
    train_provider = mx.io.MNISTIter(image=files['train_data'], label=files['train_label'],
                                     shuffle=True, **common)
    eval_provider = mx.io.MNISTIter(image=files['test_data'], label=files['test_label'],
                                    shuffle=False, **common)
    return train_provider, eval_provider


class EpochSummary:
    """Callbacks for ``FeedForward.fit`` that log every epoch as MXNet.jl does::

        INFO: == Epoch 001 ==========
        INFO: ## Training summary
        INFO:       :accuracy = 0.7554
        INFO:            time = 1.3165 seconds
        INFO: ## Validation summary
        INFO:       :accuracy = 0.9502

    Pass ``**summary.callbacks()`` to ``fit``; it also gives ``fit`` a logger that keeps
    MXNet's Python-style lines (``Epoch[0] Time cost=...``) to warnings and errors, so that
    each epoch is reported once.  The lines go to standard output.
    """

    def __init__(self):
        self.logger = logging.getLogger('mnist')
        for old in list(self.logger.handlers):        # a handler of an earlier summary may
            self.logger.removeHandler(old)            # hold a replaced sys.stdout (docs build)
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter('%(levelname)s: %(message)s'))
        self.logger.addHandler(handler)
        self.logger.setLevel(logging.INFO)
        self.logger.propagate = False
        self.fit_logger = logging.getLogger('mnist.fit')
        self.fit_logger.setLevel(logging.WARNING)
        self.train_metric = None
        self.history = []                # (epoch, train accuracy, validation accuracy)
        self._tic = time.time()

    def callbacks(self):
        """The keyword arguments to give ``FeedForward.fit``."""
        self._tic = time.time()
        return dict(batch_end_callback=self.batch_end, epoch_end_callback=self.epoch_end,
                    eval_end_callback=self.eval_end, logger=self.fit_logger)

    def _metrics(self, metric):
        for name, value in metric.get_name_value():
            self.logger.info('%15s = %.4f', ':' + name, value)

    def batch_end(self, param):
        self.train_metric = param.eval_metric

    def epoch_end(self, epoch, symbol, arg_params, aux_params):
        seconds = time.time() - self._tic
        self.logger.info('== Epoch %03d ==========', epoch + 1)
        self.logger.info('## Training summary')
        self._metrics(self.train_metric)
        self.logger.info('%15s = %.4f seconds', 'time', seconds)
        self.history.append([epoch + 1, self.train_metric.get()[1], None])
        self._tic = time.time()

    def eval_end(self, param):
        self.logger.info('## Validation summary')
        self._metrics(param.eval_metric)
        self.history[-1][2] = param.eval_metric.get()[1]
        self._tic = time.time()


def parse_args(description, epochs, batch_size, default_ctx, fast_subset=1):
    """The options of both tutorials.  The fast mode (``--fast``, or the documentation
    build's ``MXREF_DOCS_FAST=1``) trains one epoch on ``1 / fast_subset`` of the data."""
    parser = argparse.ArgumentParser(description=description)
    fast_help = 'one epoch%s (what the tests run)' % (
        ' on 1/%d of the data' % fast_subset if fast_subset > 1 else '')
    parser.add_argument('--fast', action='store_true',
                        default=os.environ.get('MXREF_DOCS_FAST') == '1', help=fast_help)
    parser.add_argument('--epochs', type=int, default=None,
                        help='training epochs (default %d, 1 with --fast)' % epochs)
    parser.add_argument('--batch-size', type=int, default=batch_size)
    parser.add_argument('--ctx', choices=('cpu', 'gpu'), default=default_ctx,
                        help='device to train on (default: %s)' % default_ctx)
    args, _ = parser.parse_known_args()      # the docs build may leave its own arguments
    if args.epochs is None:
        args.epochs = 1 if args.fast else epochs
    args.subset = fast_subset if args.fast else 1
    args.context = mx.gpu() if args.ctx == 'gpu' else mx.cpu()
    return args
