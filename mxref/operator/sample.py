"""Operators that draw random numbers.

Without inputs: ``_random_uniform``, ``_random_normal``, ``_random_randint`` (on every device)
and ``_random_exponential``, ``_random_gamma``, ``_random_poisson``,
``_random_negative_binomial``, ``_random_generalized_negative_binomial`` (CPU only): MXNet's
``mx.nd.random_uniform`` / ``mx.sym.random_uniform`` (also called ``uniform``),
``random_normal`` (``normal``), ``random_randint``, ``random_exponential``, ...

With one distribution per element of their inputs (CPU only): ``_sample_uniform``,
``_sample_normal``, ``_sample_gamma``, ``_sample_exponential``, ``_sample_poisson``,
``_sample_negative_binomial``, ``_sample_generalized_negative_binomial``; the output has shape
``param.shape + shape``, and ``mx.nd.random.uniform(low=NDArray, high=NDArray)`` calls them.
``_sample_multinomial`` draws category indices (CPU only) and ``_shuffle`` permutes the rows
of its input.

All draw from the device's generator, seeded by ``mx.random.seed``; in a symbol they are drawn
again at every forward.  Their inputs get zero gradients, as in MXNet, except through the
log-probability output of ``_sample_multinomial`` (``get_prob=True``); ``_shuffle`` has no
gradient.
"""
import numpy as np

from .base import Operator, register, shape_str
from .params import Param

__all__ = ['RandomUniform', 'RandomNormal', 'RandomRandint', 'RandomExponential', 'RandomGamma',
           'RandomPoisson', 'RandomNegativeBinomial', 'RandomGeneralizedNegativeBinomial',
           'SampleUniform', 'SampleNormal', 'SampleGamma', 'SampleExponential', 'SamplePoisson',
           'SampleNegativeBinomial', 'SampleGeneralizedNegativeBinomial', 'SampleMultinomial',
           'Shuffle']


class _Sample(Operator):
    """Shared structure: no inputs, one output of ``shape`` and ``dtype``."""
    arguments = ()
    default_dtype = np.dtype(np.float32)

    def infer_shape(self, in_shapes):
        return [], [tuple(self.shape) if self.shape else None], []

    def infer_type(self, in_types):
        return [], [self.dtype if self.dtype is not None else self.default_dtype], []

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        pass                                    # no inputs, nothing to propagate


def _params(first, second, dtypes):
    return (first, second, Param('shape', 'shape', (), doc='Shape of the output.'),
            Param('ctx', 'str', '', doc="Context of the output ('cpu(0)', 'gpu(1)'); "
                                        'imperative calls only.'),
            Param('dtype', 'dtype?', None, doc='Type of the output: %s.' % dtypes))


@register
class RandomUniform(_Sample):
    r"""Samples from the uniform distribution on the half-open interval :math:`[low, high)`:

    .. math:: out_i \sim U(low, high), \qquad p(x) = \frac{1}{high - low}

    Example::

       random_uniform(low=0, high=1, shape=(2, 2)) = [[0.5488135, 0.5928446],
                                                     [0.7151894, 0.8442657]]
    """
    op_name = '_random_uniform'
    aliases = ('random_uniform', 'uniform')
    params = _params(Param('low', 'float', 0.0, doc='Lower bound of the interval.'),
                     Param('high', 'float', 1.0, doc='Upper bound of the interval.'),
                     'float32 (default), float64 or float16')

    def setup(self):
        if self.high < self.low:
            self.fail('low must be less or equal to high in uniform distribution: expected '
                      'low <= high, got low=%g, high=%g' % (self.low, self.high))

    def forward(self, is_train, req, in_data, out_data, aux):
        self.B.random_uniform(self.low, self.high, out_data[0])


