"""Weight initializers (``mx.init`` / ``mx.initializer``).

An initializer is called as ``init(desc, array)``: ``desc`` is an :class:`InitDesc` (the
parameter's name plus the attributes of its variable) and ``array`` the NDArray to fill.

How an initializer picks what to do with a parameter:

1. If the variable carries an ``__init__`` attribute (``mx.sym.Variable('w', init=mx.init.One())``,
   or BatchNorm's ``moving_var``, which MXNet marks ``["one", {}]``), that initializer fills it.
2. Otherwise the end of the name decides, through the table :data:`NAME_RULES`:
   ``..._weight`` gets the initializer's own distribution (:meth:`Initializer._init_weight`),
   ``..._bias`` and ``..._beta`` get 0, ``..._gamma`` gets 1, ``..._moving_mean`` 0,
   ``..._moving_var`` 1, and so on.  A name matching no rule is an error.

>>> import mxref as mx
>>> w = mx.nd.zeros((2, 3))
>>> mx.init.Constant(0.5)(mx.init.InitDesc('fc1_weight'), w)
>>> w.asnumpy()
array([[0.5, 0.5, 0.5],
       [0.5, 0.5, 0.5]], dtype=float32)
>>> b = mx.nd.ones((3,))
>>> mx.init.Constant(0.5)(mx.init.InitDesc('fc1_bias'), b)   # biases start at zero
>>> b.asnumpy()
array([0., 0., 0.], dtype=float32)
>>> mx.init.Xavier().dumps()
'["xavier", {"rnd_type": "uniform", "factor_type": "avg", "magnitude": 3}]'
"""
import json
import logging
import re
import warnings
from math import sqrt

import numpy as np

from . import registry
from .base import MXNetTypeError, MXNetValueError
from .ndarray import NDArray, load as nd_load
from .ndarray import random as nd_random

__all__ = ['InitDesc', 'Initializer', 'register', 'alias', 'create', 'NAME_RULES',
           'Zero', 'One', 'Constant', 'Uniform', 'Normal', 'Orthogonal', 'Xavier', 'MSRAPrelu',
           'Bilinear', 'LSTMBias', 'FusedRNN', 'Mixed', 'Load']


class InitDesc(str):
    """The name of a parameter together with its variable's attributes.

    Parameters
    ----------
    name : str
        The parameter's name.
    attrs : dict of str to str, optional
        Attributes of the variable (from ``Symbol.attr_dict()``), e.g. ``{'__init__': ...}``.
    global_init : Initializer, optional
        The initializer to fall back to (set by the first initializer that sees ``desc``).

    >>> d = InitDesc('fc1_weight', {'__lr_mult__': '2'})
    >>> d, d.attrs
    ('fc1_weight', {'__lr_mult__': '2'})
    """

    def __new__(cls, name, attrs=None, global_init=None):
        desc = super().__new__(cls, name)
        desc.attrs = attrs or {}
        desc.global_init = global_init
        return desc


# The end of a parameter's name -> the method that fills it.  Checked in order; the first
# suffix the name ends with wins.  (MXNet lists the same rules as an if/elif chain.)
NAME_RULES = (
    ('weight', '_init_weight'),
    ('bias', '_init_bias'),
    ('gamma', '_init_gamma'),
    ('beta', '_init_beta'),
    ('moving_mean', '_init_zero'),
    ('moving_var', '_init_one'),
    ('moving_inv_var', '_init_zero'),
    ('moving_avg', '_init_zero'),
    ('min', '_init_zero'),
    ('max', '_init_one'),
)


