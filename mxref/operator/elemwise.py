"""Elementwise operators: unary math, binary (same shape and broadcast) and with-scalar ops.

Each operator here is one row of a table: its MXNet names, its forward formula and its
gradient formulas, written in the expression language of :mod:`mxref.backend.exprs` (NumPy on
the CPU, CUDA C++ on the GPU).  In the formulas ``x`` is the input of a unary operator, ``a``
and ``b`` the inputs of a binary one, ``y`` the output and ``dy`` the gradient arriving at it.
"""
import numpy as np

from .base import Operator, register, shape_str
from .params import Param

__all__ = ['UNARY_MATH', 'UnaryMath', 'BinaryElemwise', 'BinaryBroadcast', 'BinaryScalar',
           'broadcast_shape']

# ----------------------------------------------------------------------------------------------
# unary math
# ----------------------------------------------------------------------------------------------
ZERO_GRAD = None          # no gradient flows: the input gradient is zero (even where dy is nan)

# name: (forward, gradient, aliases)
UNARY_MATH = {
    'relu':       ('fmax(x, 0)',               'dy * (x > 0)', ()),
    'sigmoid':    ('1 / (1 + exp(-x))',        'dy * y * (1 - y)', ()),
    'tanh':       ('tanh(x)',                  'dy * (1 - y * y)', ()),
    'softrelu':   ('where(x > 20, x, log1p(exp(x)))', 'dy * (1 - exp(-y))', ()),
    'softsign':   ('x / (1 + fabs(x))',        'dy / ((1 + fabs(x)) * (1 + fabs(x)))', ()),
    'exp':        ('exp(x)',                   'dy * y', ()),
    'expm1':      ('expm1(x)',                 'dy * (y + 1)', ()),
    'log':        ('log(x)',                   'dy / x', ()),
    'log1p':      ('log1p(x)',                 'dy / (1 + x)', ()),
    'log2':       ('log2(x)',                  'dy / (x * 0.6931471805599453)', ()),
    'log10':      ('log10(x)',                 'dy / (x * 2.302585092994046)', ()),
    'sqrt':       ('sqrt(x)',                  'dy * 0.5 / y', ()),
    'rsqrt':      ('1 / sqrt(x)',              'dy * -0.5 * y * y * y', ()),
    'cbrt':       ('cbrt(x)',                  'dy / (3 * y * y)', ()),
    'rcbrt':      ('1 / cbrt(x)',              'dy * (-1 / 3.0) * y / x', ()),
    'square':     ('x * x',                    'dy * 2 * x', ()),
    'reciprocal': ('1 / x',                    '-dy * y * y', ()),
    'abs':        ('fabs(x)',                  'dy * sign(x)', ()),
    'sign':       ('sign(x)',                  ZERO_GRAD, ()),
    'negative':   ('-x',                       '-dy', ()),
    'sin':        ('sin(x)',                   'dy * cos(x)', ()),
    'cos':        ('cos(x)',                   '-dy * sin(x)', ()),
    'tan':        ('tan(x)',                   'dy * (1 + y * y)', ()),
    'arcsin':     ('arcsin(x)',                'dy / sqrt(1 - x * x)', ()),
    'arccos':     ('arccos(x)',                '-dy / sqrt(1 - x * x)', ()),
    'arctan':     ('arctan(x)',                'dy / (1 + x * x)', ()),
    'sinh':       ('sinh(x)',                  'dy * cosh(x)', ()),
    'cosh':       ('cosh(x)',                  'dy * sinh(x)', ()),
    'arcsinh':    ('arcsinh(x)',               'dy / sqrt(x * x + 1)', ()),
    'arccosh':    ('arccosh(x)',               'dy / sqrt(x * x - 1)', ()),
    'arctanh':    ('arctanh(x)',               'dy / (1 - x * x)', ()),
    'degrees':    ('x * 57.29577951308232',    'dy * 57.29577951308232', ()),
    'radians':    ('x * 0.017453292519943295', 'dy * 0.017453292519943295', ()),
    'round':      ('round(x)',                 ZERO_GRAD, ()),
    'rint':       ('where(x - floor(x) <= 0.5, floor(x), ceil(x))',                  ZERO_GRAD, ()),
    'ceil':       ('ceil(x)',                  ZERO_GRAD, ()),
    'floor':      ('floor(x)',                 ZERO_GRAD, ()),
    'trunc':      ('trunc(x)',                 ZERO_GRAD, ()),
    'fix':        ('trunc(x)',                 ZERO_GRAD, ()),
    'erf':        ('erf(x)',                   'dy * 1.1283791670955126 * exp(-x * x)', ()),
    'gamma':      ('tgamma(x)',                'dy * y * digamma(x)', ()),
    'gammaln':    ('lgamma(x)',                'dy * digamma(x)', ()),
    'logical_not': ('(x == 0)',                ZERO_GRAD, ()),
    '_copy':      ('x',                        'dy', ('identity', '_identity')),
    'zeros_like': ('0',                        ZERO_GRAD, ()),
    'ones_like':  ('1',                        ZERO_GRAD, ()),
}