@register
class RandomNormal(_Sample):
    r"""Samples from the normal (Gaussian) distribution with mean ``loc`` and standard
    deviation ``scale``:

    .. math:: out_i \sim \mathcal{N}(loc, scale^2), \qquad
              p(x) = \frac{1}{scale\sqrt{2\pi}} e^{-\frac{(x - loc)^2}{2\,scale^2}}

    Example::

       random_normal(loc=0, scale=1, shape=(2, 2)) = [[ 1.89171135, -1.16881478],
                                                     [-1.23474145,  1.55807114]]
    """
    op_name = '_random_normal'
    aliases = ('random_normal', 'normal')
    params = _params(Param('loc', 'float', 0.0, doc='Mean of the distribution.'),
                     Param('scale', 'float', 1.0, doc='Standard deviation, > 0.'),
                     'float32 (default), float64 or float16')

    def setup(self):
        if self.scale <= 0:
            self.fail('scale parameter in gaussian has to be positive: expected scale > 0, '
                      'got scale=%g' % self.scale)

    def forward(self, is_train, req, in_data, out_data, aux):
        self.B.random_normal(self.loc, self.scale, out_data[0])


@register
class RandomRandint(_Sample):
    r"""Samples integers uniformly from the half-open interval :math:`[low, high)`:

    .. math:: out_i \sim U\{low, low + 1, \ldots, high - 1\}

    Example::

       random_randint(low=0, high=5, shape=(2, 2)) = [[0, 2], [3, 1]]
    """
    op_name = '_random_randint'
    aliases = ('random_randint',)
    params = _params(Param('low', 'int', doc='Lower bound of the interval (included).'),
                     Param('high', 'int', doc='Upper bound of the interval (excluded).'),
                     'int32 (default) or int64')
    default_dtype = np.dtype(np.int32)

    def setup(self):
        if self.high <= self.low:
            self.fail('low must be less than high in randint distribution: expected '
                      'low < high, got low=%d, high=%d' % (self.low, self.high))
        if self.dtype is not None and self.dtype not in (np.dtype(np.int32),
                                                         np.dtype(np.int64)):
            self.fail('dtype must be int32 or int64, got %s' % self.dtype)

    def forward(self, is_train, req, in_data, out_data, aux):
        self.B.random_randint(self.low, self.high, out_data[0])


# ----------------------------------------------------------------------------------------------
# the other distributions, with scalar parameters (CPU only: NumPy's generator draws them)
# ----------------------------------------------------------------------------------------------
_FLOATS = 'float32 (default), float64 or float16'
_FLOAT_DTYPES = tuple(np.dtype(t) for t in (np.float16, np.float32, np.float64))


def _check_float_dtype(op):
    if op.dtype is not None and op.dtype not in _FLOAT_DTYPES:
        op.fail('dtype must be one of float16, float32, float64, got %s' % op.dtype)


class _HostSample(_Sample):
    """A scalar-parameter sampler drawn by the CPU's NumPy generator."""
    gpu_kernel = False
    distribution = None

    def setup(self):
        _check_float_dtype(self)
        self.check()

    def check(self):
        """Validate the distribution's parameters."""

    def _require(self, ok, what, name):
        if not ok:
            value = getattr(self, name)
            self.fail('%s parameter in %s distribution has to be %s: got %s=%g'
                      % (name, self.distribution, what, name, value))

    def forward(self, is_train, req, in_data, out_data, aux):
        values = self.draw(self.B.random_generator(), out_data[0].shape)
        self.B.store(out_data[0], values, req[0])


def _scalar_params(*first):
    return tuple(first) + _params(None, None, _FLOATS)[2:]


@register
class RandomExponential(_HostSample):
    r"""Samples from the exponential distribution with rate ``lam`` (:math:`\lambda`):

    .. math:: p(x) = \lambda e^{-\lambda x}, \quad x \ge 0; \qquad E[x] = 1 / \lambda

    CPU only.  ``mx.nd.random.exponential(scale)`` draws with ``lam = 1 / scale``.
    """
    op_name = '_random_exponential'
    aliases = ('random_exponential',)
    distribution = 'exponential'
    params = _scalar_params(Param('lam', 'float', 1.0, doc='Rate of the distribution, > 0.'))

    def check(self):
        self._require(self.lam > 0, 'positive', 'lam')

    def draw(self, rng, shape):
        return rng.exponential(1.0 / self.lam, size=shape)


