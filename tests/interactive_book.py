"""A two-page book with an interactive 3-D surface, built with jupyter-book for the tests of
``book/_ext/ebp_plotly.py`` (tests/test_interactive.py, ``book``) and of the figure in a
browser (tests/site/test_interactive_site.py, ``site``).

``intro`` has math and no interactive figure; ``surface`` shows one made by
``ebp.plots.interactive.show_surface_3d`` with the id :data:`ELEMENT_ID`, plus some math (MathJax
and plotly.js on one page).  The book uses the real book's strict flags and its offline
settings (MathJax served locally, no widget JavaScript from a CDN).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
JB = Path(sys.executable).parent / "jupyter-book"
BUILD_FLAGS = ["--path-output", ".", "--builder", "html", "-W", "-n", "--keep-going"]
ELEMENT_ID = "fig-test-surface-3d"
PAGE = "surface.html"
PLAIN_PAGE = "intro.html"

SETUP = """\
import numpy as np

from ebp.landscape import Projection, Surface

a, b = np.linspace(-1, 1, 21), np.linspace(-1, 1, 17)
surf = Surface(a, b, a[:, None] ** 2 + 3 * b[None, :] ** 2, np.zeros(2), np.eye(2))
t = np.linspace(0, 1, 12)[:, None]
coords = np.hstack([0.9 * (1 - t), -0.8 * (1 - t) ** 2])
path = Projection(coords, np.zeros(12), np.zeros(12), np.zeros(2), np.eye(2))
"""
"""The code that makes the page's surface ``surf`` and path ``path`` (run it to compare)."""

CONFIG = f"""\
title: "Interactive figure test book"
author: "ebp tests"
only_build_toc_files: true
exclude_patterns: [_build]
execute:
  execute_notebooks: cache
  cache: _build/.jupyter_cache
  timeout: 120
  allow_errors: false
  raise_on_error: true
parse:
  myst_enable_extensions: [dollarmath]
launch_buttons:
  thebe: false
html:
  favicon: favicon.svg
sphinx:
  extra_extensions: [sphinx-mathjax-offline]
  local_extensions:
    ebp_build: {REPO / "book" / "_ext"}
    ebp_plotly: {REPO / "book" / "_ext"}
  config:
    nb_ipywidgets_js: {{}}
    ebp_fingerprint_paths: []
    html_context:
      default_mode: auto
"""

TOC = """\
format: jb-book
root: intro
chapters:
  - file: surface
"""

INTRO = """\
# Test book

A page without interactive figures, with math: $E = \\frac{1}{2}(d - o)^2$.
"""

SURFACE = f"""\
---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# A surface

The loss $L(\\alpha, \\beta) = \\alpha^2 + 3\\beta^2$, to turn with the mouse.

```{{code-cell}} ipython3
{SETUP}
from ebp.plots.interactive import show_surface_3d

show_surface_3d(surf, element_id="{ELEMENT_ID}", path=path)
```
"""


def write_book(root: Path) -> Path:
    """Write the book's sources into ``root/book``; return that directory."""
    book = root / "book"
    book.mkdir(parents=True)
    files = {
        "_config.yml": CONFIG,
        "_toc.yml": TOC,
        "intro.md": INTRO,
        "surface.md": SURFACE,
    }
    for name, text in files.items():
        (book / name).write_text(text, encoding="utf-8")
    shutil.copy(REPO / "book" / "_static" / "favicon.svg", book / "favicon.svg")
    return book


def build_book(root: Path) -> tuple[subprocess.CompletedProcess, Path]:
    """Write and build the book under ``root``; return the process and ``_build/html``."""
    book = write_book(root)
    proc = subprocess.run(
        [str(JB), "build", ".", *BUILD_FLAGS],
        cwd=book,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return proc, book / "_build" / "html"
