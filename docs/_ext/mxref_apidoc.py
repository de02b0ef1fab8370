"""Sphinx extension: the API reference and the operator reference, generated from the code.

At the start of every build (``builder-inited``) this writes reStructuredText into
``docs/api/generated/`` (not committed):

* ``modules/<module>.rst``: one page per public module of mxref (``mx.nd``, ``mx.sym``,
  ``mx.viz``, ... whichever exist), with a table of its names and the autodoc of every class
  and function whose home it is;
* ``internals/<module>.rst``: the implementation modules (``mxref.operator.base``,
  ``mxref.backend.cpu``, ...), documenting what no public module exports;
* ``operators/<family>.rst``: one page per operator module (``mxref.operator.nn``, ...) with,
  for each registered operator, its names, signatures, inputs, outputs, parameters and the
  formulas of its class docstring;
* ``*.inc``: the toctrees that ``api.rst`` and ``operators.rst`` include, and the kernel
  sections of ``kernels.rst`` (from each compiled kernel's docstring).

Nothing here lists modules or operators by hand: a module or operator that lands appears on
the next build.  ``.. mxref-operator-support::`` and ``.. mxref-module-support::`` render the
support tables of the "coming from MXNet" page from the same data.
"""
import importlib
import inspect
import os
import pkgutil
import re
import types

from docutils import nodes
from docutils.parsers.rst import Directive
from docutils.statemachine import StringList
from sphinx.ext.napoleon.docstring import NumpyDocstring
from sphinx.util import logging

logger = logging.getLogger(__name__)

# Display order of the public modules; modules found that are not listed come after them.
MODULE_ORDER = ['mxref', 'mxref.ndarray', 'mxref.ndarray.random', 'mxref.symbol',
                'mxref.executor', 'mxref.module', 'mxref.model', 'mxref.io', 'mxref.recordio', 'mxref.image',
                'mxref.initializer', 'mxref.optimizer', 'mxref.lr_scheduler', 'mxref.metric',
                'mxref.callback', 'mxref.kvstore', 'mxref.rnn', 'mxref.visualization',
                'mxref.profiler', 'mxref.test_utils', 'mxref.context', 'mxref.random',
                'mxref.name', 'mxref.attribute', 'mxref.base']
# Attributes of mxref that are implementation layers, documented among the internals.
INTERNAL_PACKAGES = ('mxref.operator', 'mxref.backend')
# Submodules that MXNet users reach as attributes (mx.nd.random, mx.sym.linalg, ...).
PUBLIC_SUBMODULES = ('random', 'linalg', 'contrib', 'sparse', 'image')

# The MXNet 1.x modules a user may look for, for the "coming from MXNet" page:
# (MXNet name, status when absent from mxref)
MXNET_MODULES = [
    ('mx.nd', None), ('mx.sym', None), ('mx.executor', None), ('mx.mod', None),
    ('mx.model', None), ('mx.io', None), ('mx.init', None), ('mx.optimizer', None),
    ('mx.lr_scheduler', None), ('mx.metric', None), ('mx.callback', None), ('mx.kv', None),
    ('mx.rnn', None), ('mx.viz', None), ('mx.test_utils', None), ('mx.random', None),
    ('mx.context', None), ('mx.name', None), ('mx.attribute', None),
    ('mx.autograd', 'not planned: mxref is the symbolic (Symbol/Executor/Module) API'),
    ('mx.gluon', 'not planned: mxref is the symbolic (Symbol/Executor/Module) API'),
    ('mx.nd.sparse', 'not planned: mxref has dense storage only'),
    ('mx.image', None), ('mx.recordio', None),
    ('mx.contrib', 'not planned'), ('mx.profiler', None), ('mx.np', 'not planned'),
]

HERE = os.path.dirname(os.path.abspath(__file__))
MXNET_OPERATORS_FILE = os.path.join(HERE, '..', '_data', 'mxnet-1.9.1-operators.txt')


# ----------------------------------------------------------------------------------------------
# what exists
# ----------------------------------------------------------------------------------------------
def _is_file_module(value):
    return isinstance(value, types.ModuleType) and getattr(value, '__file__', None) is not None