class UnaryMath(Operator):
    """y = f(x) elementwise; subclasses set ``expr`` (forward) and ``grad``."""
    expr = 'x'
    grad = 'dy'

    def forward(self, is_train, req, in_data, out_data, aux):
        self.B.elementwise(self.expr, out_data[0], req[0], x=in_data[0])

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        if self.grad is None:
            self.B.store(in_grad[0], 0, req[0])
            return
        self.B.elementwise(self.grad, in_grad[0], req[0], x=in_data[0], y=out_data[0],
                           dy=out_grad[0])


def _make_unary(name, expr, grad, aliases):
    doc = ('Elementwise ``%s``: ``y = %s``.\n\nGradient: ``dx = %s``.\n\n'
           'Parameters\n----------\ndata : NDArray or Symbol\n' % (name, expr, grad or '0'))
    cls = type(name, (UnaryMath,), {'op_name': name, 'aliases': aliases, 'expr': expr,
                                    'grad': grad, '__doc__': doc, '__module__': __name__})
    return register(cls)


ACTIVATION_ONLY = ('softrelu',)           # an Activation act_type, not an operator of its own

for _name, (_expr, _grad, _aliases) in UNARY_MATH.items():
    if _name not in ACTIVATION_ONLY:
        _make_unary(_name, _expr, _grad, _aliases)


@register
class BlockGrad(UnaryMath):
    """Passes its input through and stops the gradient: ``y = x``, ``dx = 0``."""
    op_name = 'BlockGrad'
    aliases = ('stop_gradient',)
    grad = ZERO_GRAD
    uses_out_grad = False


@register
class Activation(UnaryMath):
    """Activation function chosen by ``act_type``: relu, sigmoid, tanh, softrelu or softsign.

    ``relu: max(x, 0)``, ``sigmoid: 1/(1+exp(-x))``, ``tanh``, ``softrelu: log(1+exp(x))``,
    ``softsign: x/(1+|x|)``; each gradient is the table entry of the same name.
    """
    op_name = 'Activation'
    params = (Param('act_type', 'str', choices=('relu', 'sigmoid', 'tanh', 'softrelu',
                                                'softsign'),
                    doc='the activation function'),)

    def setup(self):
        self.expr, self.grad, _ = UNARY_MATH[self.act_type]


@register
class Cast(UnaryMath):
    """Converts the data type: ``y = dtype(x)``; ``dx = dy`` converted back."""
    op_name = 'Cast'
    aliases = ('cast',)
    params = (Param('dtype', 'dtype', doc='the output type'),)

    def infer_type(self, in_types):
        return in_types, [self.dtype], []


@register
class Clip(UnaryMath):
    """Clips values into ``[a_min, a_max]``: ``a_max if x > a_max else (a_min if x < a_min
    else x)`` (so a_max wins when a_min > a_max, as in MXNet); the gradient is blocked only
    where ``x < a_min`` or ``x > a_max``, so it passes at the bounds and at NaN (which clip
    passes through), as in MXNet 1.9.1."""
    op_name = 'clip'
    params = (Param('a_min', 'float'), Param('a_max', 'float'))
    expr = 'where(x > a_max, a_max, where(x < a_min, a_min, x))'
    grad = 'where(x < a_min, 0, where(x > a_max, 0, dy))'

    def forward(self, is_train, req, in_data, out_data, aux):
        self.B.elementwise(self.expr, out_data[0], req[0], x=in_data[0], a_min=self.a_min,
                           a_max=self.a_max)

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        self.B.elementwise(self.grad, in_grad[0], req[0], x=in_data[0], dy=out_grad[0],
                           a_min=self.a_min, a_max=self.a_max)