@register
class RandomGamma(_HostSample):
    r"""Samples from the gamma distribution with shape ``alpha`` and scale ``beta``:

    .. math:: p(x) = \frac{x^{\alpha - 1} e^{-x / \beta}}{\Gamma(\alpha)\,\beta^{\alpha}};
              \qquad E[x] = \alpha\beta, \quad Var[x] = \alpha\beta^2

    CPU only.
    """
    op_name = '_random_gamma'
    aliases = ('random_gamma',)
    distribution = 'gamma'
    params = _scalar_params(Param('alpha', 'float', 1.0, doc='Shape of the distribution, > 0.'),
                            Param('beta', 'float', 1.0, doc='Scale of the distribution, > 0.'))

    def check(self):
        self._require(self.alpha > 0, 'positive', 'alpha')
        self._require(self.beta > 0, 'positive', 'beta')

    def draw(self, rng, shape):
        return rng.gamma(self.alpha, self.beta, size=shape)


@register
class RandomPoisson(_HostSample):
    r"""Samples from the Poisson distribution with rate ``lam``, as floats:

    .. math:: P(k) = \frac{\lambda^k e^{-\lambda}}{k!}; \qquad E[k] = Var[k] = \lambda

    CPU only.  ``lam = 0`` gives zeros.
    """
    op_name = '_random_poisson'
    aliases = ('random_poisson',)
    distribution = 'poisson'
    params = _scalar_params(Param('lam', 'float', 1.0, doc='Rate of the distribution, >= 0.'))

    def check(self):
        self._require(self.lam >= 0, 'non-negative', 'lam')

    def draw(self, rng, shape):
        return rng.poisson(self.lam, size=shape)


@register
class RandomNegativeBinomial(_HostSample):
    r"""Samples from the negative binomial distribution: the number of failures before the
    ``k``-th success, each trial succeeding with probability ``p``, as floats:

    .. math:: P(x) = \binom{x + k - 1}{x} p^k (1 - p)^x; \qquad E[x] = k (1 - p) / p

    Drawn as a Poisson variable whose rate is a gamma variable of shape ``k`` and scale
    :math:`(1 - p) / p`.  CPU only.  ``k = 0`` or ``p = 1`` give zeros.
    """
    op_name = '_random_negative_binomial'
    aliases = ('random_negative_binomial',)
    distribution = 'negative binomial'
    params = _scalar_params(
        Param('k', 'int', 1, doc='Number of successes to wait for, >= 0.'),
        Param('p', 'float', 1.0, doc='Success probability of a trial, in (0, 1].'))

    def check(self):
        self._require(self.k >= 0, 'non-negative', 'k')
        self._require(0 < self.p <= 1, 'in (0, 1]', 'p')

    def draw(self, rng, shape):
        return _negative_binomial(rng, np.float64(self.k), np.float64(self.p), shape)


@register
class RandomGeneralizedNegativeBinomial(_HostSample):
    r"""Samples from the generalized negative binomial distribution with mean ``mu`` and
    dispersion ``alpha``, as floats:

    .. math:: E[x] = \mu, \qquad Var[x] = \mu + \alpha\mu^2

    Drawn as a Poisson variable whose rate is a gamma variable of shape :math:`1 / \alpha`
    and scale :math:`\alpha\mu`; ``alpha = 0`` is the Poisson distribution of rate ``mu``.
    CPU only.
    """
    op_name = '_random_generalized_negative_binomial'
    aliases = ('random_generalized_negative_binomial',)
    distribution = 'generalized negative binomial'
    params = _scalar_params(
        Param('mu', 'float', 1.0, doc='Mean of the distribution, >= 0.'),
        Param('alpha', 'float', 1.0, doc='Dispersion of the distribution, >= 0.'))

    def check(self):
        self._require(self.mu >= 0, 'non-negative', 'mu')
        self._require(self.alpha >= 0, 'non-negative', 'alpha')

    def draw(self, rng, shape):
        return _generalized_negative_binomial(rng, np.float64(self.mu),
                                              np.float64(self.alpha), shape)


