"""The interactive 3-D surface in headless Chromium: it renders (WebGL), loads offline without
console errors, turns when dragged, gives way to the static figure in print, and a page without
one loads no plotly.js.

The real book's site (``_build/html``, checked by test_site.py) has no page that is sure to
carry an interactive figure, and these checks must not depend on which chapter does; so this
module builds the two-page book of tests/interactive_book.py itself (about 20 s, once) and
serves it on its own port.  It is ``site``-marked: it needs the browser, and ``make test``
runs it with the other browser checks (``make site-tests``).
"""

from __future__ import annotations

import functools
import http.server
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import interactive_book

pytestmark = pytest.mark.site

FIGURE = interactive_book.ELEMENT_ID

_STATE_JS = """
(id) => {
  const el = document.getElementById(id);
  const box = (node) => {
    if (!node) return null;
    const r = node.getBoundingClientRect();
    return {width: r.width, height: r.height};
  };
  const canvas = el && el.querySelector("canvas");
  const scene = el && el._fullLayout && el._fullLayout.scene;
  return {
    plotly: typeof window.Plotly === "object" && window.Plotly !== null,
    webgl: Boolean(document.createElement("canvas").getContext("webgl")),
    div: box(el),
    svg: box(el && el.querySelector(".main-svg")),
    canvas: box(canvas),
    eye: scene ? {...scene.camera.eye} : null,
  };
}
"""

_DRAWN_JS = """
(id) => {
  const el = document.getElementById(id);
  return Boolean(el && el._fullLayout && el.querySelector(".gl-container canvas"));
}
"""

_LISTEN_JS = """
(id) => {
  window.__ebpRelayouts = [];
  document.getElementById(id).on("plotly_relayout", (event) => {
    window.__ebpRelayouts.push(Object.keys(event));
  });
}
"""


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The two-page book, built once for this module."""
    proc, html = interactive_book.build_book(tmp_path_factory.mktemp("interactive"))
    if proc.returncode != 0:
        pytest.fail(
            "the book with an interactive figure did not build:\n"
            + proc.stdout[-4000:]
            + proc.stderr[-4000:],
            pytrace=False,
        )
    return html


@pytest.fixture(scope="module")
def served(built: Path) -> Iterator[str]:
    """That site served on loopback (a free port); its base URL ends in ``/``."""
    handler = functools.partial(_QuietHandler, directory=str(built))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def page_probe(browser: Any, served: str, built: Path) -> Iterator[Any]:
    """A fresh page (own context) on that site that records errors and blocks other hosts."""
    from conftest import new_probe

    with new_probe(browser, served, built) as probe:
        probe.page.set_viewport_size({"width": 1400, "height": 900})
        yield probe


@pytest.fixture(scope="module")
def figure_page(browser: Any, served: str, built: Path) -> Iterator[Any]:
    """The page with the figure, opened once (at 1400 px) for the checks that follow, until
    it is drawn; fails, with what went wrong, if it never is."""
    from conftest import new_probe
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    with new_probe(browser, served, built) as probe:
        probe.page.set_viewport_size({"width": 1400, "height": 900})
        probe.open(interactive_book.PAGE)
        try:
            probe.page.wait_for_function(_DRAWN_JS, arg=FIGURE)
        except PlaywrightTimeoutError:
            state = probe.page.evaluate(_STATE_JS, FIGURE)
            hint = (
                ""
                if state["webgl"]
                else " WebGL is not available in this Chromium: it needs SwiftShader "
                "(--use-angle=swiftshader --enable-unsafe-swiftshader, see tests/site/browser.py)."
            )
            pytest.fail(
                f"{interactive_book.PAGE}: the figure #{FIGURE} was never drawn ({state}).{hint}\n"
                + "\n".join(probe.problems()),
                pytrace=False,
            )
        yield probe


def test_the_figure_renders_offline_without_errors(figure_page: Any) -> None:
    """plotly.js comes from the site, the plot fills the column at its height, its WebGL
    canvas and its SVG layer have a size, and nothing is logged as an error."""
    state = figure_page.page.evaluate(_STATE_JS, FIGURE)
    assert state["plotly"], "window.Plotly is defined (served from _static/)"
    assert state["div"]["width"] > 300 and state["div"]["height"] > 400, state
    assert state["canvas"]["width"] > 0 and state["canvas"]["height"] > 0, state
    assert state["svg"]["width"] > 0 and state["svg"]["height"] > 0, state
    figure_page.assert_clean(f"{interactive_book.PAGE}, interactive figure #{FIGURE}")


def test_a_drag_turns_the_surface(figure_page: Any) -> None:
    """Dragging across the plot moves the camera (plotly reports the new scene.camera)."""
    page = figure_page.page
    before = page.evaluate(_STATE_JS, FIGURE)["eye"]
    page.evaluate(_LISTEN_JS, FIGURE)
    plot = page.locator(f"#{FIGURE}")
    plot.scroll_into_view_if_needed()
    box = plot.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 120, y + 30, steps=5)
    page.mouse.up()
    page.wait_for_function("() => window.__ebpRelayouts.length > 0")
    after = page.evaluate(_STATE_JS, FIGURE)["eye"]
    moved = max(abs(after[k] - before[k]) for k in "xyz")
    assert moved > 0.05, f"the camera did not turn: eye {before} -> {after}"
    assert ["scene.camera"] in page.evaluate("() => window.__ebpRelayouts")
    figure_page.assert_clean(f"{interactive_book.PAGE}, after a drag on #{FIGURE}")


def test_print_shows_the_static_figure_instead(figure_page: Any) -> None:
    """In print the interactive figure is hidden (the chapter's PNG stands in for it)."""
    page = figure_page.page
    shown = "(id) => getComputedStyle(document.getElementById(id)).display"
    assert page.evaluate(shown, FIGURE) != "none"
    page.emulate_media(media="print")
    display = page.evaluate(
        "(id) => getComputedStyle(document.getElementById(id).closest('.ebp-interactive')).display",
        FIGURE,
    )
    page.emulate_media(media="screen")
    assert display == "none"


def test_a_page_without_a_figure_loads_no_plotly(page_probe: Any) -> None:
    requested: list[str] = []
    page_probe.page.on("request", lambda request: requested.append(request.url))
    page_probe.open(interactive_book.PLAIN_PAGE)
    assert not [url for url in requested if "plotly" in url], requested
    assert page_probe.page.evaluate("() => typeof window.Plotly") == "undefined"
    page_probe.assert_clean(interactive_book.PLAIN_PAGE)