def is_operator_function(obj):
    """Functions that :func:`mxref.operator.calling.make_function` made from the registry
    (``mx.nd.exp``): they all run the code object of the function it defines inside."""
    from mxref.operator import calling
    made = [c for c in calling.make_function.__code__.co_consts if inspect.iscode(c)]
    return getattr(obj, '__code__', None) in made


def public_modules():
    """``{module name: [names users call it by]}`` for mxref's public modules, in display
    order: ``mxref`` itself, each module attribute of ``mxref`` outside the implementation
    layers (``mxref.ndarray`` is ``mx.nd`` and ``mx.ndarray``), and the MXNet-style
    sub-namespaces of those (``mx.nd.random``)."""
    import mxref
    found = {'mxref': ['mx']}
    for attr, value in sorted(vars(mxref).items()):
        if attr.startswith('_') or not _is_file_module(value):
            continue
        if value.__name__.startswith(INTERNAL_PACKAGES):
            continue
        found.setdefault(value.__name__, []).append('mx.' + attr)
    for name in list(found):
        module = importlib.import_module(name)
        if not hasattr(module, '__path__') or name == 'mxref':
            continue
        for attr in PUBLIC_SUBMODULES:
            value = getattr(module, attr, None)
            if _is_file_module(value) and value.__name__ == name + '.' + attr:
                found.setdefault(value.__name__, []).extend(n + '.' + attr for n in found[name])
    for aliases in found.values():      # the short name first: mx.nd before mx.ndarray
        aliases.sort(key=lambda n: (len(n), n))
    rank = {name: i for i, name in enumerate(MODULE_ORDER)}
    return dict(sorted(found.items(), key=lambda item: (rank.get(item[0], len(rank)), item[0])))


def internal_modules(public):
    """Every other importable module of mxref whose dotted name has no ``_`` component."""
    import mxref
    names = []
    for info in pkgutil.walk_packages(mxref.__path__, 'mxref.'):
        if info.name in public or any(p.startswith('_') for p in info.name.split('.')):
            continue
        names.append(info.name)
    return sorted(names)


def exported_names(module):
    """The classes and functions ``module`` offers: its ``__all__``, else every public
    attribute defined inside the module's own package."""
    if hasattr(module, '__all__'):
        names = list(module.__all__)
    else:
        names = [n for n, v in vars(module).items()
                 if not n.startswith('_') and getattr(v, '__module__', None)
                 and v.__module__.startswith(module.__name__)]
    result = []
    for name in names:
        value = getattr(module, name, None)
        if (inspect.isclass(value) or inspect.isfunction(value)) \
                and not is_operator_function(value):
            result.append(name)
    return sorted(result, key=lambda n: (not inspect.isclass(getattr(module, n)), n.lower()))


def object_homes(public):
    """``{id(object): module name}``: the page that documents each exported object, the public
    module whose name is the longest prefix of the object's ``__module__`` (``Context`` lives
    on ``mx.context``'s page, not on ``mx``'s), else the first that exports it."""
    homes = {}
    candidates = {}
    for name in public:
        module = importlib.import_module(name)
        for attr in exported_names(module):
            candidates.setdefault(id(getattr(module, attr)), []).append((name, attr))
    for key, places in candidates.items():
        obj_module = None
        for name, attr in places:
            obj_module = getattr(getattr(importlib.import_module(name), attr), '__module__', '')
            break
        prefixed = [(name, attr) for name, attr in places
                    if obj_module == name or obj_module.startswith(name + '.')]
        homes[key] = max(prefixed, key=lambda p: len(p[0])) if prefixed else places[0]
    return homes


def registered_operators():
    """``{operator module name: [operator class]}`` in registration order."""
    from mxref.operator import base
    families = {}
    for cls in base._CANONICAL.values():
        families.setdefault(cls.__module__, []).append(cls)
    return dict(sorted(families.items()))


# ----------------------------------------------------------------------------------------------
# reStructuredText helpers
# ----------------------------------------------------------------------------------------------
def title(text, char='='):
    return [text, char * len(text), '']