# ----------------------------------------------------------------------------------------------
# binary: same shape and broadcasting
# ----------------------------------------------------------------------------------------------
# name: (forward, gradient for a, gradient for b)
BINARY_MATH = {
    'add':           ('a + b',           'dy',                    'dy'),
    'sub':           ('a - b',           'dy',                    '-dy'),
    'mul':           ('a * b',           'dy * b',                'dy * a'),
    'div':           ('div(a, b)',       'dy / b',                '-dy * a / (b * b)'),
    'mod':           ('mod(a, b)',       'dy',                    '-dy * floor(a / b)'),
    'power':         ('power(a, b)',     'dy * b * power(a, b - 1)', 'dy * y * log(a)'),
    'maximum':       ('fmax(a, b)',      'dy * (a >= b)',         'dy * (a < b)'),
    'minimum':       ('fmin(a, b)',      'dy * (a <= b)',         'dy * (a > b)'),
    'hypot':         ('hypot(a, b)',     'dy * a / y',            'dy * b / y'),
    'equal':         ('(a == b)',        ZERO_GRAD,               ZERO_GRAD),
    'not_equal':     ('(a != b)',        ZERO_GRAD,               ZERO_GRAD),
    'greater':       ('(a > b)',         ZERO_GRAD,               ZERO_GRAD),
    'greater_equal': ('(a >= b)',        ZERO_GRAD,               ZERO_GRAD),
    'lesser':        ('(a < b)',         ZERO_GRAD,               ZERO_GRAD),
    'lesser_equal':  ('(a <= b)',        ZERO_GRAD,               ZERO_GRAD),
    'logical_and':   ('((a != 0) * (b != 0))', ZERO_GRAD,         ZERO_GRAD),
    'logical_or':    ('(((a != 0) + (b != 0)) > 0)', ZERO_GRAD,   ZERO_GRAD),
    'logical_xor':   ('((a != 0) != (b != 0))', ZERO_GRAD,        ZERO_GRAD),
}

# MXNet's names for each: (same-shape op, its aliases, broadcast op, its aliases)
BINARY_NAMES = {
    'add': ('elemwise_add', ('_plus', '_Plus', '_add'), 'broadcast_add', ('broadcast_plus',)),
    'sub': ('elemwise_sub', ('_minus', '_Minus', '_sub'), 'broadcast_sub', ('broadcast_minus',)),
    'mul': ('elemwise_mul', ('_mul', '_Mul'), 'broadcast_mul', ()),
    'div': ('elemwise_div', ('_div', '_Div'), 'broadcast_div', ()),
    'mod': ('_mod', ('_Mod',), 'broadcast_mod', ()),
    'power': ('_power', ('_Power', 'pow'), 'broadcast_power', ()),
    'maximum': ('_maximum', ('_Maximum',), 'broadcast_maximum', ()),
    'minimum': ('_minimum', ('_Minimum',), 'broadcast_minimum', ()),
    'hypot': ('_hypot', ('_Hypot',), 'broadcast_hypot', ()),
    'equal': ('_equal', (), 'broadcast_equal', ()),
    'not_equal': ('_not_equal', (), 'broadcast_not_equal', ()),
    'greater': ('_greater', (), 'broadcast_greater', ()),
    'greater_equal': ('_greater_equal', (), 'broadcast_greater_equal', ()),
    'lesser': ('_lesser', (), 'broadcast_lesser', ()),
    'lesser_equal': ('_lesser_equal', (), 'broadcast_lesser_equal', ()),
    'logical_and': ('_logical_and', (), 'broadcast_logical_and', ()),
    'logical_or': ('_logical_or', (), 'broadcast_logical_or', ()),
    'logical_xor': ('_logical_xor', (), 'broadcast_logical_xor', ()),
}


