"""
Generating random sentences with an LSTM RNN
============================================

This tutorial trains a character-level language model: an LSTM (long short-term memory)
recurrent network reads Shakespeare one character at a time and learns to predict the next
one.  It follows the MXNet.jl char-LSTM tutorial step by step (itself adapted from MXNet's
``char-rnn`` example, after Andrej Karpathy's `char-rnn <https://github.com/karpathy/char-rnn>`_),
written in Python with the classic symbolic API: the LSTM is *unrolled by hand* over a fixed
number of time steps with shared weights, and trained like any feed-forward network.

Sampling text from the trained model, and drawing the unrolled network, are the subject of
the companion tutorial ``char_lstm_sample.py``, which imports the definitions below.

Run it as a script::

    python tutorials/char_lstm.py --epochs 21 --batch-size 32 --ctx cpu

``--fast`` (or ``MXREF_DOCS_FAST=1``, as the docs build sets it) trains on a small part of the
text for one short epoch.
"""
# %%
# LSTM cells
# ----------
# Christopher Olah's `post on LSTMs <http://colah.github.io/posts/2015-08-Understanding-LSTMs/>`_
# explains the cell; here we only write it down.  A cell takes an input ``x`` and the
# previous states ``c`` (the memory) and ``h`` (the output), and produces the next states.
# Two small bundles keep the code readable: the states of one cell, and the weights of one
# cell.  Every field holds a :class:`~mxref.symbol.Symbol`: we are building a graph, which is
# bound to arrays only when we train.
import argparse
import logging
import math
import os
import tempfile
from collections import Counter, namedtuple

import numpy as np

import mxref as mx

LSTMState = namedtuple('LSTMState', ['c', 'h'])
LSTMParam = namedtuple('LSTMParam', ['i2h_W', 'h2h_W', 'i2h_b', 'h2h_b'])


# %%
# Because the weights are shared by every time step of the unrolled network, one
# ``LSTMParam`` per layer is enough.  The cell computes the four gates *together*: one
# ``FullyConnected`` of the input and one of the previous output, each with ``4 * num_hidden``
# units, summed and cut into four slices by ``SliceChannel``: the input gate, the candidate
# values ("input transform"), the forget gate and the output gate::
#
#     c' = sigmoid(f) * c + sigmoid(i) * tanh(g)
#     h' = sigmoid(o) * tanh(c')
def lstm_cell(data, prev_state, param, num_hidden=512, dropout=0.0, name='lstm'):
    """One LSTM step: the next :class:`LSTMState` from ``data`` and ``prev_state``."""
    if dropout > 0:
        data = mx.sym.Dropout(data, p=dropout)
    i2h = mx.sym.FullyConnected(data, weight=param.i2h_W, bias=param.i2h_b,
                                num_hidden=4 * num_hidden, name=name + '_i2h')
    h2h = mx.sym.FullyConnected(prev_state.h, weight=param.h2h_W, bias=param.h2h_b,
                                num_hidden=4 * num_hidden, name=name + '_h2h')
    gates = mx.sym.SliceChannel(i2h + h2h, num_outputs=4, name=name + '_gates')
    in_gate = mx.sym.Activation(gates[0], act_type='sigmoid')
    in_transform = mx.sym.Activation(gates[1], act_type='tanh')
    forget_gate = mx.sym.Activation(gates[2], act_type='sigmoid')
    out_gate = mx.sym.Activation(gates[3], act_type='sigmoid')
    next_c = forget_gate * prev_state.c + in_gate * in_transform
    next_h = out_gate * mx.sym.Activation(next_c, act_type='tanh')
    return LSTMState(c=next_c, h=next_h)