def first_line(obj):
    doc = inspect.getdoc(obj) or ''
    line = doc.strip().split('\n\n')[0].replace('\n', ' ')
    return line


def strip_parameters_section(doc):
    """Remove a numpy-style ``Parameters`` section (the operator pages tabulate parameters)."""
    return re.sub(r'(?ms)^Parameters\n-{3,}\n.*?(?=^\S[^\n]*\n-{3,}\n|\Z)', '', doc)


def numpy_to_rst(doc, config):
    """A numpy-style docstring as plain reStructuredText (napoleon's conversion)."""
    return str(NumpyDocstring(doc, config, what='function'))


def short_title(module):
    """A page title from a module docstring: the first sentence, without parentheses and
    without what follows a colon."""
    doc = (module.__doc__ or module.__name__).strip()
    text = re.split(r'(?<=[a-z)])\.(\s|$)|:\s', doc, maxsplit=1)[0]
    text = re.sub(r'\s*\([^)]*\)', '', text.replace('\n', ' ')).strip()
    return text[:1].upper() + text[1:]


# ----------------------------------------------------------------------------------------------
# pages
# ----------------------------------------------------------------------------------------------
def module_page(name, aliases, homes, operator_families):
    module = importlib.import_module(name)
    heading = '``%s``' % aliases[0] if aliases else '``%s``' % name
    lines = ['.. _api-%s:' % name, ''] + title(heading)
    if len(aliases) > 1:
        lines += ['Also reachable as %s.' % ', '.join('``%s``' % a for a in aliases[1:]), '']
    lines += ['.. automodule:: %s' % name, '']
    names = exported_names(module)
    if names:
        lines += ['.. list-table::', '   :widths: 30 70', '']
        for attr in names:
            obj = getattr(module, attr)
            home_module, home_attr = homes[id(obj)]
            target = '%s.%s' % (home_module, home_attr)
            lines += ['   * - :py:obj:`%s <%s>`' % (attr, target),
                      '     - %s' % (first_line(obj) or ' ')]
        lines.append('')
    own = [attr for attr in names if homes[id(getattr(module, attr))][0] == name]
    for attr in own:
        obj = getattr(module, attr)
        if inspect.isclass(obj):
            lines += ['.. autoclass:: %s.%s' % (name, attr), '   :members:',
                      '   :show-inheritance:', '']
        else:
            lines += ['.. autofunction:: %s.%s' % (name, attr), '']
    operators = [(fn_name, fn) for fn_name, fn in sorted(vars(module).items())
                 if not fn_name.startswith('_') and is_operator_function(fn)]
    if operators:
        lines += title('Operator functions', '-')
        lines += ['One function per registered operator (and alias), built from the operator '
                  'registry; each links to its entry in the :doc:`operator reference '
                  '</operators>`.', '']
        by_family = {}
        from mxref.operator import get
        for fn_name, fn in operators:
            cls = get(fn_name)
            by_family.setdefault(cls.__module__, []).append((fn_name, cls))
        for family, entries in sorted(by_family.items()):
            family_title = short_title(importlib.import_module(family))
            refs = [':ref:`%s <op-%s>`' % (fn_name, cls.op_name) for fn_name, cls in entries]
            lines += ['**%s**: %s' % (family_title, ', '.join(refs)), '']
    return '\n'.join(lines) + '\n'


def internal_page(name, homes, operator_classes):
    module = importlib.import_module(name)
    lines = ['.. _internals-%s:' % name, ''] + title('``%s``' % name)
    lines += ['.. automodule:: %s' % name, '']
    documented = set(homes)
    for attr in exported_names(module):
        obj = getattr(module, attr)
        if id(obj) in documented or obj in operator_classes or obj.__module__ != name:
            continue
        if inspect.isclass(obj):
            lines += ['.. autoclass:: %s.%s' % (name, attr), '   :members:',
                      '   :show-inheritance:', '']
        else:
            lines += ['.. autofunction:: %s.%s' % (name, attr), '']
    return '\n'.join(lines) + '\n'


