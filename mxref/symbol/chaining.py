"""``mx.sym.chain``: a network written as the list of its layers, MXNet.jl's ``@mx.chain``.

In MXNet.jl a feed-forward network is written as a chain, each layer taking the previous one
as its data input::

    mlp = @mx.chain mx.Variable(:data) =>
          mx.FullyConnected(name=:fc1, num_hidden=128) =>
          mx.Activation(name=:relu1, act_type=:relu) => ...

The macro rewrites each call to pass the previous symbol as its first argument.  Python has
no macros, but MXNet's symbols already know how to be plugged together: an operator called
without its data, ``mx.sym.FullyConnected(name='fc1', num_hidden=128)``, is a symbol whose
data input is a free variable (``fc1_data``), and composing it, ``layer(fc1_data=previous)``,
connects that input to ``previous``.  :func:`chain` does exactly this for each layer in turn,
so the Python chain reads like the Julia one::

    mlp = mx.sym.chain(
        mx.sym.Variable('data'),
        mx.sym.FullyConnected(name='fc1', num_hidden=128),
        mx.sym.Activation(name='relu1', act_type='relu'), ...)

A layer may also be any function of one symbol returning a symbol (a ``lambda``, or a
"network factory" producing several layers), which is called with the previous symbol.
"""
from ..base import MXNetTypeError, MXNetValueError
from .symbol import Symbol

__all__ = ['chain']


def _free_data_input(layer, position):
    """The name of the variable that stands for ``layer``'s left-out data input (its
    operator's first input, ``<layer name>_data`` for most operators)."""
    node = layer._outputs[0][0] if len(layer._outputs) == 1 else None
    if node is None or node.op is None:
        what = ('a variable' if node is not None else
                'a group of %d outputs' % len(layer._outputs))
        raise MXNetValueError('chain: layer %d (%s) is %s; every layer after the first must '
                              'be an operator whose data input is left out, e.g. '
                              "mx.sym.FullyConnected(name='fc1', num_hidden=128)"
                              % (position, layer.name, what))
    source, _ = node.inputs[0] if node.inputs else (None, None)
    # an input left out of the call is a variable named after the layer and the argument
    automatic = '%s_%s' % (node.name, node.operator().list_arguments()[0]) if node.inputs else ''
    if source is None or source.op is not None or source.name != automatic:
        raise MXNetValueError(
            "chain: layer %d (%s '%s') already has its data input connected to '%s'; leave the "
            'data out of the layers after the first, chain connects each to the previous one'
            % (position, node.op.op_name, node.name,
               source.name if source is not None else 'nothing'))
    return source.name


def chain(first, *layers):
    """Connect ``layers`` one after the other, starting from the symbol ``first``.

    Each layer receives the previous result as its data input (its operator's first input):

    * a :class:`Symbol` made by an operator called without its data, such as
      ``mx.sym.Activation(act_type='relu')``, is composed with the previous symbol;
    * any other callable is called with the previous symbol and must return a Symbol.

    ``chain(x, f, g)`` is therefore ``g(f(x))`` written in reading order, the equivalent of
    MXNet.jl's ``@mx.chain x => f => g``.

    Parameters
    ----------
    first : Symbol
        Where the chain starts (usually ``mx.sym.Variable('data')``).
    *layers : Symbol or callable
        The layers, in order.

    Returns
    -------
    Symbol
        The last layer, connected to all the others.

    Examples
    --------
    >>> import mxref as mx
    >>> net = mx.sym.chain(mx.sym.Variable('data'),
    ...                    mx.sym.FullyConnected(name='fc1', num_hidden=16),
    ...                    mx.sym.Activation(name='relu1', act_type='relu'),
    ...                    lambda x: mx.sym.FullyConnected(x, name='fc2', num_hidden=10),
    ...                    mx.sym.SoftmaxOutput(name='softmax'))
    >>> net.list_arguments()
    ['data', 'fc1_weight', 'fc1_bias', 'fc2_weight', 'fc2_bias', 'softmax_label']
    """
    if not isinstance(first, Symbol):
        raise MXNetTypeError('chain: the first element must be a Symbol (e.g. '
                             "mx.sym.Variable('data')), got %s" % type(first).__name__)
    result = first
    for position, layer in enumerate(layers, 1):
        if isinstance(layer, Symbol):
            result = layer(**{_free_data_input(layer, position): result})
        elif callable(layer):
            made = layer(result)
            if not isinstance(made, Symbol):
                raise MXNetTypeError('chain: layer %d (%r) returned %s, expected a Symbol'
                                     % (position, layer, type(made).__name__))
            result = made
        else:
            raise MXNetTypeError('chain: layer %d must be a Symbol or a function of a Symbol, '
                                 'got %s' % (position, type(layer).__name__))
    return result
