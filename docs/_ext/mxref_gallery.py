"""sphinx-gallery helpers for the tutorials: show network graphs, and order the tutorials.

``graphviz_scraper``
    When a cell's last line is an expression whose value is a graph of the ``graphviz``
    package (what ``mx.viz.plot_network`` returns), render it to SVG beside the cell, as a
    notebook would display it.  Nothing else changes: assign the graph to a name and it is not
    shown.
``reset_mxref``
    Runs before each tutorial: fresh automatic names (``_plus0`` again) and attribute scope,
    so that a tutorial prints in the docs what it prints when run on its own.
``TutorialOrder``
    Sorts the tutorials in the order of the original MXNet documentation (NDArray, Symbol,
    Module, ..., see ``ORDER``); a tutorial not listed comes after those, by file name.

conf.py names both by their dotted path (``mxref_gallery.graphviz_scraper``), as
sphinx-gallery asks, so that the configuration stays picklable.
"""
import ast
import os

ORDER = ['ndarray_basics', 'symbol_api', 'module_api', 'module_synthetic', 'mnist_mlp', 'mnist_lenet',
         'char_lstm', 'char_lstm_sample', 'kvstore', 'visualization',
         'profiling_lenet']


def _last_statement_is_expression(code):
    try:
        body = ast.parse(code).body
    except SyntaxError:
        return False
    return bool(body) and isinstance(body[-1], ast.Expr)


def graphviz_scraper(block, block_vars, gallery_conf):
    """Render the graph a cell ends with as ``<image>.svg`` and return the reST showing it."""
    import graphviz
    from sphinx_gallery.scrapers import figure_rst

    # sphinx-gallery stores the value of a cell's final expression in the global '___'.
    if not _last_statement_is_expression(block.content):
        return ''
    value = block_vars['example_globals'].get('___')
    if not isinstance(value, (graphviz.Graph, graphviz.Digraph, graphviz.Source)):
        return ''
    image_path = os.path.splitext(next(block_vars['image_path_iterator']))[0] + '.svg'
    with open(image_path, 'wb') as f:
        # quiet: MXNet's fixed box size makes dot warn that wide labels overflow their box
        f.write(value.pipe(format='svg', quiet=True))
    return figure_rst([image_path], gallery_conf['src_dir'])


def reset_mxref(gallery_conf, fname):
    """Give the next tutorial the state of a fresh ``import mxref``."""
    import mxref as mx
    mx.name.NameManager.current = mx.name.NameManager()
    mx.AttrScope.current = mx.AttrScope()


class TutorialOrder:
    """Sort key for sphinx-gallery's ``within_subsection_order``."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        stem = os.path.splitext(os.path.basename(filename))[0]
        rank = ORDER.index(stem) if stem in ORDER else len(ORDER)
        return (rank, stem)

    def __repr__(self):
        return '<%s>' % self.__class__.__name__