class Initializer:
    """Base class of the initializers.

    Subclasses implement :meth:`_init_weight`; biases, gammas, betas and the moving statistics
    of normalisation layers get their fixed defaults from the base class.  ``kwargs`` are the
    constructor arguments, kept so that :meth:`dumps` can describe the initializer.
    """

    def __init__(self, **kwargs):
        self._kwargs = kwargs
        self._verbose = False
        self._print_func = None

    def set_verbosity(self, verbose=False, print_func=None):
        """Log a statistic of every array initialised (default: ``norm(x) / sqrt(size)``)."""
        self._verbose = verbose
        if print_func is None:
            def print_func(x):
                return str(float(np.linalg.norm(x.asnumpy())) / sqrt(x.size))
        self._print_func = print_func
        return self

    def _verbose_print(self, desc, how, arr):
        if self._verbose and self._print_func:
            logging.info('Initialized %s as %s: %s', desc, how, self._print_func(arr))

    def dumps(self):
        """The initializer as MXNet's JSON string ``["<class name lower-cased>", {kwargs}]``.

        >>> Normal(0.5).dumps()
        '["normal", {"sigma": 0.5}]'
        """
        return json.dumps([self.__class__.__name__.lower(), self._kwargs])

    def __call__(self, desc, arr):
        """Fill the NDArray ``arr`` for the parameter described by ``desc``."""
        if not isinstance(arr, NDArray):
            raise MXNetTypeError('%s: arr must be an NDArray, got %s'
                                 % (type(self).__name__, type(arr).__name__))
        if not isinstance(desc, InitDesc):
            if not isinstance(desc, str):
                raise MXNetTypeError('%s: the name must be a string or InitDesc, got %s'
                                     % (type(self).__name__, type(desc).__name__))
            warnings.warn('Calling an initializer with init(str, NDArray) has been deprecated; '
                          'use init(mx.init.InitDesc(...), NDArray) instead.',
                          DeprecationWarning, stacklevel=2)
            desc = InitDesc(desc)
        if desc.global_init is None:
            desc.global_init = self
        init = desc.attrs.get('__init__', '')
        if init:
            create(init)._init_weight(desc, arr)
            self._verbose_print(desc, init, arr)
            return
        for suffix, method in NAME_RULES:
            if desc.endswith(suffix):
                getattr(self, method)(desc, arr)
                self._verbose_print(desc, suffix, arr)
                return
        self._init_default(desc, arr)

    # ------------------------------------------------------------------ the fixed defaults
    def _init_zero(self, _, arr):
        arr[:] = 0.0

    def _init_one(self, _, arr):
        arr[:] = 1.0

    def _init_bias(self, _, arr):
        arr[:] = 0.0

    def _init_gamma(self, _, arr):
        arr[:] = 1.0

    def _init_beta(self, _, arr):
        arr[:] = 0.0

    def _init_weight(self, name, arr):
        """Fill a weight; every concrete initializer overrides this."""
        raise NotImplementedError('%s must implement _init_weight' % type(self).__name__)

    def _init_default(self, name, _):
        raise MXNetValueError(
            'Unknown initialization pattern for %s. Default initialization is now limited to '
            '"weight", "bias", "gamma" (1.0), and "beta" (0.0). Please use '
            'mx.sym.Variable(init=mx.init.*) to set initialization pattern' % name)

    def __eq__(self, other):
        if not isinstance(other, Initializer):
            return NotImplemented
        return type(self) is type(other) and self._kwargs == other._kwargs

    def __hash__(self):
        return id(self)

    def __repr__(self):
        return '%s(%s)' % (type(self).__name__,
                           ', '.join('%s=%r' % kv for kv in self._kwargs.items()))


register = registry.get_register_func(Initializer, 'initializer')
alias = registry.get_alias_func(Initializer, 'initializer')
create = registry.get_create_func(Initializer, 'initializer')
register.__doc__ = """Register an initializer class so it can be created by name.

>>> import mxref as mx
>>> @mx.init.register
... class Fives(mx.init.Initializer):
...     def _init_weight(self, _, arr):
...         arr[:] = 5
>>> mx.init.create('fives').dumps()
'["fives", {}]'
"""


@register
@alias('zeros')
class Zero(Initializer):
    """Fills weights with 0.

    >>> Zero().dumps()
    '["zero", {}]'
    """

    def __init__(self):
        super().__init__()

    def _init_weight(self, _, arr):
        arr[:] = 0


@register
@alias('ones')
class One(Initializer):
    """Fills weights with 1."""

    def __init__(self):
        super().__init__()

    def _init_weight(self, _, arr):
        arr[:] = 1