def _negative_binomial(rng, k, p, shape):
    """Gamma(k, (1 - p) / p) rates, then Poisson draws (k = 0 or p = 1: rate 0)."""
    k, p = np.broadcast_to(k, shape), np.broadcast_to(p, shape)
    rate = np.zeros(shape)
    live = (k > 0) & (p < 1)
    rate[live] = rng.gamma(k[live], (1 - p[live]) / p[live])
    return rng.poisson(rate)


def _generalized_negative_binomial(rng, mu, alpha, shape):
    """Gamma(1 / alpha, alpha mu) rates, then Poisson draws (alpha = 0: rate mu)."""
    mu, alpha = np.broadcast_to(mu, shape), np.broadcast_to(alpha, shape)
    rate = np.array(mu, dtype=np.float64)
    mixed = (alpha > 0) & (mu > 0)
    rate[mixed] = rng.gamma(1 / alpha[mixed], alpha[mixed] * mu[mixed])
    return rng.poisson(rate)


# ----------------------------------------------------------------------------------------------
# one distribution per element of the parameter inputs (CPU only)
# ----------------------------------------------------------------------------------------------
class _ElementSample(Operator):
    """Shared structure of the ``_sample_*`` operators: inputs of one shape P holding the
    parameters; the output has shape ``P + shape``, element ``[i..., j...]`` drawn from the
    distribution of parameters ``[i...]``.  The inputs' gradients are zero."""
    gpu_kernel = False
    params = (Param('shape', 'shape', (), doc='Shape drawn from each distribution.'),
              Param('dtype', 'dtype?', None, doc='Type of the output: ' + _FLOATS + '.'))
    checks = ()             # (argument, test on its values, what it must be)

    def setup(self):
        _check_float_dtype(self)

    def infer_shape(self, in_shapes):
        shapes = list(in_shapes)
        known = next((s for s in shapes if s is not None), None)
        if known is None:
            return shapes, [None], []
        for i in range(len(shapes)):
            self.assign_shape(shapes, i, known)
        return shapes, [tuple(known) + tuple(self.shape)], []

    def infer_type(self, in_types):
        known = next((t for t in in_types if t is not None), None)
        dtype = self.dtype if self.dtype is not None else np.dtype(np.float32)
        return [known] * len(in_types), [dtype], []

    def forward(self, is_train, req, in_data, out_data, aux):
        out = out_data[0]
        extra = (1,) * len(self.shape)
        params = []
        for x in in_data:
            values = np.asarray(x, dtype=np.float64)
            params.append(values.reshape(values.shape + extra))
        for name, test, what in self.checks:
            values = params[self.arguments.index(name)]
            bad = ~test(values)
            if bad.any():
                self.fail('%s must be %s, got %s=%g' % (name, what, name, values[bad].flat[0]))
        self.B.store(out, self.draw(self.B.random_generator(), params, out.shape), req[0])

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        for r, grad in zip(req, in_grad):
            self.B.store(grad, 0, r)                  # MXNet: zero gradients


_SAMPLE_DOC = """
    For parameter inputs of shape P the output has shape ``P + shape``.  CPU only; the
    inputs' gradients are zero.
    """


@register
class SampleUniform(_ElementSample):
    __doc__ = r"""Samples from uniform distributions on :math:`[low_i, high_i)`, one per
    element of ``low`` and ``high``:

    .. math:: out[i, j] \sim U(low[i], high[i])
    """ + _SAMPLE_DOC
    op_name = '_sample_uniform'
    aliases = ('sample_uniform',)
    arguments = ('low', 'high')

    def draw(self, rng, params, shape):
        low, high = params
        return low + (high - low) * rng.random(size=shape)


@register
class SampleNormal(_ElementSample):
    __doc__ = r"""Samples from normal distributions, one per element of ``mu`` and ``sigma``:

    .. math:: out[i, j] \sim \mathcal{N}(mu[i], sigma[i]^2)
    """ + _SAMPLE_DOC
    op_name = '_sample_normal'
    aliases = ('sample_normal',)
    arguments = ('mu', 'sigma')
    checks = (('sigma', lambda v: v >= 0, 'non-negative'),)

    def draw(self, rng, params, shape):
        return rng.normal(params[0], params[1], size=shape)


