"""Sphinx extension: serve plotly.js with the site, on the pages that show an interactive figure.

The interactive 3-D figures of :mod:`ebp.plots.interactive` are HTML fragments (a ``<div
class="ebp-interactive">`` with the figure's JSON and a few lines of script) that need
plotly.js on the page.  The site must work offline, so no CDN: this extension copies the
``plotly.min.js`` that ships inside the installed plotly package (pinned in
requirements.lock, so the copied file is the same bytes in every build) to ``_static/`` and
adds ``<script defer src="_static/plotly.min.js">`` to exactly the pages whose doctree has
such a fragment in a raw HTML node, so that the other pages do not download its 4-5 MB.  A
small stylesheet added to the same pages hides the interactive figures in print, where the
static PNG beside each stands in for it.

No copy of plotly.min.js is kept in the repository: it is taken from the package at build time.
"""

from __future__ import annotations

import importlib.resources
import shutil
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.errors import ExtensionError

MARKER = 'class="ebp-interactive"'
"""What ``ebp.plots.interactive.surface_3d_html`` writes on its outer ``<div>``
(``INTERACTIVE_CLASS`` there; tests/test_interactive.py checks that the two agree)."""

JS_FILE = "plotly.min.js"
CSS_FILE = "ebp-interactive.css"
CSS = """/* Interactive figures (ebp.plots.interactive), served by book/_ext/ebp_plotly.py. */
.ebp-interactive { margin: 0.5rem 0 1rem; }
.ebp-interactive .ebp-plotly { color: #555; font-size: 0.9em; }
/* On paper a WebGL canvas cannot be turned: the static figure beside it stands in. */
@media print { .ebp-interactive { display: none !important; } }
"""
ENV_KEY = "ebp_interactive_docs"


def plotly_js_path() -> Path:
    """The ``plotly.min.js`` bundled in the installed plotly package."""
    try:
        source = importlib.resources.files("plotly") / "package_data" / JS_FILE
    except ModuleNotFoundError as exc:
        raise ExtensionError(
            "ebp_plotly: a page has an interactive figure but the plotly package is not "
            "installed; install the pinned versions (pip install -r requirements.lock)"
        ) from exc
    path = Path(str(source))
    if not path.is_file():
        raise ExtensionError(f"ebp_plotly: the plotly package has no {JS_FILE} at {path}")
    return path


def _docs(env: BuildEnvironment) -> set[str]:
    if not hasattr(env, ENV_KEY):
        setattr(env, ENV_KEY, set())
    return getattr(env, ENV_KEY)


def has_interactive_figure(doctree: nodes.Node) -> bool:
    """Whether a raw HTML node of ``doctree`` holds an interactive figure."""
    return any(
        "html" in node.get("format", "").split() and MARKER in node.astext()
        for node in doctree.findall(nodes.raw)
    )


def record(app: Sphinx, doctree: nodes.document) -> None:
    """At read time: note whether this document shows an interactive figure."""
    docs = _docs(app.env)
    docs.discard(app.env.docname)
    if has_interactive_figure(doctree):
        docs.add(app.env.docname)


def purge(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    _docs(env).discard(docname)


def merge(app: Sphinx, env: BuildEnvironment, docnames: set[str], other: BuildEnvironment) -> None:
    _docs(env).update(_docs(other) & set(docnames))


def _write_if_changed(target: Path, data: bytes) -> None:
    if not (target.is_file() and target.read_bytes() == data):
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def copy_assets(app: Sphinx, env: BuildEnvironment) -> None:
    """Before pages are written (so Sphinx can add its ``?v=`` checksum to the script tag):
    put plotly.min.js and the stylesheet into ``_static/`` if any page needs them."""
    if app.builder.format != "html" or not _docs(env):
        return
    static = Path(app.outdir) / "_static"
    source = plotly_js_path()
    target = static / JS_FILE
    if not (target.is_file() and target.read_bytes() == source.read_bytes()):
        static.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    _write_if_changed(static / CSS_FILE, CSS.encode("utf-8"))


def add_to_page(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """Add the script and stylesheet to this page only, if it shows an interactive figure."""
    if app.builder.format != "html" or pagename not in _docs(app.env):
        return
    app.add_js_file(JS_FILE, loading_method="defer")
    app.add_css_file(CSS_FILE)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("doctree-read", record)
    app.connect("env-purge-doc", purge)
    app.connect("env-merge-info", merge)
    app.connect("env-updated", copy_assets)
    app.connect("html-page-context", add_to_page)
    return {
        "version": "1.0",
        "env_version": 1,
        "parallel_read_safe": True,
        "parallel_write_safe": True,
    }
