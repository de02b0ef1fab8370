"""
Sampling random sentences from the char-LSTM
============================================

The second half of the char-LSTM tutorial: with the network trained by ``char_lstm.py``, we
generate text one character at a time, then draw the unrolled network.

Run it after training::

    python tutorials/char_lstm.py            # writes checkpoints/ptb-00NN.params
    python tutorials/char_lstm_sample.py     # samples from the last checkpoint

``--fast`` (or ``MXREF_DOCS_FAST=1``) uses the checkpoint of ``char_lstm.py --fast``.
"""
# %%
# How sampling works
# ------------------
# * Start from a fixed character, ``a`` for example, and feed it to the LSTM.
# * The LSTM gives a probability for every character of the vocabulary, and new states.
#   Draw a character from that distribution: it is the second character.
# * Feed the drawn character back in, with the states of the previous step (instead of the
#   zero initial states), and draw again.
# * Repeat until the text is long enough.
#
# We run several samples at once, one per row of a mini-batch.  The network is the one of
# the training tutorial, unrolled over a *single* time step and with ``output_states=True``,
# so that its final ``c`` and ``h`` come out and can be fed back.  Its parameters are the
# trained ones: the weights are the same at every time step, so a checkpoint of the
# 32-step network fits the 1-step network.
import argparse
import glob
import logging
import os
import re

import numpy as np

import mxref as mx
from char_lstm import CONFIG, FAST_PREFIX, LSTM, UNKNOWN_CHAR, build_vocabulary, parse_context

SAMPLE_CONFIG = dict(batch_size_smp=10, sample_length=100, sample_start='a')


def parse_args(argv=None):
    """Command-line options; ``--fast`` or ``MXREF_DOCS_FAST=1`` uses the fast-mode checkpoint."""
    parser = argparse.ArgumentParser(description='Sample text from a trained char-LSTM.')
    parser.add_argument('--epochs', type=int, default=None,
                        help='the checkpoint (epoch number) to load; default: the last one')
    parser.add_argument('--batch-size', type=int, default=SAMPLE_CONFIG['batch_size_smp'],
                        help='how many samples to draw at once')
    parser.add_argument('--length', type=int, default=SAMPLE_CONFIG['sample_length'])
    parser.add_argument('--start', default=SAMPLE_CONFIG['sample_start'])
    parser.add_argument('--ctx', default='cpu', help="'cpu', 'gpu' or 'gpu:<id>'")
    parser.add_argument('--fast', action='store_true',
                        help="sample from char_lstm.py --fast's checkpoint")
    parser.add_argument('--prefix', default=None, help='checkpoint prefix')
    parser.add_argument('--seed', type=int, default=7)
    args = parser.parse_args(argv)
    args.fast = args.fast or os.environ.get('MXREF_DOCS_FAST') == '1'
    if args.prefix is None:
        args.prefix = FAST_PREFIX if args.fast else os.path.join('checkpoints', CONFIG['name'])
    return args


def last_epoch(prefix):
    """The highest epoch number among ``prefix-NNNN.params``."""
    epochs = [int(m.group(1)) for m in (re.search(r'-(\d{4})\.params$', path)
                                        for path in glob.glob(prefix + '-*.params')) if m]
    if not epochs:
        raise FileNotFoundError('no checkpoint %s-NNNN.params: train first with '
                                'tutorials/char_lstm.py (--fast for the fast mode)' % prefix)
    return max(epochs)