REQUIRED_EXAMPLES = {'int': '1', 'float': '1', 'bool': 'False', 'shape': '(1,)',
                     'tuple': '(0,)', 'axis': '0', 'dtype': 'float32', 'any': '0', 'str': 'x'}


def operator_instance(cls):
    """An instance with default parameters (required ones given a plain example value), to
    read the input and output names; None if the operator refuses the example values."""
    from mxref.operator import REQUIRED
    attrs = {}
    for param in cls.params:
        if param.default is REQUIRED:
            attrs[param.name] = (param.choices[0] if param.choices else
                                 REQUIRED_EXAMPLES[param.kind.rstrip('?')])
    if cls.num_args_param:
        attrs[cls.num_args_param] = '2'
    try:
        return cls(attrs, cls.op_name)
    except Exception:                          # noqa: BLE001 - fall back to the class lists
        return None


def _names(items):
    return ', '.join('``%s``' % n for n in items) if items else 'none'


def operator_section(cls, config):
    import mxref as mx
    from mxref.operator import REQUIRED
    lines = ['.. _op-%s:' % cls.op_name, ''] + title(cls.op_name, '-')
    names = (cls.op_name,) + tuple(cls.aliases)
    signatures = []
    for front, module in (('mxref.ndarray', mx.nd), ('mxref.symbol', mx.sym)):
        where = module if not cls.op_name.startswith('_') else module._internal
        function = getattr(where, cls.op_name, None)
        if function is not None and is_operator_function(function):
            path = front + ('._internal' if cls.op_name.startswith('_') else '')
            signatures.append('%s.%s%s' % (path, cls.op_name, inspect.signature(function)))
    if signatures:
        lines += ['.. py:function:: ' + signatures[0]]
        lines += ['                 ' + s for s in signatures[1:]]
        lines.append('')
    indent = '   ' if signatures else ''
    body = []
    doc = strip_parameters_section(inspect.cleandoc(cls.__doc__ or ''))
    body += numpy_to_rst(doc, config).splitlines() + ['']
    op = operator_instance(cls)
    if op is not None and not cls.num_args_param:
        inputs, outputs = op.list_arguments(), op.list_outputs()[:op.num_visible_outputs()]
        aux = op.list_auxiliary_states()
        note = ' (with default parameters)'
    else:
        inputs, outputs, aux = list(cls.arguments), list(cls.outputs), list(cls.aux_states)
        note = ''
    if cls.num_args_param:
        inputs_text = 'any number of arrays (their count is ``%s``)' % cls.num_args_param
    else:
        inputs_text = _names(inputs)
    body += [':MXNet names: %s' % _names(names),
             ':Inputs%s: %s' % (note, inputs_text),
             ':Outputs: %s' % _names(outputs)]
    if aux:
        body.append(':Auxiliary states: %s' % _names(aux))
    if not cls.uses_out_grad:
        body.append(':Head gradient: ignored (a loss layer: its backward makes its own '
                    'gradient)')
    body.append('')
    params = [p for p in cls.params if p.name != cls.num_args_param]
    if params:
        body += ['.. list-table:: Parameters', '   :header-rows: 1',
                 '   :widths: 20 25 20 35', '',
                 '   * - name', '     - type', '     - default', '     - meaning']
        for param in params:
            kind = param.kind.rstrip('?') + (' or None' if param.kind.endswith('?') else '')
            if param.choices:
                kind = ', '.join("``'%s'``" % c for c in param.choices)
            default = 'required' if param.default is REQUIRED else '``%r``' % (param.default,)
            body += ['   * - ``%s``' % param.name, '     - %s' % kind, '     - %s' % default,
                     '     - %s' % (param.doc or ' ')]
        body.append('')
    lines += [indent + line if line.strip() else '' for line in body]
    return lines