# %%
# Unrolling the LSTM
# ------------------
# ``LSTM`` unrolls ``n_layer`` stacked cells over ``seq_len`` time steps.  First come the
# variables for all the shared weights: ``embed_weight`` maps a one-hot encoded character to
# a dense vector (a ``FullyConnected`` layer without bias applied to a one-hot vector picks one
# column of the weight), ``pred_weight``/``pred_bias`` turn the top layer's output into a
# score per character.  Each layer gets its weights and its *initial* states ``init_c`` and
# ``init_h``: the states are not shared over time; each step's new states feed the next step.
#
# Every time step has its own data and label inputs.  With ``name='ptb'`` they are called
# ``ptb_data_1 ... ptb_data_T`` and ``ptb_label_1 ... ptb_label_T``; the data provider below
# serves arrays under exactly these names.  On top of every step sits a ``SoftmaxOutput``,
# which back-propagates the cross-entropy of its prediction against that step's label.
#
# The states after the last step feed nothing: such dangling outputs would leave the graph
# open, so each is closed with ``BlockGrad``, which passes values through and sends back a
# zero gradient.  Finally all the per-step outputs are grouped into one symbol; with
# ``output_states=True`` the final states are outputs too (the sampler uses them).
def LSTM(n_layer, seq_len, dim_hidden, dim_embed, n_class, dropout=0.0, name='ptb',
         output_states=False):
    """The unrolled LSTM language model as one grouped symbol."""
    embed_W = mx.sym.Variable(name + '_embed_weight')
    pred_W = mx.sym.Variable(name + '_pred_weight')
    pred_b = mx.sym.Variable(name + '_pred_bias')

    layer_param_states = []
    for i in range(1, n_layer + 1):
        param = LSTMParam(i2h_W=mx.sym.Variable('%s_l%d_i2h_weight' % (name, i)),
                          h2h_W=mx.sym.Variable('%s_l%d_h2h_weight' % (name, i)),
                          i2h_b=mx.sym.Variable('%s_l%d_i2h_bias' % (name, i)),
                          h2h_b=mx.sym.Variable('%s_l%d_h2h_bias' % (name, i)))
        state = LSTMState(c=mx.sym.Variable('%s_l%d_init_c' % (name, i)),
                          h=mx.sym.Variable('%s_l%d_init_h' % (name, i)))
        layer_param_states.append((param, state))

    # now unroll over time
    outputs = []
    for t in range(1, seq_len + 1):
        data = mx.sym.Variable('%s_data_%d' % (name, t))
        label = mx.sym.Variable('%s_label_%d' % (name, t))
        hidden = mx.sym.FullyConnected(data, weight=embed_W, num_hidden=dim_embed, no_bias=True,
                                       name='%s_embed_%d' % (name, t))
        # stack the LSTM cells
        for i in range(n_layer):
            l_param, l_state = layer_param_states[i]
            next_state = lstm_cell(hidden, l_state, l_param, num_hidden=dim_hidden,
                                   dropout=dropout if i > 0 else 0.0,   # no dropout on data
                                   name='%s_lstm_l%d_t%d' % (name, i + 1, t))
            hidden = next_state.h
            layer_param_states[i] = (l_param, next_state)
        # prediction / decoder
        if dropout > 0:
            hidden = mx.sym.Dropout(hidden, p=dropout)
        pred = mx.sym.FullyConnected(hidden, weight=pred_W, bias=pred_b, num_hidden=n_class,
                                     name='%s_pred_%d' % (name, t))
        outputs.append(mx.sym.SoftmaxOutput(pred, label, name='%s_softmax_%d' % (name, t)))

    # close the dangling final states
    final_states = [LSTMState(c=mx.sym.BlockGrad(state.c, name='%s_l%d_last_c' % (name, i + 1)),
                              h=mx.sym.BlockGrad(state.h, name='%s_l%d_last_h' % (name, i + 1)))
                    for i, (_, state) in enumerate(layer_param_states)]
    if output_states:
        outputs += [s.c for s in final_states] + [s.h for s in final_states]
    return mx.sym.Group(outputs)