# %%
# The sampler
# -----------
# ``sample`` binds the one-step network for a batch of ``batch_size`` rows and loads the
# checkpoint.  Inputs: the one-hot characters ``ptb_data_1`` and the states
# ``ptb_l<i>_init_c`` / ``ptb_l<i>_init_h``.  Outputs: the probabilities, then the final
# ``c`` of every layer, then the final ``h`` of every layer, in the order ``LSTM`` grouped
# them.  Each step copies the output states into the state inputs.
def sample(args):
    """Draw ``args.batch_size`` texts of ``args.length`` characters; returns them."""
    vocab = build_vocabulary('', args.prefix + '-vocab.txt')
    inv_vocab = {index: char for char, index in vocab.items()}
    n_class, n_layer, name = len(vocab), CONFIG['lstm_n_layer'], CONFIG['name']
    epoch = args.epochs if args.epochs is not None else last_epoch(args.prefix)
    batch = args.batch_size

    lstm = LSTM(n_layer, 1, CONFIG['dim_hidden'], CONFIG['dim_embed'], n_class, name=name,
                output_states=True)
    state_names = (['%s_l%d_init_c' % (name, l) for l in range(1, n_layer + 1)]
                   + ['%s_l%d_init_h' % (name, l) for l in range(1, n_layer + 1)])
    model = mx.mod.Module(lstm, context=parse_context(args.ctx),
                          data_names=['%s_data_1' % name] + state_names,
                          label_names=['%s_label_1' % name])
    model.bind(data_shapes=[('%s_data_1' % name, (batch, n_class))]
               + [(s, (batch, CONFIG['dim_hidden'])) for s in state_names],
               label_shapes=[('%s_label_1' % name, (batch,))], for_training=False)
    _, arg_params, aux_params = mx.model.load_checkpoint(args.prefix, epoch)
    model.set_params(arg_params, aux_params)
    print('loaded %s-%04d.params' % (args.prefix, epoch))

    rng = np.random.RandomState(args.seed)
    one_hot = np.eye(n_class, dtype=np.float32)
    chars = np.full(batch, vocab.get(args.start, vocab[UNKNOWN_CHAR]))
    states = [mx.nd.zeros((batch, CONFIG['dim_hidden'])) for _ in state_names]
    samples = [[args.start] for _ in range(batch)]
    for _ in range(args.length - 1):
        inputs = mx.io.DataBatch([mx.nd.array(one_hot[chars])] + states, pad=0)
        model.forward(inputs, is_train=False)
        outputs = model.get_outputs()
        prob = outputs[0].asnumpy().astype(np.float64)
        for i in range(batch):
            chars[i] = rng.choice(n_class, p=prob[i] / prob[i].sum())
            samples[i].append(inv_vocab[chars[i]])
        states = [out.copy() for out in outputs[1:]]      # c of each layer, then h
    return [''.join(s).replace(UNKNOWN_CHAR, '?') for s in samples]


# %%
# Samples
# -------
# Line breaks, punctuation and capital letters all come from the sampler; nothing is
# post-processed.  (During the docs build the network has trained on a sliver of the text for
# a few seconds, so expect gibberish with Shakespeare's letter frequencies; the samples of
# a full run are recorded in ``docs/results/char_lstm.md``.)
if __name__ == '__main__':
    logging.basicConfig(level=logging.INFO, format='%(message)s', force=True)
    for number, text in enumerate(sample(parse_args()), 1):
        print('## Sample %d' % number)
        print(text)
        print()

# %%
# Visualizing the LSTM
# --------------------
# The unrolled LSTM is just a (very) deep feed-forward network.  Here is one layer unrolled
# over two time steps, with its final states as outputs: the weight variables are hidden;
# note how step 2's cell reads the states step 1 computed, and how ``BlockGrad`` closes the
# final states.
vis_lstm = LSTM(n_layer=1, seq_len=2, dim_hidden=CONFIG['dim_hidden'],
                dim_embed=CONFIG['dim_embed'], n_class=128, name=CONFIG['name'],
                output_states=True)
print(vis_lstm.list_outputs())

# %%
# Its nodes in the order they are computed (the outputs of every operator and variable):
print(vis_lstm.get_internals().list_outputs())

# %%
# The drawing, by ``mx.viz.plot_network`` (Graphviz):
mx.viz.plot_network(vis_lstm)