def broadcast_shape(op, lhs, rhs, partial=False):
    """NumPy's broadcasting of two shapes (MXNet's rule too); ``op`` reports a mismatch.

    With ``partial``, a 0 marks an unknown size, and a dimension where either side is unknown
    is unknown in the result (as in MXNet, even where the other side is not 1).

    >>> broadcast_shape(None, (2, 0), (1, 3), partial=True)
    (2, 0)
    """
    ndim = max(len(lhs), len(rhs))
    lhs_full = (1,) * (ndim - len(lhs)) + tuple(lhs)
    rhs_full = (1,) * (ndim - len(rhs)) + tuple(rhs)
    out = []
    for left, right in zip(lhs_full, rhs_full):
        if partial and (left == 0 or right == 0):
            out.append(0)
            continue
        if left != right and left != 1 and right != 1:
            op.fail('operands could not be broadcast together: lhs %s, rhs %s'
                    % (shape_str(lhs), shape_str(rhs)))
        out.append(left if right == 1 else right)
    return tuple(out)


class BinaryElemwise(Operator):
    """y = f(a, b) for two inputs of one shape; subclasses set the three formulas."""
    arguments = ('lhs', 'rhs')
    expr = grad_lhs = grad_rhs = None

    def forward(self, is_train, req, in_data, out_data, aux):
        self.B.elementwise(self.expr, out_data[0], req[0], a=in_data[0], b=in_data[1])

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        a, b, y, dy = in_data[0], in_data[1], out_data[0], out_grad[0]
        for i, grad in enumerate((self.grad_lhs, self.grad_rhs)):
            if req[i] == 'null':
                continue
            if grad is None:
                self.B.store(in_grad[i], 0, req[i])
            elif in_grad[i].shape == y.shape:
                self.B.elementwise(grad, in_grad[i], req[i], a=a, b=b, y=y, dy=dy)
            else:                       # broadcast input: reduce the gradient to its shape
                full = self.B.empty(y.shape, y.dtype)
                self.B.elementwise(grad, full, 'write', a=a, b=b, y=y, dy=dy)
                self.B.sum_to(full, in_grad[i], req[i])


class BinaryBroadcast(BinaryElemwise):
    """y = f(a, b) with NumPy broadcasting; each gradient is summed back to its input's shape."""

    accepts_partial = True

    def infer_shape(self, in_shapes, partial=False):
        lhs, rhs = in_shapes
        if lhs is None or rhs is None:
            return in_shapes, [None], []
        return in_shapes, [broadcast_shape(self, lhs, rhs, partial)], []


def _make_binary(kind, expr, grad_a, grad_b):
    same, same_aliases, bcast, bcast_aliases = BINARY_NAMES[kind]
    formulas = ('``y = %s``.\n\nGradients: ``da = %s``, ``db = %s``'
                % (expr, grad_a or '0', grad_b or '0'))
    for name, aliases, base, what in ((same, same_aliases, BinaryElemwise, 'of one shape'),
                                      (bcast, bcast_aliases, BinaryBroadcast,
                                       'with broadcasting (gradients summed back)')):
        doc = ('Elementwise %s of two arrays %s: %s.\n\nParameters\n----------\n'
               'lhs : NDArray or Symbol\nrhs : NDArray or Symbol\n' % (kind, what, formulas))
        register(type(name, (base,), {'op_name': name, 'aliases': aliases, 'expr': expr,
                                      'grad_lhs': grad_a, 'grad_rhs': grad_b, '__doc__': doc,
                                      '__module__': __name__}))


for _kind, (_expr, _grad_a, _grad_b) in BINARY_MATH.items():
    _make_binary(_kind, _expr, _grad_a, _grad_b)


@register
class BroadcastTo(Operator):
    """Broadcasts ``data`` to ``shape`` (0 keeps the input's size); the gradient is summed back."""
    op_name = 'broadcast_to'
    params = (Param('shape', 'shape', ()),)

    def infer_shape(self, in_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None], []
        if len(self.shape) != len(data):
            self.fail('shape %s must have as many dimensions as the input %s'
                      % (self.shape, shape_str(data)))
        target = tuple(d if t == 0 else t for d, t in zip(data, self.shape))
        for d, t in zip(data, target):
            if d != t and d != 1:
                self.fail('cannot broadcast input %s to %s' % (shape_str(data), target))
        return in_shapes, [target], []

    def forward(self, is_train, req, in_data, out_data, aux):
        self.B.elementwise('x', out_data[0], req[0], x=in_data[0])

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        self.B.sum_to(out_grad[0], in_grad[0], req[0])


