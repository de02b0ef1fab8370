"""Name registries for serializable objects: initializers, metrics (MXNet's ``mx.registry``).

A registry maps lower-case names to classes derived from one base class.  ``create`` accepts
everything MXNet accepts in place of an object:

* an instance of the base class (returned unchanged);
* a name, ``'xavier'`` (case-insensitive), plus constructor arguments;
* MXNet's JSON forms ``'["xavier", {"magnitude": 2}]'`` and ``'{"<nickname>": "xavier", ...}'``;
* a dict ``{"<nickname>": "xavier", "magnitude": 2}``.

>>> from mxref import registry
>>> class Shape: pass
>>> register = registry.get_register_func(Shape, 'shape')
>>> create = registry.get_create_func(Shape, 'shape')
>>> @register
... class Square(Shape):
...     def __init__(self, side=1):
...         self.side = side
>>> create('["square", {"side": 3}]').side
3
"""
import json
import warnings

from .base import MXNetTypeError, MXNetValueError

__all__ = ['get_registry', 'get_register_func', 'get_alias_func', 'get_create_func']

_REGISTRY = {}          # base class -> {lower-case name: class}


def _table(base_class):
    return _REGISTRY.setdefault(base_class, {})


def get_registry(base_class):
    """A copy of the ``{name: class}`` table of ``base_class``."""
    return dict(_table(base_class))


def get_register_func(base_class, nickname):
    """A decorator ``register(klass, name=None)`` adding ``klass`` to the table of
    ``base_class`` under ``name`` (default: the class name), lower-cased."""
    table = _table(base_class)

    def register(klass, name=None):
        if not (isinstance(klass, type) and issubclass(klass, base_class)):
            raise MXNetTypeError('Can only register subclass of %s, got %r'
                                 % (base_class.__name__, klass))
        name = (name or klass.__name__).lower()
        if name in table and table[name] is not klass:
            warnings.warn('New %s %s.%s registered with name %s is overriding existing %s %s.%s'
                          % (nickname, klass.__module__, klass.__name__, name, nickname,
                             table[name].__module__, table[name].__name__),
                          UserWarning, stacklevel=2)
        table[name] = klass
        return klass

    register.__doc__ = 'Register a %s class in the %s factory.' % (nickname, nickname)
    return register


def get_alias_func(base_class, nickname):
    """A decorator factory ``alias(*names)`` registering a class under extra names."""
    register = get_register_func(base_class, nickname)

    def alias(*aliases):
        def decorate(klass):
            for name in aliases:
                register(klass, name)
            return klass
        return decorate
    return alias


def get_create_func(base_class, nickname):
    """A function ``create(spec, *args, **kwargs)`` building an instance from a spec."""
    table = _table(base_class)

    def create(*args, **kwargs):
        if args:
            spec, args = args[0], args[1:]
        elif nickname in kwargs:
            spec = kwargs.pop(nickname)
        else:
            raise MXNetTypeError('create %s: give the %s as the first argument'
                                 % (nickname, nickname))
        if isinstance(spec, base_class):
            if args or kwargs:
                raise MXNetValueError('%s is already an instance; additional arguments are '
                                      'invalid' % nickname)
            return spec
        if isinstance(spec, dict):
            return create(**spec)
        if not isinstance(spec, str):
            raise MXNetTypeError('%s must be a name, a JSON string or an instance of %s, got %s'
                                 % (nickname, base_class.__name__, type(spec).__name__))
        text = spec.strip()
        if text.startswith('[') or text.startswith('{'):
            if args or kwargs:
                raise MXNetValueError('create %s: a JSON spec takes no further arguments'
                                      % nickname)
            try:
                parsed = json.loads(text)
            except ValueError as err:
                raise MXNetValueError('create %s: %r is not valid JSON (%s)'
                                      % (nickname, spec, err)) from None
            if isinstance(parsed, list):
                if len(parsed) != 2 or not isinstance(parsed[1], dict):
                    raise MXNetValueError('create %s: expected ["name", {arguments}], got %r'
                                          % (nickname, spec))
                return create(parsed[0], **parsed[1])
            return create(**parsed)
        name = text.lower()
        if name not in table:
            raise MXNetValueError('%s is not registered. Please register with %s.register first '
                                  '(known: %s)' % (name, nickname, ', '.join(sorted(table))))
        return table[name](*args, **kwargs)

    create.__doc__ = ('Create a %s from a name, a JSON string, a dict or an instance of %s.'
                      % (nickname, base_class.__name__))
    return create