@register
class Constant(Initializer):
    """Fills weights with ``value`` (a number, or an array matching the parameter's shape).

    >>> Constant(0.25).dumps()
    '["constant", {"value": 0.25}]'
    """

    def __init__(self, value):
        super().__init__(value=value)
        self.value = value

    def _init_weight(self, _, arr):
        arr[:] = self.value

    def dumps(self):
        """As :meth:`Initializer.dumps`, with an array value written as a nested list."""
        value = self._kwargs['value']
        if not np.isscalar(value):
            value = value.asnumpy() if isinstance(value, NDArray) else np.asarray(value)
            self._kwargs['value'] = value.tolist()
        return json.dumps([self.__class__.__name__.lower(), self._kwargs])


@register
class Uniform(Initializer):
    """Weights drawn uniformly from [-scale, scale].

    >>> import mxref as mx
    >>> w = mx.nd.zeros((100,))
    >>> Uniform(0.1)._init_weight('w', w)
    >>> bool(abs(w.asnumpy()).max() <= 0.1)
    True
    """

    def __init__(self, scale=0.07):
        super().__init__(scale=scale)
        self.scale = scale

    def _init_weight(self, _, arr):
        nd_random.uniform(-self.scale, self.scale, arr.shape, out=arr)


@register
class Normal(Initializer):
    """Weights drawn from N(0, sigma²)."""

    def __init__(self, sigma=0.01):
        super().__init__(sigma=sigma)
        self.sigma = sigma

    def _init_weight(self, _, arr):
        nd_random.normal(0, self.sigma, arr.shape, out=arr)


@register
class Orthogonal(Initializer):
    """An orthogonal matrix (Saxe et al., 2013) times ``scale``.

    The weight seen as (rows = shape[0], columns = the rest) is filled with the orthonormal
    factor of the SVD of a random matrix (``rand_type`` 'uniform' on [-1, 1] or 'normal').

    >>> import mxref as mx
    >>> w = mx.nd.zeros((3, 5))
    >>> Orthogonal(scale=1.0)._init_weight('w', w)
    >>> np.allclose(w.asnumpy() @ w.asnumpy().T, np.eye(3), atol=1e-5)
    True
    """

    def __init__(self, scale=1.414, rand_type='uniform'):
        super().__init__(scale=scale, rand_type=rand_type)
        self.scale = scale
        self.rand_type = rand_type

    def _init_weight(self, _, arr):
        rows = arr.shape[0]
        cols = int(np.prod(arr.shape[1:]))
        if self.rand_type == 'uniform':
            sample = nd_random.uniform(-1.0, 1.0, shape=(rows, cols)).asnumpy()
        elif self.rand_type == 'normal':
            sample = nd_random.normal(0.0, 1.0, shape=(rows, cols)).asnumpy()
        else:
            raise MXNetValueError("Orthogonal: rand_type must be 'uniform' or 'normal', got %r"
                                  % self.rand_type)
        u, _, v = np.linalg.svd(sample, full_matrices=False)
        basis = u if u.shape == sample.shape else v
        arr[:] = self.scale * basis.reshape(arr.shape)


# Xavier's fan factor: (fan_in, fan_out) -> the number the magnitude is divided by
_XAVIER_FACTORS = {
    'avg': lambda fan_in, fan_out: (fan_in + fan_out) / 2.0,
    'in': lambda fan_in, fan_out: fan_in,
    'out': lambda fan_in, fan_out: fan_out,
}