@register
class BroadcastAxis(BroadcastTo):
    """Broadcasts axes of size 1 listed in ``axis`` to the sizes in ``size``."""
    op_name = 'broadcast_axis'
    aliases = ('broadcast_axes',)
    params = (Param('axis', 'shape', ()), Param('size', 'shape', ()))

    def infer_shape(self, in_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None], []
        if len(self.axis) != len(self.size):
            self.fail('axis %s and size %s must have the same length' % (self.axis, self.size))
        target = list(data)
        for axis, size in zip(self.axis, self.size):
            axis = self.check_axis(axis, len(data))
            if data[axis] != 1:
                self.fail('axis %d has size %d; only axes of size 1 can be broadcast'
                          % (axis, data[axis]))
            target[axis] = size
        return in_shapes, [tuple(target)], []


@register
class BroadcastLike(BroadcastTo):
    """Broadcasts ``lhs`` to the shape of ``rhs`` (``rhs`` gets no gradient)."""
    op_name = 'broadcast_like'
    arguments = ('lhs', 'rhs')
    params = ()

    def infer_shape(self, in_shapes):
        lhs, rhs = in_shapes
        if lhs is None or rhs is None:
            return in_shapes, [None], []
        if broadcast_shape(self, lhs, rhs) != tuple(rhs):
            self.fail('cannot broadcast lhs %s to rhs %s' % (shape_str(lhs), shape_str(rhs)))
        return in_shapes, [tuple(rhs)], []

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        self.B.sum_to(out_grad[0], in_grad[0], req[0])
        self.B.store(in_grad[1], 0, req[1])


# ----------------------------------------------------------------------------------------------
# with a scalar
# ----------------------------------------------------------------------------------------------
# name: (forward, gradient, aliases); ``s`` is the scalar
SCALAR_MATH = {
    '_plus_scalar':          ('x + s',           'dy',                      ('_PlusScalar',)),
    '_minus_scalar':         ('x - s',           'dy',                      ('_MinusScalar',)),
    '_rminus_scalar':        ('s - x',           '-dy',                     ('_RMinusScalar',)),
    '_mul_scalar':           ('x * s',           'dy * s',                  ('_MulScalar',)),
    '_div_scalar':           ('div(x, s)',       'dy / s',                  ('_DivScalar',)),
    '_rdiv_scalar':          ('div(s, x)',       '-dy * s / (x * x)',       ('_RDivScalar',)),
    '_mod_scalar':           ('mod(x, s)',       'dy',                      ('_ModScalar',)),
    '_rmod_scalar':          ('mod(s, x)',       '-dy * floor(s / x)',      ('_RModScalar',)),
    '_power_scalar':         ('power(x, s)',     'dy * s * power(x, s - 1)', ('_PowerScalar',)),
    '_rpower_scalar':        ('power(s, x)',     'dy * y * log(s)',         ('_RPowerScalar',)),
    '_maximum_scalar':       ('fmax(x, s)',      'dy * (x >= s)',           ('_MaximumScalar',)),
    '_minimum_scalar':       ('fmin(x, s)',      'dy * (x <= s)',           ('_MinimumScalar',)),
    '_hypot_scalar':         ('hypot(x, s)',     'dy * x / y',              ('_HypotScalar',)),
    '_equal_scalar':         ('(x == s)',        ZERO_GRAD,                 ('_EqualScalar',)),
    '_not_equal_scalar':     ('(x != s)',        ZERO_GRAD,                 ('_NotEqualScalar',)),
    '_greater_scalar':       ('(x > s)',         ZERO_GRAD,                 ('_GreaterScalar',)),
    '_greater_equal_scalar': ('(x >= s)',        ZERO_GRAD,                 ('_GreaterEqualScalar',)),
    '_lesser_scalar':        ('(x < s)',         ZERO_GRAD,                 ('_LesserScalar',)),
    '_lesser_equal_scalar':  ('(x <= s)',        ZERO_GRAD,                 ('_LesserEqualScalar',)),
    '_logical_and_scalar':   ('((x != 0) * (s != 0))', ZERO_GRAD,           ()),
    '_logical_or_scalar':    ('(((x != 0) + (s != 0)) > 0)', ZERO_GRAD,     ()),
    '_logical_xor_scalar':   ('((x != 0) != (s != 0))', ZERO_GRAD,          ()),
}