def operator_page(family, classes, config):
    module = importlib.import_module(family)
    lines = ['.. _operators-%s:' % family, ''] + title(short_title(module))
    lines += ['Defined in :mod:`%s`.' % family, '']
    doc = inspect.cleandoc(module.__doc__ or '')
    lines += numpy_to_rst(doc, config).splitlines() + ['']
    lines += ['.. contents:: Operators', '   :local:', '   :depth: 1', '   :backlinks: none', '']
    for cls in classes:
        lines += operator_section(cls, config)
    return '\n'.join(lines) + '\n'


def _preformatted(text, indent):
    """``text`` as a literal block (indented by ``indent``), or nothing when it is empty."""
    if not text:
        return []
    return [indent + '.. code-block:: text', ''] + [indent + '    ' + line if line.strip() else ''
                                  for line in text.splitlines()] + ['']


def kernel_sections():
    """Sections for kernels.rst: each compiled CPU kernel module (its docstring states the
    algorithm and loop nest) and each CUDA source with its leading comment."""
    import mxref._kernels as kernels_package
    lines = ['CPU kernels (Cython)', '--------------------', '']
    modules = [info.name for info in pkgutil.iter_modules(kernels_package.__path__,
                                                          kernels_package.__name__ + '.')]
    for name in sorted(modules):
        module = importlib.import_module(name)
        lines += title('``%s``' % name, '~')
        lines += ['Source: ``mxref/_kernels/%s.pyx``' % name.rsplit('.', 1)[1], '']
        # Kernel docstrings sketch formulas and loop nests in plain text: show them as written.
        lines += _preformatted(inspect.getdoc(module), '')
        functions = [attr for attr, value in sorted(vars(module).items())
                     if not attr.startswith('_') and callable(value)
                     and not inspect.isclass(value)]
        for attr in functions:
            function = getattr(module, attr)
            try:
                signature = str(inspect.signature(function))
            except (TypeError, ValueError):
                signature = '(...)'
            lines += ['.. py:function:: %s.%s%s' % (name, attr, signature), '']
            lines += _preformatted(inspect.getdoc(function), '   ')
    cuda_dir = os.path.join(os.path.dirname(kernels_package.__file__), 'cuda')
    sources = sorted(f for f in os.listdir(cuda_dir) if f.endswith('.cu')) \
        if os.path.isdir(cuda_dir) else []
    if sources:
        lines += ['GPU kernels (CUDA C, compiled by PyCUDA)',
                  '-----------------------------------------', '']
        for fname in sources:
            with open(os.path.join(cuda_dir, fname), encoding='utf-8') as f:
                text = f.read()
            match = re.match(r'\s*/\*(.*?)\*/', text, re.S)
            comment = inspect.cleandoc(match.group(1).strip('*\n')) if match else ''
            lines += title('``mxref/_kernels/cuda/%s``' % fname, '~')
            lines += _preformatted(comment, '')
    return '\n'.join(lines) + '\n'


def toctree(entries, maxdepth=1):
    lines = ['.. toctree::', '   :maxdepth: %d' % maxdepth, '']
    lines += ['   %s' % e for e in entries]
    return '\n'.join(lines) + '\n'


