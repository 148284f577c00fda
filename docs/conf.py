"""Sphinx configuration of the sklearn_order documentation.

Build (from the repository root)::

    pip install -e ".[docs]" && sphinx-build -W -b html docs docs/_build/html
"""

import os
from pathlib import Path

import sklearn_order

project = "sklearn_order"
author = "the sklearn_order developers"
copyright = "2026, the sklearn_order developers"
version = release = sklearn_order.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    # MathJax served from the built site, not a CDN: formulas render offline
    "sphinx-mathjax-offline",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext"}
exclude_patterns = [
    "_build",
    "study/*.md",
    "benchmarks/*.md",
    "benchmarks/*/*.md",
    "auto_examples/*.ipynb",
    "_intersphinx",
]
templates_path = ["_templates"]

# Links into scikit-learn, NumPy, SciPy and Dask. The build has no network
# (CI included), so the inventories are files in _intersphinx/, written from
# the installed packages by _intersphinx/make_inventories.py.
intersphinx_mapping = {
    "sklearn": ("https://scikit-learn.org/stable/", "_intersphinx/sklearn.inv"),
    "numpy": ("https://numpy.org/doc/stable/", "_intersphinx/numpy.inv"),
    "scipy": ("https://docs.scipy.org/doc/scipy/", "_intersphinx/scipy.inv"),
    "dask": ("https://distributed.dask.org/en/stable/", "_intersphinx/dask.inv"),
}

autosummary_generate = True
# Our own methods only: scikit-learn's inherited and metadata-routing methods
# (score, get_params, set_*_request, …) are documented by scikit-learn.
autodoc_default_options = {
    "members": True,
    "inherited-members": False,
    "exclude-members": ",".join(
        f"set_{method}_request"
        for method in ("fit", "partial_fit", "score", "predict", "predict_proba")
    ),
}
# API pages are titled by the short name (the signature gives the module), and
# their "On this page" lists the methods by name alone, so neither is broken
# mid-word to fit
toc_object_entries_show_parents = "hide"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

html_theme = "pydata_sphinx_theme"
html_title = f"sklearn_order {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_prev_next": False,
    # every top-level page in the navbar at 1400 px, none under "More"
    "header_links_before_dropdown": 9,
    # "On this page" lists subsections too
    "show_toc_level": 2,
    # the examples' pages have no sections to list: their code gets the width
    "secondary_sidebar_items": {
        "**": ["page-toc", "sourcelink"],
        **{
            f"auto_examples/{example.stem}": []
            for example in (Path(__file__).parents[1] / "examples").glob("*.py")
        },
    },
}
# The left "Section Navigation" sidebar lists a section's sub-pages: only the
# API reference (its generated pages), the benchmarks and the gallery have
# any, so the other top-level pages go without it (it would be empty).
html_sidebars = {
    page.stem: []
    for page in Path(__file__).parent.glob("*.rst")
    if page.stem not in ("api", "benchmarks")
}
# The benchmark detail pages give their wide tables the article's full width;
# the summary page (its sidebar lists them) links each one.
html_sidebars["benchmarks/*"] = []
html_static_path = ["_static"]
html_css_files = ["custom.css"]

myst_enable_extensions = ["dollarmath"]
# The benchmark pages include parts of generated reports under their own
# title, so those parts start at "##"
suppress_warnings = ["myst.header"]

# The examples run at build time (each under ~20 s on two cores), so a broken
# example fails the build; ``-D plot_gallery=0`` skips running them while
# working on the pages.
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "within_subsection_order": "FileNameSortKey",
    "show_memory": False,
    "matplotlib_animations": False,
}
os.environ.setdefault("MPLBACKEND", "Agg")
