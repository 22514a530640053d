"""The documentation site: Sphinx, pydata-sphinx-theme, numpydoc, MyST.

Build it (warnings are errors, as tests/test_docs.py builds it)::

    python -m sphinx -W --keep-going -b dirhtml docs site

The pages stay plain Markdown (MyST), readable on the code host; the API
reference (api.md) is generated from the numpydoc docstrings. The pages'
order, the site's navigation, is NAV below: index.md gets it as a hidden
toctree when Sphinx reads it, so the file itself holds no Sphinx markup.
"""
import gdfast

project = "gdfast"
author = "the gdfast developers"
copyright = author
release = version = gdfast.__version__

# The navigation, in order, with the sidebar's short titles (index.md is
# the home page).
NAV = [
    ("Minimising", "minimize"),
    ("Denoising", "denoising"),
    ("Long runs", "long-runs"),
    ("Batches and nopython loops", "batches"),
    ("Beyond memory (Dask)", "distributed"),
    ("Calling the kernels", "kernels"),
    ("Optimizers", "optimizers"),
    ("Benchmarks", "benchmarks"),
    ("Design", "design"),
    ("API reference", "api"),
    ("References", "references"),
]

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "numpydoc",
]

root_doc = "index"
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build"]
templates_path = ["_templates"]

# MyST: the headings' anchors are GitHub's (`#the-defaults`), so that links
# such as [the defaults](denoising.md#the-defaults) work on the site and on
# the code host alike.
myst_heading_anchors = 3
# an unlabelled ``` block is output, not Python: no highlighting (as on the
# code host)
highlight_language = "text"

# autodoc + numpydoc: Parameters, Returns, Raises as numpy's reference shows
# them (one entry per name, its type beside it, its description below); the
# signatures without type hints (the entries state the types).
autodoc_typehints = "none"
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
autosummary_generate = False   # numpydoc loads autosummary; no stub pages
add_module_names = True
# `name` in a docstring links to the object when Sphinx knows it (numpy's
# convention), else it is set as code.
default_role = "py:obj"

html_theme = "pydata_sphinx_theme"
html_title = "gdfast"
html_static_path = ["_static"]
html_css_files = ["gdfast.css"]
html_show_sourcelink = False
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "navbar_center": [],          # the pages are in the left sidebar (site-nav.html)
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_sidebars = {"**": ["site-nav"]}


def _add_navigation(app, docname, source):
    """Append the hidden toctree of NAV to index.md as Sphinx reads it."""
    if docname == root_doc:
        entries = "".join(f"{title} <{page}>\n" for title, page in NAV)
        source[0] += "\n\n```{toctree}\n:hidden:\n:maxdepth: 2\n\n" + entries + "```\n"


def _skip_field_aliases(app, what, name, obj, skip, options):
    """Leave out a NamedTuple's 'Alias for field number k' properties: the
    class's own docstring describes its fields."""
    if (getattr(obj, "__doc__", None) or "").startswith("Alias for field number"):
        return True
    return None


# The checks of numpydoc's validation that the build holds every function,
# class and method of the reference to (as warnings, which -W makes errors):
# a Parameters section that misses an argument of the signature (PR01) or
# names one it does not have (PR02). numpydoc's own numpydoc_validation_checks
# is not used: it also reads the docstrings of members that autodoc looks at
# and leaves out (names a module imports), which the site does not show.
VALIDATION_CHECKS = {"PR01", "PR02"}
VALIDATION_EXCLUDE = {"gdfast.Status"}     # an Enum's signature is Enum's own


def _validate_reference(app, env):
    """numpydoc's VALIDATION_CHECKS on every object the API pages describe."""
    from numpydoc.validate import validate
    from sphinx.util import logging
    logger = logging.getLogger(__name__)
    objects = env.get_domain("py").objects
    for name, entry in sorted(objects.items()):
        if (entry.objtype not in ("function", "class", "method") or entry.aliased
                or name in VALIDATION_EXCLUDE):
            continue
        for code, message in validate(name)["errors"]:
            if code in VALIDATION_CHECKS:
                logger.warning("%s: %s %s", name, code, message,
                               location=(entry.docname, None))


def setup(app):
    app.connect("source-read", _add_navigation)
    app.connect("autodoc-skip-member", _skip_field_aliases)
    app.connect("env-check-consistency", _validate_reference)

