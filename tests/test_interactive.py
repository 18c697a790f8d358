"""Interactive 3-D surfaces (ebp.plots.interactive) and the extension that serves plotly.js
(book/_ext/ebp_plotly.py).

The fragment must be the same bytes for the same input in every process (two clean builds of
the book are identical), carry the surface's values where plotly puts them, and reject bad
arguments by name.  The ``book`` test builds a two-page book (tests/interactive_book.py) and
checks that plotly.js is served from the site, on the page with the figure only.  The browser
checks are in tests/site/test_interactive_site.py.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from docutils import nodes
from docutils.utils import new_document

from ebp.landscape import Projection, Surface
from ebp.plots.interactive import (
    HEIGHT_PX,
    INTERACTIVE_CLASS,
    show_surface_3d,
    surface_3d_figure,
    surface_3d_html,
)

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "book" / "_ext"))
sys.path.insert(0, str(REPO / "tests"))

import ebp_plotly  # noqa: E402
import interactive_book  # noqa: E402

ID = "fig-unit-surface"


def make_surface(A: int = 7, B: int = 5) -> Surface:
    """A bowl on an A × B grid that is not square, so that a transposed z shows."""
    a, b = np.linspace(-1.0, 1.0, A), np.linspace(-0.5, 0.5, B)
    losses = a[:, None] ** 2 + 3.0 * b[None, :] ** 2 + 0.1 * a[:, None] * b[None, :]
    return Surface(a, b, losses, np.zeros(3), np.eye(2, 3))


def make_path(surface: Surface, T: int = 6) -> Projection:
    coords = np.column_stack([np.linspace(0.9, 0.0, T), np.linspace(-0.4, 0.0, T)])
    return Projection(coords, np.zeros(T), np.zeros(T), surface.origin, surface.directions)


def spec_of(fragment: str, element_id: str = ID) -> dict:
    """The figure JSON embedded in the fragment."""
    match = re.search(
        rf'<script type="application/json" id="{re.escape(element_id)}-spec">(.*?)</script>',
        fragment,
        re.DOTALL,
    )
    assert match, "the fragment holds its figure as JSON"
    return json.loads(match.group(1))


def decode(value: dict | list) -> np.ndarray:
    """An array as plotly serializes it: a list, or base64 bytes with a dtype and shape."""
    if isinstance(value, list):
        return np.asarray(value, dtype=float)
    array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
    if "shape" in value:
        array = array.reshape([int(n) for n in str(value["shape"]).split(",")])
    return array


# --------------------------------------------------------------------------- the fragment


def test_the_fragment_is_deterministic_in_one_process() -> None:
    surface = make_surface()
    path = make_path(surface)
    first = surface_3d_html(surface, element_id=ID, path=path)
    second = surface_3d_html(make_surface(), element_id=ID, path=make_path(make_surface()))
    assert first == second


def test_the_fragment_is_the_same_bytes_in_another_process() -> None:
    """No uuid, timestamp or hash-seed order: a fresh interpreter writes the same bytes."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import test_interactive as t; "
        "s = t.make_surface(); "
        "sys.stdout.write(t.surface_3d_html(s, element_id=t.ID, path=t.make_path(s)))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code, str(REPO / "tests")],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=300,
    ).stdout
    surface = make_surface()
    assert out == surface_3d_html(surface, element_id=ID, path=make_path(surface))


def test_the_fragment_has_the_id_the_class_and_no_remote_url() -> None:
    fragment = surface_3d_html(make_surface(), element_id=ID)
    assert f'<div id="{ID}" ' in fragment
    assert f'id="{ID}-spec"' in fragment
    assert f'var id = "{ID}";' in fragment
    assert fragment.startswith(f'<div class="{INTERACTIVE_CLASS}">')
    assert f"height: {HEIGHT_PX}px" in fragment and "width: 100%" in fragment
    assert "http://" not in fragment and "https://" not in fragment, "nothing from a CDN"
    assert "<script src" not in fragment, "plotly.js is served by the site, not the fragment"