@register
class SampleGamma(_ElementSample):
    __doc__ = r"""Samples from gamma distributions of shape ``alpha`` and scale ``beta``, one
    per element of ``alpha`` and ``beta``:

    .. math:: out[i, j] \sim \Gamma(alpha[i], beta[i]), \qquad E = alpha \cdot beta
    """ + _SAMPLE_DOC
    op_name = '_sample_gamma'
    aliases = ('sample_gamma',)
    arguments = ('alpha', 'beta')
    checks = (('alpha', lambda v: v > 0, 'positive'), ('beta', lambda v: v > 0, 'positive'))

    def draw(self, rng, params, shape):
        return rng.gamma(params[0], params[1], size=shape)


@register
class SampleExponential(_ElementSample):
    __doc__ = r"""Samples from exponential distributions, one per element of the rates ``lam``:

    .. math:: p(out[i, j] = x) = lam[i]\, e^{-lam[i]\, x}, \qquad E = 1 / lam
    """ + _SAMPLE_DOC
    op_name = '_sample_exponential'
    aliases = ('sample_exponential',)
    arguments = ('lam',)
    checks = (('lam', lambda v: v > 0, 'positive'),)

    def draw(self, rng, params, shape):
        return rng.exponential(1.0 / params[0], size=shape)


@register
class SamplePoisson(_ElementSample):
    __doc__ = r"""Samples from Poisson distributions, one per element of the rates ``lam``, as
    floats:

    .. math:: P(out[i, j] = k) = \frac{lam[i]^k e^{-lam[i]}}{k!}
    """ + _SAMPLE_DOC
    op_name = '_sample_poisson'
    aliases = ('sample_poisson',)
    arguments = ('lam',)
    checks = (('lam', lambda v: v >= 0, 'non-negative'),)

    def draw(self, rng, params, shape):
        return rng.poisson(np.broadcast_to(params[0], shape))


@register
class SampleNegativeBinomial(_ElementSample):
    __doc__ = r"""Samples from negative binomial distributions (failures before the ``k``-th
    success, success probability ``p``), one per element of ``k`` and ``p``, as floats:

    .. math:: E[out[i, j]] = k[i] (1 - p[i]) / p[i]

    ``k`` need not be an integer (a gamma-Poisson mixture).
    """ + _SAMPLE_DOC
    op_name = '_sample_negative_binomial'
    aliases = ('sample_negative_binomial',)
    arguments = ('k', 'p')
    checks = (('k', lambda v: v >= 0, 'non-negative'),
              ('p', lambda v: (v > 0) & (v <= 1), 'in (0, 1]'))

    def draw(self, rng, params, shape):
        return _negative_binomial(rng, params[0], params[1], shape)


@register
class SampleGeneralizedNegativeBinomial(_ElementSample):
    __doc__ = r"""Samples from generalized negative binomial distributions of mean ``mu`` and
    dispersion ``alpha``, one per element of ``mu`` and ``alpha``, as floats:

    .. math:: E[out[i, j]] = mu[i], \qquad Var = mu[i] + alpha[i]\, mu[i]^2
    """ + _SAMPLE_DOC
    op_name = '_sample_generalized_negative_binomial'
    aliases = ('sample_generalized_negative_binomial',)
    arguments = ('mu', 'alpha')
    checks = (('mu', lambda v: v >= 0, 'non-negative'),
              ('alpha', lambda v: v >= 0, 'non-negative'))

    def draw(self, rng, params, shape):
        return _generalized_negative_binomial(rng, params[0], params[1], shape)