# %%
# Data provider for text sequences
# --------------------------------
# There is no feature extraction: each character becomes a one-hot vector over the
# vocabulary, the set of characters of the training text (65 for Shakespeare, plus one slot
# for characters never seen).  ``build_vocabulary`` orders the characters by frequency and
# saves the order to a file, so that the sampler later decodes with the same mapping.
UNKNOWN_CHAR = '\0'


def build_vocabulary(text, vocab_file, max_vocab=10000):
    """``{char: index}`` for the characters of ``text`` (reusing ``vocab_file`` if it
    exists), with :data:`UNKNOWN_CHAR` last."""
    if os.path.exists(vocab_file):
        logging.info('Vocabulary already exists, reusing %s...', vocab_file)
        with open(vocab_file, encoding='utf-8', newline='') as f:
            chars = f.read()
    else:
        counts = Counter(text)
        chars = ''.join(sorted(counts, key=lambda c: (-counts[c], c))[:max_vocab])
        os.makedirs(os.path.dirname(os.path.abspath(vocab_file)), exist_ok=True)
        partial = vocab_file + '.part'
        with open(partial, 'w', encoding='utf-8', newline='') as f:
            f.write(chars)
        os.replace(partial, vocab_file)
    vocab = {c: i for i, c in enumerate(chars)}
    vocab[UNKNOWN_CHAR] = len(vocab)
    return vocab


def char_indices(text, vocab):
    """The vocabulary index of every character of ``text`` (unknown ones map to the last)."""
    unknown = vocab[UNKNOWN_CHAR]
    return np.array([vocab.get(c, unknown) for c in text], dtype=np.int64)


# %%
# ``CharSeqIter`` implements the :class:`~mxref.io.DataIter` protocol.  Its data and labels
# follow the names used when unrolling the LSTM: ``<prefix>_data_t`` (one-hot characters,
# ``(batch_size, vocabulary)``) and ``<prefix>_label_t`` (the index of the *next* character),
# plus the initial ``c`` and ``h`` of every layer.  The module knows nothing about time or
# states, so the provider feeds the initial states as data: always zero.
#
# The text is cut into batches of ``batch_size * seq_len`` consecutive characters; the
# ``batch_size`` sequences of a batch are consecutive pieces of ``seq_len`` characters.  The
# label of a character is the character after it, so labels are the data shifted by one.
class CharSeqIter(mx.io.DataIter):
    """Batches of one-hot character sequences and their next characters."""

    def __init__(self, text, batch_size, seq_len, vocab, prefix, n_layer, dim_hidden):
        super().__init__(batch_size)
        self.seq_len = seq_len
        self.vocab_size = len(vocab)
        codes = char_indices(text, vocab)
        n_batch = len(codes) // (batch_size * seq_len)
        if n_batch == 0:
            raise ValueError('the text (%d characters) is shorter than one batch (%d x %d)'
                             % (len(codes), batch_size, seq_len))
        used = n_batch * batch_size * seq_len          # discard the tail
        following = np.append(codes[1:used + 1], vocab[UNKNOWN_CHAR])[:used]
        self.data_codes = codes[:used].reshape(n_batch, batch_size, seq_len)
        self.label_codes = following.reshape(n_batch, batch_size, seq_len)
        self.provide_data = (
            [mx.io.DataDesc('%s_data_%d' % (prefix, t), (batch_size, self.vocab_size))
             for t in range(1, seq_len + 1)]
            + [mx.io.DataDesc('%s_l%d_init_c' % (prefix, l), (batch_size, dim_hidden))
               for l in range(1, n_layer + 1)]
            + [mx.io.DataDesc('%s_l%d_init_h' % (prefix, l), (batch_size, dim_hidden))
               for l in range(1, n_layer + 1)])
        self.provide_label = [mx.io.DataDesc('%s_label_%d' % (prefix, t), (batch_size,))
                              for t in range(1, seq_len + 1)]
        self._zero_states = [mx.nd.zeros(d.shape) for d in self.provide_data[seq_len:]]
        self._one_hot = np.eye(self.vocab_size, dtype=np.float32)
        self.cursor = 0

    def reset(self):
        self.cursor = 0

    def next(self):
        if self.cursor == len(self.data_codes):
            raise StopIteration
        codes, labels = self.data_codes[self.cursor], self.label_codes[self.cursor]
        self.cursor += 1
        data = [mx.nd.array(self._one_hot[codes[:, t]]) for t in range(self.seq_len)]
        label = [mx.nd.array(labels[:, t]) for t in range(self.seq_len)]
        return mx.io.DataBatch(data + self._zero_states, label, pad=0)