def test_the_fragment_carries_the_surface_values() -> None:
    """plotly draws z[j][i] at (x[i], y[j]): the losses, transposed, bit for bit."""
    surface = make_surface(A=7, B=5)
    spec = spec_of(surface_3d_html(surface, element_id=ID))
    (trace,) = spec["data"]
    assert trace["type"] == "surface"
    z = decode(trace["z"])
    assert z.shape == (5, 7)
    assert z.size == surface.losses.size
    np.testing.assert_array_equal(z, surface.losses.T)
    np.testing.assert_array_equal(decode(trace["x"]), surface.alphas)
    np.testing.assert_array_equal(decode(trace["y"]), surface.betas)


def test_axis_titles_camera_and_config() -> None:
    spec = spec_of(surface_3d_html(make_surface(), element_id=ID))
    scene = spec["layout"]["scene"]
    titles = [scene[f"{k}axis"]["title"]["text"] for k in "xyz"]
    assert titles == ["α", "β", "loss"]
    assert set(scene["camera"]["eye"]) == {"x", "y", "z"}
    assert "title" not in spec["layout"], "no title unless asked for"
    assert spec["config"]["responsive"] is True
    assert spec["config"]["scrollZoom"] is False, "the wheel scrolls the page"
    assert spec["config"]["displaylogo"] is False


def test_labels_name_the_axes_and_the_hover_text() -> None:
    spec = spec_of(surface_3d_html(make_surface(), element_id=ID, labels=("w₁", "w₂")))
    scene = spec["layout"]["scene"]
    assert [scene[f"{k}axis"]["title"]["text"] for k in "xy"] == ["w₁", "w₂"]
    assert spec["data"][0]["hovertemplate"].startswith("w₁ = ")


def test_the_path_is_drawn_on_the_surface_or_at_its_losses() -> None:
    surface = make_surface()
    path = make_path(surface)
    fig = surface_3d_figure(surface, path=path)
    line, start, end = fig.data[1:]
    assert [line.name, start.name, end.name] == ["trajectory", "start", "end"]
    # The last point (0, 0) is a grid node of both axes: lifted to the loss there.
    i, j = np.argmin(np.abs(surface.alphas)), np.argmin(np.abs(surface.betas))
    np.testing.assert_allclose(np.asarray(line.z)[-1], surface.losses[i, j], atol=1e-12)
    losses = np.linspace(5.0, 0.5, path.coords.shape[0])
    fig = surface_3d_figure(surface, path=path, path_losses=losses)
    np.testing.assert_array_equal(np.asarray(fig.data[1].z), losses)
    assert fig.layout.showlegend is True


def test_a_title_is_escaped_and_labels_the_figure() -> None:
    fragment = surface_3d_html(make_surface(), element_id=ID, title="A </script> & <b>bowl</b>")
    assert fragment.count("</script>") == 2, "the title cannot end a script element"
    assert 'aria-label="A &lt;/script&gt; &amp; &lt;b&gt;bowl&lt;/b&gt;"' in fragment
    assert spec_of(fragment)["layout"]["title"]["text"] == "A </script> & <b>bowl</b>"


def test_show_surface_3d_is_the_fragment_as_html() -> None:
    surface = make_surface()
    shown = show_surface_3d(surface, element_id=ID)
    assert shown._repr_html_() == surface_3d_html(surface, element_id=ID)


def _one_d(s: Surface) -> Surface:
    return Surface(s.alphas, None, s.losses[:, 0], s.origin, s.directions[:1])


def _elsewhere(s: Surface) -> Projection:
    return Projection(np.zeros((2, 2)), np.zeros(2), np.zeros(2), s.origin + 1, s.directions)