@register
class Xavier(Initializer):
    """Glorot/Xavier initialization: keep activations' variance about equal across layers.

    With fan_in = shape[1] x receptive field, fan_out = shape[0] x receptive field and
    ``factor`` = (fan_in + fan_out) / 2 ('avg'), fan_in ('in') or fan_out ('out'), the scale is
    ``sqrt(magnitude / factor)``; weights are drawn from U[-scale, scale] ('uniform') or
    N(0, scale²) ('gaussian').

    Parameters
    ----------
    rnd_type : {'uniform', 'gaussian'}
    factor_type : {'avg', 'in', 'out'}
    magnitude : float
    """

    def __init__(self, rnd_type='uniform', factor_type='avg', magnitude=3):
        super().__init__(rnd_type=rnd_type, factor_type=factor_type, magnitude=magnitude)
        self.rnd_type = rnd_type
        self.factor_type = factor_type
        self.magnitude = float(magnitude)

    def _init_weight(self, name, arr):
        shape = arr.shape
        if len(shape) < 2:
            raise MXNetValueError('Xavier initializer cannot be applied to vector {0}. It '
                                  'requires at least 2D.'.format(name))
        receptive = float(np.prod(shape[2:])) if len(shape) > 2 else 1.0
        fan_in, fan_out = shape[1] * receptive, shape[0] * receptive
        if self.factor_type not in _XAVIER_FACTORS:
            raise MXNetValueError("Incorrect factor type %r: use 'avg', 'in' or 'out'"
                                  % self.factor_type)
        scale = np.sqrt(self.magnitude / _XAVIER_FACTORS[self.factor_type](fan_in, fan_out))
        if self.rnd_type == 'uniform':
            nd_random.uniform(-scale, scale, arr.shape, out=arr)
        elif self.rnd_type == 'gaussian':
            nd_random.normal(0, scale, arr.shape, out=arr)
        else:
            raise MXNetValueError("Unknown random type %r: use 'uniform' or 'gaussian'"
                                  % self.rnd_type)


@register
class MSRAPrelu(Xavier):
    """He et al. (2015) initialization for (P)ReLU networks: Gaussian Xavier with
    magnitude ``2 / (1 + slope²)``.

    >>> MSRAPrelu().dumps()
    '["msraprelu", {"factor_type": "avg", "slope": 0.25}]'
    """

    def __init__(self, factor_type='avg', slope=0.25):
        super().__init__('gaussian', factor_type, 2.0 / (1 + slope ** 2))
        self._kwargs = {'factor_type': factor_type, 'slope': slope}