# %%
# Negative log-likelihood
# -----------------------
# A custom metric reports the average negative log-likelihood of the true next character and
# its exponential, the perplexity: the number of characters the model is, on average, as
# unsure between as if it picked uniformly among them.  A model that knows nothing has a
# perplexity equal to the vocabulary size.
class NLL(mx.metric.EvalMetric):
    """Average negative log-likelihood per character, and perplexity."""

    def __init__(self):
        super().__init__('NLL', has_global_stats=True)

    def update(self, labels, preds):
        nll = 0.0
        count = 0
        for label, pred in zip(labels, preds):
            label = label.asnumpy().astype(np.int64)
            prob = pred.asnumpy()[np.arange(len(label)), label]
            nll -= np.log(np.maximum(prob, 1e-20)).sum()
            count += len(label)
        self.sum_metric += nll
        self.global_sum_metric += nll
        self.num_inst += count
        self.global_num_inst += count

    @staticmethod
    def _summary(nll_sum, count):
        nll = nll_sum / count if count else float('nan')
        return ['NLL', 'perplexity'], [nll, math.exp(nll) if count else float('nan')]

    def get(self):
        return self._summary(self.sum_metric, self.num_inst)

    def get_global(self):
        return self._summary(self.global_sum_metric, self.global_num_inst)


# %%
# Configuration
# -------------
# The original's settings: sequences of 32 characters in batches of 32, two layers of 256
# LSTM units, a 256-dimensional embedding, Adam with learning rate 0.01, weight decay 1e-5
# and gradients clipped to [-1, 1], 21 epochs, 90% of the text for training and the rest for
# validation, weights initialised uniformly in [-0.1, 0.1].
CONFIG = dict(
    dropout=0.0,
    batch_size=32,
    seq_length=32,
    dim_hidden=256,
    dim_embed=256,
    lstm_n_layer=2,
    n_epoch=21,
    base_lr=0.01,
    weight_decay=0.00001,
    clip_gradient=1.0,
    name='ptb',
    data_tr_ratio=0.9,
    init_scale=0.1,
    # fast mode (tests and the docs build): the start of the text, one short epoch
    fast_train_chars=32 * 32 * 24,
    fast_val_chars=32 * 32 * 6,
)
FAST_PREFIX = os.path.join(tempfile.gettempdir(), 'mxref-char-lstm-fast', 'ptb')


def parse_args(argv=None):
    """Command-line options; ``--fast`` or ``MXREF_DOCS_FAST=1`` selects the fast mode."""
    parser = argparse.ArgumentParser(description='Train the char-LSTM on tiny Shakespeare.')
    parser.add_argument('--epochs', type=int, default=CONFIG['n_epoch'])
    parser.add_argument('--batch-size', type=int, default=CONFIG['batch_size'])
    parser.add_argument('--ctx', default='cpu', help="'cpu', 'gpu' or 'gpu:<id>'")
    parser.add_argument('--fast', action='store_true',
                        help='train on a small part of the text for one epoch')
    parser.add_argument('--prefix', default=None,
                        help='checkpoint prefix (default checkpoints/ptb, or a temporary '
                             'folder in fast mode)')
    args = parser.parse_args(argv)
    args.fast = args.fast or os.environ.get('MXREF_DOCS_FAST') == '1'
    if args.fast and args.epochs == CONFIG['n_epoch']:
        args.epochs = 1
    if args.prefix is None:
        args.prefix = FAST_PREFIX if args.fast else os.path.join('checkpoints', CONFIG['name'])
    return args


