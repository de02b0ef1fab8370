"""Sphinx configuration of the mxref documentation.

Build from the repository root (warnings are errors)::

    sphinx-build -W -b html docs docs/_build/html

The build imports ``mxref`` from this checkout (so build the Cython kernels first:
``python setup.py build_ext --inplace``), executes every script in ``tutorials/`` with
``MXREF_DOCS_FAST=1`` in the environment, and generates the API and operator reference from
the code (``docs/_ext/mxref_apidoc.py``).  Graphviz's ``dot`` must be installed: it draws the
tutorials' networks and the architecture diagram.
"""
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)                              # this checkout's mxref
sys.path.insert(0, os.path.join(HERE, '_ext'))        # the extensions below

# Tutorials read MXREF_DOCS_FAST to train briefly during the docs build (see
# docs/writing_tutorials.rst).  Set MXREF_DOCS_FAST=0 to build with the full runs.
os.environ.setdefault('MXREF_DOCS_FAST', '1')

if shutil.which('dot') is None:
    raise RuntimeError("Graphviz's 'dot' program is needed to build the docs (it draws the "
                       "networks in the tutorials and the diagrams): apt-get install graphviz")

import mxref  # noqa: E402  (after the sys.path change)

project = 'mxref'
author = 'the mxref authors'
copyright = 'the mxref authors; Apache MXNet is a trademark of the Apache Software Foundation'
version = release = mxref.__version__

extensions = [
    'sphinx.ext.autodoc',
    'sphinx.ext.napoleon',
    'sphinx.ext.mathjax',
    'sphinx.ext.viewcode',
    'sphinx.ext.graphviz',
    'sphinx_gallery.gen_gallery',
    'mxref_apidoc',
]

exclude_patterns = ['_build', '_data', '**/*.inc']      # .inc: generated parts of pages
html_theme = 'alabaster'
html_theme_options = {'description': "Apache MXNet 1.x's classic API as readable Python",
                      'page_width': '1240px', 'sidebar_width': '240px'}
html_title = 'mxref %s' % release

# numpy-style docstrings everywhere
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
autodoc_member_order = 'bysource'
autodoc_typehints = 'none'
add_module_names = False

graphviz_output_format = 'svg'

# The docs build runs every tutorial and fails on the first error.
sphinx_gallery_conf = {
    'examples_dirs': os.path.join(ROOT, 'tutorials'),
    'gallery_dirs': 'auto_tutorials',
    'filename_pattern': r'.*\.py$',               # execute every script, not only plot_*
    'ignore_pattern': r'(^|/)_',                  # helper modules start with an underscore
    'abort_on_example_error': True,
    'only_warn_on_example_error': False,
    'within_subsection_order': 'mxref_gallery.TutorialOrder',
    'image_scrapers': ('mxref_gallery.graphviz_scraper',),
    # the scraper draws graphs (mx.viz.plot_network returns a mxref.visualization.Network)
    'ignore_repr_types': r'graphviz\.|mxref\.visualization\.Network',
    'capture_repr': ('__repr__',),
    'download_all_examples': False,
    'remove_config_comments': True,
    'show_memory': False,
    'plot_gallery': 'True',
    'reset_modules': ('mxref_gallery.reset_mxref',),  # fresh names before each tutorial
    'first_notebook_cell': None,
}
try:                                             # a tutorial may draw with matplotlib
    import matplotlib  # noqa: F401
    sphinx_gallery_conf['image_scrapers'] += ('matplotlib',)
except ImportError:
    pass