class BinaryScalar(Operator):
    """y = f(x, s) for an array x and the scalar parameter s."""
    params = (Param('scalar', 'float', 1.0, doc='the scalar operand'),
              Param('is_int', 'bool', True, doc='whether the scalar was given as an integer'))
    expr = grad = None

    def scalar_for(self, dtype):
        """The scalar in the array's type, as MXNet's kernels cast it (3.7 -> 3 for int32)."""
        return dtype.type(self.scalar) if dtype.kind in 'iub' else self.scalar

    def forward(self, is_train, req, in_data, out_data, aux):
        x = in_data[0]
        self.B.elementwise(self.expr, out_data[0], req[0], x=x, s=self.scalar_for(x.dtype))

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        x = in_data[0]
        if self.grad is None:
            self.B.store(in_grad[0], 0, req[0])
            return
        self.B.elementwise(self.grad, in_grad[0], req[0], x=x, y=out_data[0], dy=out_grad[0],
                           s=self.scalar_for(x.dtype))


for _name, (_expr, _grad, _aliases) in SCALAR_MATH.items():
    register(type(_name, (BinaryScalar,), {
        'op_name': _name, 'aliases': _aliases, 'expr': _expr, 'grad': _grad,
        '__module__': __name__,
        '__doc__': ('Elementwise with a scalar ``s``: ``y = %s``.\n\nGradient: ``dx = %s``.\n\n'
                    'Parameters\n----------\ndata : NDArray or Symbol\nscalar : float\n'
                    % (_expr, _grad or '0'))}))


@register
class SmoothL1(BinaryScalar):
    r"""The smooth L1 loss of each element, with :math:`\sigma` the ``scalar`` (default 1):

    .. math::

        f(x) = \begin{cases}
               (\sigma x)^2 / 2,            & \text{if } |x| \le 1/\sigma^2 \\
               |x| - 0.5 / \sigma^2,         & \text{otherwise}
               \end{cases}

        \frac{\partial f}{\partial x} = \begin{cases}
               \sigma^2 x,                  & \text{if } |x| \le 1/\sigma^2 \\
               \operatorname{sign}(x),       & \text{otherwise}
               \end{cases}

    Both pieces meet at :math:`|x| = 1/\sigma^2`, so the loss and its gradient are
    continuous.  Used as the box-regression loss of Fast R-CNN; it is an elementwise
    operator, not a loss layer: sum it (``mx.sym.MakeLoss(mx.sym.sum(...))``) to train on it.

    Example::

       smooth_l1([1, 2, 3, 4]) = [0.5, 1.5, 2.5, 3.5]
       smooth_l1([-0.2, 0.2, 1], scalar=2) = [0.08, 0.08, 0.875]

    Parameters
    ----------
    data : NDArray or Symbol
        The input.
    scalar : float, default=1.0
        :math:`\sigma`.
    """
    op_name = 'smooth_l1'
    params = (Param('scalar', 'float', 1.0, doc='sigma'),)
    expr = ('where(fabs(x) > 1 / (s * s), fabs(x) - 0.5 / (s * s), 0.5 * x * x * (s * s))')
    grad = 'dy * where(fabs(x) > 1 / (s * s), sign(x), x * (s * s))'

    def scalar_for(self, dtype):
        return self.scalar


@register
class AddN(Operator):
    """Sum of any number of arrays of one shape: ``y = x0 + x1 + ...``; each ``dxi = dy``."""
    op_name = 'add_n'
    aliases = ('ElementWiseSum', '_grad_add')
    params = (Param('num_args', 'int', doc='how many inputs'),)
    num_args_param = 'num_args'

    def list_arguments(self):
        return ['arg%d' % i for i in range(self.num_args)]

    def forward(self, is_train, req, in_data, out_data, aux):
        if req[0] == 'null':
            return
        out = out_data[0]
        if any(x is out for x in in_data[1:]):      # out is a later input: sum aside first
            total = self.B.empty(out.shape, out.dtype)
            self.forward(is_train, ['write'], in_data, [total], aux)
            self.B.store(out, total, req[0])
            return
        self.B.store(out, in_data[0], req[0])
        for x in in_data[1:]:
            self.B.elementwise('a + b', out, 'write', a=out, b=x)

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        for grad, r in zip(in_grad, req):
            self.B.store(grad, out_grad[0], r)
