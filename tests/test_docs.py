"""The documentation: its examples run, its generated reference covers the code, it builds.

The fast tests run the ``>>>`` examples of the hand-written pages (``docs/*.rst``), check the
tutorial format, and check what ``docs/_ext/mxref_apidoc.py`` would generate (every public
module gets a page, every exported object is documented exactly once, every operator has an
entry).  The slow test runs the whole build, ``sphinx-build -W -b html docs ...``, tutorials
included.
"""
import ast
import doctest
import glob
import importlib.util
import inspect
import os
import shutil
import subprocess
import sys

import pytest

import mxref as mx

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, 'docs')
PAGES = sorted(p for p in glob.glob(os.path.join(DOCS, '*.rst'))
               if os.path.basename(p) != 'sg_execution_times.rst')   # written by the build
TUTORIALS = sorted(glob.glob(os.path.join(ROOT, 'tutorials', '[!_]*.py')))


def load_extension(name):
    """Import docs/_ext/<name>.py as a module (it is not a package on sys.path)."""
    spec = importlib.util.spec_from_file_location(name, os.path.join(DOCS, '_ext', name + '.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def apidoc():
    pytest.importorskip('sphinx')
    return load_extension('mxref_apidoc')


# ----------------------------------------------------------------------------------------------
# hand-written pages and tutorials
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize('page', PAGES, ids=[os.path.basename(p) for p in PAGES])
def test_page_examples_run(page):
    with mx.name.NameManager():
        result = doctest.testfile(page, module_relative=False, verbose=False, report=False,
                                  optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, '%d of the examples in %s failed (run: python -m doctest %s)' \
        % (result.failed, os.path.basename(page), page)


@pytest.mark.parametrize('script', TUTORIALS, ids=[os.path.basename(p) for p in TUTORIALS])
def test_tutorial_format(script):
    """A module docstring whose first lines are a title underlined with '=', and cells."""
    with open(script, encoding='utf-8') as f:
        source = f.read()
    docstring = ast.get_docstring(ast.parse(source), clean=True)
    assert docstring, '%s needs a module docstring (the page title)' % script
    lines = docstring.splitlines()
    assert len(lines) >= 2 and set(lines[1]) == {'='} and len(lines[1]) >= len(lines[0]), \
        '%s: the docstring must start with a title underlined with "="' % script
    assert '\n# %%' in source, '%s: separate its cells with "# %%%%" lines' % script


# ----------------------------------------------------------------------------------------------
# what the generator covers
# ----------------------------------------------------------------------------------------------
def test_every_public_module_gets_a_page(apidoc):
    public = apidoc.public_modules()
    assert list(public)[0] == 'mxref'
    assert public['mxref.ndarray'] == ['mx.nd', 'mx.ndarray']
    assert public['mxref.symbol'] == ['mx.sym', 'mx.symbol']
    assert public['mxref.visualization'] == ['mx.viz', 'mx.visualization']
    assert public['mxref.ndarray.random'] == ['mx.nd.random', 'mx.ndarray.random']
    # every module attribute of mxref has a page, public or internal
    internals = apidoc.internal_modules(public)
    for attr, value in vars(mx).items():
        if inspect.ismodule(value) and not attr.startswith('_') and value.__name__.startswith('mxref'):
            assert value.__name__ in public or value.__name__ in internals, attr
    assert not set(public) & set(internals)


def test_every_exported_object_is_documented_once(apidoc):
    public = apidoc.public_modules()
    homes = apidoc.object_homes(public)
    for name in public:
        module = importlib.import_module(name)
        for attr in apidoc.exported_names(module):
            home_module, home_attr = homes[id(getattr(module, attr))]
            assert getattr(importlib.import_module(home_module), home_attr) is getattr(module, attr)
    assert homes[id(mx.Context)] == ('mxref.context', 'Context')
    assert homes[id(mx.nd.NDArray)] == ('mxref.ndarray', 'NDArray')
    assert homes[id(mx.viz.plot_network)] == ('mxref.visualization', 'plot_network')
    # operator functions are documented on the operator pages, not as module members
    assert apidoc.is_operator_function(mx.nd.FullyConnected)
    assert apidoc.is_operator_function(mx.sym.exp)
    assert not apidoc.is_operator_function(mx.nd.zeros)
    assert 'FullyConnected' not in apidoc.exported_names(mx.nd)


def test_every_operator_has_an_entry(apidoc):
    families = apidoc.registered_operators()
    documented = [cls.op_name for classes in families.values() for cls in classes]
    from mxref.operator import base
    assert sorted(documented) == sorted(base._CANONICAL)

    from sphinx.ext.napoleon import Config            # the settings napoleon reads
    lines = apidoc.operator_section(mx.operator.get('FullyConnected'),
                                    Config(napoleon_use_rtype=False))
    text = '\n'.join(lines)
    assert '.. _op-FullyConnected:' in text
    assert 'mxref.ndarray.FullyConnected(data=None, weight=None, bias=None, num_hidden=None' in text
    assert ":Inputs (with default parameters): ``data``, ``weight``, ``bias``" in text
    assert '``num_hidden``' in text and 'required' in text and 'dy · W' in text


def test_mxnet_operator_list_is_recorded(apidoc):
    names = apidoc.mxnet_operator_names()
    assert len(names) == 270 and 'FullyConnected' in names and 'Convolution' in names


# ----------------------------------------------------------------------------------------------
# the build
# ----------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_docs_build(tmp_path):
    """``sphinx-build -W -b html docs`` succeeds: every tutorial runs, no warning."""
    pytest.importorskip('sphinx')
    pytest.importorskip('sphinx_gallery')
    if shutil.which('dot') is None:
        pytest.skip("Graphviz's dot is not installed (apt-get install graphviz)")
    out = tmp_path / 'html'
    result = subprocess.run(
        [sys.executable, '-m', 'sphinx', '-W', '-b', 'html', '-d', str(tmp_path / 'doctrees'),
         DOCS, str(out)], cwd=ROOT, capture_output=True, text=True, timeout=3600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    for page in ('index.html', 'architecture.html', 'coming_from_mxnet.html',
                 'api/generated/modules/mxref.visualization.html',
                 'api/generated/operators/mxref.operator.nn.html', 'auto_tutorials/index.html'):
        assert (out / page).is_file(), page
    for script in TUTORIALS:
        stem = os.path.splitext(os.path.basename(script))[0]
        assert (out / 'auto_tutorials' / (stem + '.html')).is_file(), stem


def test_each_tutorial_starts_with_fresh_names():
    pytest.importorskip('sphinx_gallery')
    gallery = load_extension('mxref_gallery')
    a = mx.sym.Variable('a')
    a + a                                             # moves the automatic-name counter
    gallery.reset_mxref({}, 'tutorials/x.py')
    assert (a + a).name == '_plus0'
    order = gallery.TutorialOrder('tutorials')
    assert sorted(['zzz.py', 'symbol_api.py', 'ndarray_basics.py'], key=order) == \
        ['ndarray_basics.py', 'symbol_api.py', 'zzz.py']