BAD_INPUT = {
    "element_id not a str": ({"element_id": 3}, TypeError, "element_id"),
    "element_id empty": ({"element_id": ""}, ValueError, "element_id"),
    "element_id starts with a digit": ({"element_id": "1-fig"}, ValueError, "element_id"),
    "element_id with a space": ({"element_id": "has space"}, ValueError, "element_id"),
    "element_id with markup": ({"element_id": 'x"><script>'}, ValueError, "element_id"),
    "surface an array": ({"surface": lambda s: s.losses}, TypeError, "surface"),
    "surface 1-D": ({"surface": _one_d}, ValueError, "surface"),
    "path an array": ({"path": lambda s: np.zeros((4, 2))}, TypeError, "path"),
    "path of another plane": ({"path": _elsewhere}, ValueError, "path"),
    "path_losses without path": ({"path_losses": np.ones(3)}, ValueError, "path_losses"),
    "path_losses too short": (
        {"path": make_path, "path_losses": np.ones(2)},
        ValueError,
        "path_losses",
    ),
    "path_losses with NaN": (
        {"path": make_path, "path_losses": [1.0, np.nan, 1, 1, 1, 1]},
        ValueError,
        "path_losses",
    ),
    "title not a str": ({"title": 5}, TypeError, "title"),
    "labels one string": ({"labels": "ab"}, TypeError, "labels"),
    "labels three": ({"labels": ("a", "b", "c")}, TypeError, "labels"),
    "labels empty": ({"labels": ("a", " ")}, TypeError, "labels"),
}


@pytest.mark.parametrize("case", BAD_INPUT, ids=list(BAD_INPUT))
def test_bad_input_is_rejected_by_name(case: str) -> None:
    kwargs, error, name = BAD_INPUT[case]
    surface = make_surface()
    args = {"element_id": ID, "surface": surface}
    args |= {k: v(surface) if callable(v) else v for k, v in kwargs.items()}
    with pytest.raises(error, match=name):
        surface_3d_html(args.pop("surface"), **args)


# --------------------------------------------------------------------------- the extension


def _document(*raw: str) -> nodes.document:
    document = new_document("test")
    for text in raw:
        document += nodes.raw("", text, format="html")
    return document


def test_the_extension_looks_for_the_class_the_fragment_writes() -> None:
    assert ebp_plotly.MARKER == f'class="{INTERACTIVE_CLASS}"'
    fragment = surface_3d_html(make_surface(), element_id=ID)
    assert ebp_plotly.has_interactive_figure(_document("<p>x</p>", fragment))
    assert not ebp_plotly.has_interactive_figure(_document("<p>no figure</p>"))
    latex = new_document("test")
    latex += nodes.raw("", fragment, format="latex")
    assert not ebp_plotly.has_interactive_figure(latex)


def test_the_extension_serves_the_packaged_plotly_js() -> None:
    import plotly

    path = ebp_plotly.plotly_js_path()
    assert path.name == "plotly.min.js"
    assert path.is_relative_to(Path(plotly.__file__).parent)
    assert path.stat().st_size > 1_000_000


_SCRIPT_SRC = re.compile(r'<script\b[^>]*\bsrc="([^"]*)"')


@pytest.mark.book
def test_plotly_js_is_served_with_the_site_on_pages_that_need_it(tmp_path: Path) -> None:
    """A strict build of a two-page book: the page with a figure loads _static/plotly.min.js
    (the package's file, deferred, no CDN) and shows the fragment as computed here; the page
    without one loads no plotly.js."""
    proc, html = interactive_book.build_book(tmp_path)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    static = html / "_static" / "plotly.min.js"
    assert static.is_file(), "plotly.min.js is copied into the site"
    assert static.read_bytes() == ebp_plotly.plotly_js_path().read_bytes()

    page = (html / interactive_book.PAGE).read_text(encoding="utf-8")
    sources = _SCRIPT_SRC.findall(page)
    plotly_tags = [s for s in sources if "plotly" in s]
    assert len(plotly_tags) == 1 and plotly_tags[0].startswith("_static/plotly.min.js"), sources
    assert re.search(r'<script defer="defer" src="_static/plotly\.min\.js[^"]*">', page)
    assert not [s for s in sources if s.startswith(("http://", "https://", "//"))], sources
    assert 'href="_static/ebp-interactive.css' in page
    assert f'id="{interactive_book.ELEMENT_ID}"' in page
    # The kernel of the build wrote the same bytes as this process does.
    example: dict = {}
    exec(interactive_book.SETUP, example)
    fragment = surface_3d_html(
        example["surf"], element_id=interactive_book.ELEMENT_ID, path=example["path"]
    )
    assert fragment.strip() in page

    plain = (html / interactive_book.PLAIN_PAGE).read_text(encoding="utf-8")
    assert "plotly" not in plain, "a page without an interactive figure loads no plotly.js"
    assert "ebp-interactive.css" not in plain