@register
class SampleMultinomial(Operator):
    r"""Draws category indices from the discrete distributions on the last axis of ``data``
    (probabilities summing to one).

    For ``data`` of shape :math:`(d_1, \ldots, d_n, K)` the output has shape
    :math:`(d_1, \ldots, d_n) + shape` (``(1,)`` for 1-d data and no ``shape``).  Each index
    is the first :math:`j` whose cumulative sum :math:`\sum_{m \le j} data[m]` exceeds a
    uniform draw :math:`u \in [0, 1)`, as MXNet computes it (a row summing to less than
    ``u`` gives K).

    With ``get_prob=True`` a second output holds :math:`\log data[j]` of each sampled index
    (in ``data``'s type), whose gradient is

    .. math:: \frac{\partial L}{\partial data[j]} \mathrel{+}= \frac{g}{data[j]}

    summed over the draws that picked j (the REINFORCE estimator); the indices' gradient is
    ignored, and without ``get_prob`` the gradient is zero.  CPU only.
    """
    op_name = '_sample_multinomial'
    aliases = ('sample_multinomial',)
    gpu_kernel = False
    params = (Param('shape', 'shape', (), doc='Shape drawn from each distribution.'),
              Param('get_prob', 'bool', False, doc='Also output the log-probability of each '
                                                    'sampled index.'),
              Param('dtype', 'str', 'int32',
                    choices=('float16', 'float32', 'float64', 'int32', 'uint8'),
                    doc='Type of the indices.'))

    def list_outputs(self):
        return ['output0', 'output1'] if self.get_prob else ['output']

    def infer_shape(self, in_shapes):
        data = in_shapes[0]
        n_out = len(self.list_outputs())
        if data is None:
            return list(in_shapes), [None] * n_out, []
        if len(data) < 1:
            self.fail('data must have at least 1 dimension, got shape %s' % shape_str(data))
        if data[-1] == 0:
            self.fail('data must have at least one category on its last axis, got shape %s'
                      % shape_str(data))
        out = tuple(data[:-1]) + tuple(self.shape)
        return [tuple(data)], [out or (1,)] * n_out, []

    def infer_type(self, in_types):
        data = in_types[0]
        types = [np.dtype(self.dtype)] + ([data] if self.get_prob else [])
        return [data], types, []

    def forward(self, is_train, req, in_data, out_data, aux):
        probs = np.asarray(in_data[0])
        k = probs.shape[-1]
        rows = probs.reshape(-1, k)
        draws = int(np.prod(self.shape)) if self.shape else 1
        u = self.B.random_generator().random(size=(rows.shape[0], draws))
        cumulative = np.cumsum(rows.astype(np.float64), axis=1)
        above = cumulative[:, None, :] > u[:, :, None]
        index = np.where(above.any(axis=2), above.argmax(axis=2), k)
        shape = out_data[0].shape
        self.B.store(out_data[0], index.reshape(shape), req[0])
        if self.get_prob:
            picked = np.take_along_axis(rows, np.minimum(index, k - 1), axis=1)
            with np.errstate(divide='ignore'):
                logp = np.where(index < k, np.log(picked), -np.inf)
            self.B.store(out_data[1], logp.reshape(shape), req[1])

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        probs = np.asarray(in_data[0])
        grad = np.zeros(probs.shape, dtype=probs.dtype)
        if self.get_prob:
            k = probs.shape[-1]
            rows = probs.reshape(-1, k)
            flat = grad.reshape(-1, k)
            index = np.asarray(out_data[0]).reshape(rows.shape[0], -1).astype(np.int64)
            g = np.asarray(out_grad[1]).reshape(index.shape)
            row = np.broadcast_to(np.arange(rows.shape[0])[:, None], index.shape)
            valid = index < k
            np.add.at(flat, (row[valid], index[valid]),
                      g[valid] / rows[row[valid], index[valid]])
        self.B.store(in_grad[0], grad, req[0])


@register
class Shuffle(Operator):
    r"""A copy of ``data`` with its rows (the first axis) in a random order:
    :math:`out[i] = data[\pi(i)]` for a uniformly drawn permutation :math:`\pi`.

    No gradient (as in MXNet, where binding it with a gradient fails).
    """
    op_name = '_shuffle'
    aliases = ('shuffle',)

    def forward(self, is_train, req, in_data, out_data, aux):
        if req[0] == 'null':
            return
        if req[0] == 'write':
            self.B.random_shuffle_rows(in_data[0], out_data[0])
            return
        rows = self.B.empty(out_data[0].shape, out_data[0].dtype)
        self.B.random_shuffle_rows(in_data[0], rows)
        self.B.store(out_data[0], rows, req[0])