@register
class Bilinear(Initializer):
    """Bilinear-interpolation kernels, for the weights of upsampling (deconvolution) layers."""

    def __init__(self):
        super().__init__()

    def _init_weight(self, _, arr):
        shape = arr.shape
        f = np.ceil(shape[3] / 2.0)
        c = (2 * f - 1 - f % 2) / (2.0 * f)
        flat = np.arange(int(np.prod(shape)))
        x = flat % shape[3]
        y = (flat // shape[3]) % shape[2]
        weight = (1 - np.abs(x / f - c)) * (1 - np.abs(y / f - c))
        arr[:] = weight.reshape(shape).astype(np.float32)


@register
class LSTMBias(Initializer):
    """LSTM biases: 0 everywhere except ``forget_bias`` on the forget gate (the second of
    the four gates stacked along the first axis)."""

    def __init__(self, forget_bias=1.0):
        super().__init__(forget_bias=forget_bias)
        self.forget_bias = forget_bias

    def _init_weight(self, name, arr):
        arr[:] = 0.0
        hidden = arr.shape[0] // 4
        arr[hidden:2 * hidden] = self.forget_bias



@register
class FusedRNN(Initializer):
    """Initialises the flat ``parameters`` vector of a fused ``RNN`` operator
    (:class:`mxref.rnn.FusedRNNCell`) piece by piece, as if it were unfused.

    The vector is unpacked into one array per layer, direction, gate and weight/bias (the
    names of :meth:`FusedRNNCell.unpack_weights <mxref.rnn.FusedRNNCell.unpack_weights>`,
    without prefix: ``l0_i2h_f_weight``...); each array is filled by ``init``, or when
    ``init`` is None by the initializer the model is initialised with (so weights follow
    its distribution and biases start at 0), and for LSTM every forget-gate bias
    (``..._f_bias``: the i2h and the h2h one) is set to ``forget_bias``.

    Parameters
    ----------
    init : Initializer, str (its JSON) or None
    num_hidden, num_layers, mode, bidirectional :
        The cell's configuration (see :class:`mxref.rnn.FusedRNNCell`).
    forget_bias : float, default 1.0
    """

    def __init__(self, init, num_hidden, num_layers, mode, bidirectional=False,
                 forget_bias=1.0):
        if isinstance(init, str):
            init = create(init)
        super().__init__(init=init.dumps() if init is not None else None,
                         num_hidden=num_hidden, num_layers=num_layers, mode=mode,
                         bidirectional=bidirectional, forget_bias=forget_bias)
        self._init = init
        self._num_hidden = num_hidden
        self._num_layers = num_layers
        self._mode = mode
        self._bidirectional = bidirectional
        self._forget_bias = forget_bias

    def _init_weight(self, desc, arr):
        from .rnn import rnn_cell           # the cells import this module
        cell = rnn_cell.FusedRNNCell(self._num_hidden, self._num_layers, self._mode,
                                     self._bidirectional, forget_bias=self._forget_bias,
                                     prefix='')
        pieces = cell.unpack_weights({'parameters': arr})
        global_init = getattr(desc, 'global_init', None)
        for name, piece in pieces.items():
            if self._mode == 'lstm' and name.endswith('_f_bias'):
                piece[:] = self._forget_bias
                continue
            filler = self._init if self._init is not None else global_init
            if filler is None:
                raise MXNetValueError('FusedRNN initializer: no init given and no global '
                                      'initializer to fall back to for %s' % desc)
            filler(InitDesc(name, global_init=global_init), piece)
        arr[:] = cell.pack_weights(pieces)['parameters']


class Mixed:
    """Different initializers for parameters whose names match different regular expressions.

    Parameters
    ----------
    patterns : list of str
        Regular expressions, tried in order with ``re.match``.
    initializers : list of Initializer
        The initializer used for the names each pattern matches.

    >>> import mxref as mx
    >>> init = Mixed(['bias', '.*'], [Zero(), Constant(2)])
    >>> w = mx.nd.zeros((2,))
    >>> init(InitDesc('fc_weight'), w)
    >>> w.asnumpy()
    array([2., 2.], dtype=float32)
    """

    def __init__(self, patterns, initializers):
        if len(patterns) != len(initializers):
            raise MXNetValueError('Mixed: %d patterns but %d initializers'
                                  % (len(patterns), len(initializers)))
        self.map = list(zip([re.compile(p) for p in patterns], initializers))

    def __call__(self, name, arr):
        for pattern, init in self.map:
            if pattern.match(name):
                init(name, arr)
                return
        raise MXNetValueError('Parameter name %s did not match any pattern. Consider add a ".*" '
                              'pattern at the end with default Initializer.' % name)


class Load:
    """Initialize parameters from saved arrays (a ``.params`` file or a dict of NDArrays).

    ``arg:`` and ``aux:`` prefixes of the saved names are dropped.  Names not found are
    filled by ``default_init`` (an error if there is none).

    >>> import mxref as mx
    >>> init = Load({'arg:fc_weight': mx.nd.ones((2,))})
    >>> w = mx.nd.zeros((2,))
    >>> init('fc_weight', w)
    >>> w.asnumpy()
    array([1., 1.], dtype=float32)
    """

    def __init__(self, param, default_init=None, verbose=False):
        if isinstance(param, str):
            param = nd_load(param)
        if not isinstance(param, dict):
            raise MXNetTypeError('Load: param must be a file name or a dict of NDArrays, got %s'
                                 % type(param).__name__)
        self.param = {}
        for name, arr in param.items():
            key = name[4:] if name.startswith(('arg:', 'aux:')) else name
            self.param[key] = arr
        self.default_init = default_init
        self.verbose = verbose

    def __call__(self, name, arr):
        if name in self.param:
            if tuple(arr.shape) != tuple(self.param[name].shape):
                raise MXNetValueError('Parameter %s cannot be initialized from loading. Shape '
                                      'mismatch, target %s vs loaded %s'
                                      % (name, arr.shape, self.param[name].shape))
            arr[:] = self.param[name]
            if self.verbose:
                logging.info('Initialized %s by loading', name)
            return
        if self.default_init is None:
            raise MXNetValueError('Cannot Initialize %s. Not found in loaded param and no default '
                                  'Initializer is provided.' % name)
        self.default_init(name, arr)
        if self.verbose:
            logging.info('Initialized %s by default', name)