def parse_context(text):
    """``mx.cpu()`` for 'cpu', ``mx.gpu(i)`` for 'gpu' or 'gpu:i'."""
    kind, _, index = text.partition(':')
    if kind not in ('cpu', 'gpu'):
        raise ValueError("--ctx must be 'cpu', 'gpu' or 'gpu:<id>', got %r" % text)
    return getattr(mx, kind)(int(index or 0))


# %%
# Training the LSTM
# -----------------
# Training follows the standard high-level API.  We read the text, split it into a training
# and a validation part, build the vocabulary and one provider per part, unroll the LSTM,
# and hand everything to :meth:`Module.fit <mxref.module.BaseModule.fit>` (MXNet.jl's
# ``FeedForward`` + ``fit``) with the Adam optimizer, our NLL metric, a ``Speedometer`` that
# logs samples per second, and a checkpoint at the end of every epoch.
def train(args):
    """Train as configured by ``args`` (see :func:`parse_args`); returns the module."""
    logging.basicConfig(level=logging.INFO, format='%(message)s', force=True)
    mx.random.seed(42)
    np.random.seed(42)
    with open(mx.datasets.get_file('tinyshakespeare', 'input.txt'), encoding='utf-8') as f:
        text_all = f.read()
    len_train = int(round(len(text_all) * CONFIG['data_tr_ratio']))
    text_tr, text_val = text_all[:len_train], text_all[len_train:]
    if args.fast:
        text_tr = text_tr[:CONFIG['fast_train_chars']]
        text_val = text_val[:CONFIG['fast_val_chars']]

    vocab = build_vocabulary(text_all[:len_train], args.prefix + '-vocab.txt')
    n_class = len(vocab)
    provider = dict(batch_size=args.batch_size, seq_len=CONFIG['seq_length'], vocab=vocab,
                    prefix=CONFIG['name'], n_layer=CONFIG['lstm_n_layer'],
                    dim_hidden=CONFIG['dim_hidden'])
    data_tr = CharSeqIter(text_tr, **provider)
    data_val = CharSeqIter(text_val, **provider)
    print('vocabulary: %d characters; %d training and %d validation batches of %d x %d'
          % (n_class, len(data_tr.data_codes), len(data_val.data_codes), args.batch_size,
             CONFIG['seq_length']))

    lstm = LSTM(CONFIG['lstm_n_layer'], CONFIG['seq_length'], CONFIG['dim_hidden'],
                CONFIG['dim_embed'], n_class, dropout=CONFIG['dropout'], name=CONFIG['name'])
    model = mx.mod.Module(lstm, context=parse_context(args.ctx),
                          data_names=[d.name for d in data_tr.provide_data],
                          label_names=[d.name for d in data_tr.provide_label])
    os.makedirs(os.path.dirname(os.path.abspath(args.prefix)), exist_ok=True)
    model.fit(data_tr, eval_data=data_val, num_epoch=args.epochs,
              optimizer='adam',
              optimizer_params={'learning_rate': CONFIG['base_lr'],
                                'wd': CONFIG['weight_decay'],
                                'clip_gradient': CONFIG['clip_gradient']},
              initializer=mx.init.Uniform(CONFIG['init_scale']),
              eval_metric=NLL(),
              batch_end_callback=mx.callback.Speedometer(args.batch_size,
                                                         5 if args.fast else 50),
              epoch_end_callback=mx.callback.do_checkpoint(args.prefix))
    return model


# %%
# A full run logs, per epoch, lines like those of the original (the numbers recorded on this
# project's machine are in ``docs/results/char_lstm.md``)::
#
#     Epoch[20] Train-NLL=...
#     Epoch[20] Train-perplexity=...
#     Epoch[20] Validation-NLL=...
#     Epoch[20] Validation-perplexity=...
#
# Here, run as a script (in fast mode when building the docs):
if __name__ == '__main__':
    train(parse_args())