def _write(path, text):
    """Write ``text`` unless the file already holds it (so Sphinx rereads only what changed)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.exists(path):
        with open(path, encoding='utf-8') as f:
            if f.read() == text:
                return
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)


def generate(app):
    """Write every generated page; remove generated pages of modules that disappeared."""
    out = os.path.join(app.srcdir, 'api', 'generated')
    public = public_modules()
    homes = object_homes(public)
    families = registered_operators()
    operator_classes = [cls for classes in families.values() for cls in classes]
    written = set()

    def emit(relative, text):
        path = os.path.join(out, relative)
        _write(path, text)
        written.add(os.path.normpath(path))

    for name, aliases in public.items():
        emit(os.path.join('modules', name + '.rst'),
             module_page(name, aliases, homes, families))
    emit('modules.inc', toctree(['api/generated/modules/' + n for n in public]))
    internals = internal_modules(public)
    for name in internals:
        emit(os.path.join('internals', name + '.rst'),
             internal_page(name, homes, operator_classes))
    emit('internals.inc', toctree(['api/generated/internals/' + n for n in internals]))
    for family, classes in families.items():
        emit(os.path.join('operators', family + '.rst'),
             operator_page(family, classes, app.config))
    emit('operators.inc', toctree(['api/generated/operators/' + f for f in families], 2))
    emit('kernels.inc', kernel_sections())
    for root, _, files in os.walk(out):
        for fname in files:
            path = os.path.normpath(os.path.join(root, fname))
            if path not in written:
                os.remove(path)
    logger.info('mxref_apidoc: %d public modules, %d internal modules, %d operators in %d '
                'families', len(public), len(internals), len(operator_classes), len(families))


# ----------------------------------------------------------------------------------------------
# directives for the "coming from MXNet" page
# ----------------------------------------------------------------------------------------------
class _GeneratedRst(Directive):
    """A directive whose content is reStructuredText computed at build time."""
    has_content = False

    def rst_lines(self):
        raise NotImplementedError

    def run(self):
        container = nodes.container()
        self.state.nested_parse(StringList(self.rst_lines(), source='<generated>'),
                                self.content_offset, container)
        return container.children


def mxnet_operator_names():
    """MXNet 1.9.1's public legacy operators (``mx.nd.op``), recorded in docs/_data."""
    with open(MXNET_OPERATORS_FILE, encoding='utf-8') as f:
        return [line.strip() for line in f if line.strip() and not line.startswith('#')]


class OperatorSupport(_GeneratedRst):
    """``.. mxref-operator-support::``: mxref's operators and MXNet's missing ones."""

    def rst_lines(self):
        from mxref.operator import registered_names, get
        families = registered_operators()
        count = sum(len(c) for c in families.values())
        lines = ['mxref registers **%d operators** (%d names with aliases):' %
                 (count, len(registered_names())), '',
                 '.. list-table::', '   :header-rows: 1', '   :widths: 25 75', '',
                 '   * - family', '     - operators (aliases in parentheses)']
        for family, classes in families.items():
            entries = []
            for cls in classes:
                text = ':ref:`%s <op-%s>`' % (cls.op_name, cls.op_name)
                if cls.aliases:
                    text += ' (%s)' % ', '.join('``%s``' % a for a in cls.aliases)
                entries.append(text)
            lines += ['   * - :ref:`%s <operators-%s>`' % (short_title(
                          importlib.import_module(family)), family),
                      '     - %s' % ', '.join(entries)]
        lines.append('')
        known = set(registered_names())
        missing = [n for n in mxnet_operator_names() if n not in known]
        total = len(mxnet_operator_names())
        lines += ['Of the %d public operators of MXNet 1.9.1 (``mx.nd.op``), %d are in mxref; '
                  'these %d are not (yet):' % (total, total - len(missing), len(missing)), '',
                  ', '.join('``%s``' % n for n in missing) if missing else 'none.', '']
        return lines


class ModuleSupport(_GeneratedRst):
    """``.. mxref-module-support::``: which MXNet modules mxref has."""

    def rst_lines(self):
        import mxref
        public = public_modules()
        by_alias = {alias: name for name, aliases in public.items() for alias in aliases}
        lines = ['.. list-table::', '   :header-rows: 1', '   :widths: 25 75', '',
                 '   * - MXNet', '     - mxref']
        for mx_name, absent in MXNET_MODULES:
            path = mx_name.split('.')[1:]
            value = mxref
            for part in path:
                value = getattr(value, part, None)
            if isinstance(value, types.ModuleType) and mx_name in by_alias:
                status = 'yes: :ref:`%s <api-%s>`' % (mx_name, by_alias[mx_name])
            elif isinstance(value, types.ModuleType):
                status = 'yes (``%s``)' % value.__name__
            else:
                status = absent or 'not yet'
            lines += ['   * - ``%s``' % mx_name, '     - %s' % status]
        lines.append('')
        return lines


def setup(app):
    app.connect('builder-inited', generate)
    app.add_directive('mxref-operator-support', OperatorSupport)
    app.add_directive('mxref-module-support', ModuleSupport)
    return {'version': '1', 'parallel_read_safe': True, 'parallel_write_safe': True}
