"""The built site, opened in headless Chromium: every page of the table of contents loads offline
without errors, its images decode, its internal links and anchors resolve, its math renders;
and the search page finds a chapter.

Run with ``make site-tests`` (after ``make book``); see ``conftest.py`` for the fixtures.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from posixpath import normpath
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

import pytest

if TYPE_CHECKING:
    from conftest import PageProbe

pytestmark = pytest.mark.site

SEARCH_QUERY = "backpropagation"
SEARCH_EXPECTED = "book/backpropagation.html"
MATHJAX_TIMEOUT_MS = 20_000


def _listing(items: list[str], limit: int = 20) -> str:
    shown = [f"  - {item}" for item in items[:limit]]
    if len(items) > limit:
        shown.append(f"  ... and {len(items) - limit} more")
    return "\n".join(shown)


# --------------------------------------------------------------------------- loading


def test_page_loads_offline_without_errors(opened: PageProbe, page_path: str) -> None:
    """HTTP 200, nothing fetched from elsewhere, no console errors, no uncaught exceptions."""
    probe = opened
    probe.assert_clean(f"{page_path} (opened as {probe.relative(probe.page.url)})")


# --------------------------------------------------------------------------- images

_IMAGES_JS = """
async () => {
  const images = Array.from(document.images);
  for (const img of images) if (img.loading === "lazy") img.loading = "eager";
  const timeout = new Promise((resolve) => setTimeout(resolve, 10000));
  await Promise.race([
    Promise.all(images.map((img) => img.decode().catch(() => null))),
    timeout,
  ]);
  return images.map((img) => ({
    src: img.currentSrc || img.src || img.getAttribute("src") || "",
    complete: img.complete,
    width: img.naturalWidth,
    alt: img.alt || "",
  }));
}
"""


def test_images_decode(opened: PageProbe, page_path: str) -> None:
    """Every ``<img>`` has loaded and decoded (``complete`` and ``naturalWidth > 0``)."""
    probe = opened
    images = probe.page.evaluate(_IMAGES_JS)
    broken = [
        f"{probe.relative(img['src']) or '(no src)'} (complete={img['complete']}, "
        f"naturalWidth={img['width']}, alt={img['alt']!r})"
        for img in images
        if not (img["complete"] and img["width"] > 0)
    ]
    assert not broken, (
        f"{page_path}: {len(broken)} of {len(images)} image(s) did not decode:\n" + _listing(broken)
    )


# --------------------------------------------------------------------------- links and anchors


class _AnchorParser(HTMLParser):
    """Collects the values of ``id`` and ``name`` attributes of an HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for key, value in attrs:
            if key in ("id", "name") and value:
                self.anchors.add(value)


def anchors_of(path: Path, cache: dict[Path, set[str]]) -> set[str]:
    """Ids and names in the HTML file ``path`` (cached)."""
    if path not in cache:
        parser = _AnchorParser()
        parser.feed(path.read_text(encoding="utf-8", errors="replace"))
        cache[path] = parser.anchors
    return cache[path]


def site_file(site_dir: Path, url_path: str) -> Path | None:
    """The file the server sends for ``url_path``, or None if it would answer 404."""
    relative = normpath(unquote(url_path).lstrip("/")) if url_path.strip("/") else "."
    if relative.startswith(".."):
        return None
    target = site_dir / relative
    if target.is_dir():
        target = target / "index.html"
    return target if target.is_file() else None


_LINKS_JS = """
() => Array.from(document.querySelectorAll("a[href]")).map((a) => ({
  href: a.getAttribute("href"),
  url: a.href,
  text: (a.textContent || "").trim().replace(/\\s+/g, " ").slice(0, 50),
}))
"""
_LIVE_ANCHORS_JS = """
() => Array.from(document.querySelectorAll("[id], [name]"))
  .flatMap((el) => [el.id, el.getAttribute("name")]).filter(Boolean)
"""


def test_internal_links_resolve(
    opened: PageProbe, page_path: str, anchor_cache: dict[Path, set[str]]
) -> None:
    """Every link to the same origin points at an existing file, and its #fragment (if any) at
    an element with that id or name there."""
    probe = opened
    links = probe.page.evaluate(_LINKS_JS)
    refresh = probe.refresh_target(page_path)
    if refresh is not None:
        links.append({"href": refresh, "url": probe.site_url + refresh, "text": "meta refresh"})
    origin = urlsplit(probe.site_url).netloc
    current = urlsplit(probe.page.url).path
    live_anchors = set(probe.page.evaluate(_LIVE_ANCHORS_JS))

    broken: list[str] = []
    checked: set[str] = set()
    for link in links:
        parts = urlsplit(link["url"])
        if parts.scheme not in ("http", "https") or parts.netloc != origin:
            continue  # mailto:, javascript:, external sites (not fetched: the checks are offline)
        if link["url"] in checked:
            continue
        checked.add(link["url"])
        label = f"{link['href']!r} ({link['text'] or 'no text'})"
        target = site_file(probe.site_dir, parts.path)
        if target is None:
            broken.append(f"{label}: no such file {parts.path}")
            continue
        fragment = unquote(parts.fragment)
        if not fragment or fragment == "top" or target.suffix != ".html":
            continue
        anchors = set(anchors_of(target, anchor_cache))
        if parts.path == current:
            anchors |= live_anchors
        if fragment not in anchors:
            broken.append(f"{label}: no element with id or name {fragment!r} in {parts.path}")
    assert not broken, (
        f"{page_path}: {len(broken)} broken internal link(s) (of {len(checked)} checked):\n"
        + _listing(broken)
    )


# --------------------------------------------------------------------------- math

_RAW_DOLLARS_JS = """
() => {
  const skip = "pre, code, script, style, textarea, mjx-container, .highlight";
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const found = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest(skip)) continue;
    const text = node.textContent;
    const at = text.indexOf("$$");
    if (at >= 0) found.push(text.slice(Math.max(0, at - 40), at + 40).replace(/\\s+/g, " "));
  }
  return found;
}
"""
_MATH_STATE_JS = """
() => ({
  containers: document.querySelectorAll("mjx-container").length,
  // Display equations wider than the text column are clipped on the page.
  overflowing: Array.from(document.querySelectorAll('mjx-container[display="true"]'))
    .filter((el) => el.scrollWidth > el.clientWidth + 2)
    .map((el) => `${el.scrollWidth}px in ${el.clientWidth}px: ` +
      (el.textContent || "").trim().replace(/\\s+/g, " ").slice(0, 60)),
  unrendered: Array.from(document.querySelectorAll(".math"))
    .filter((el) => !el.querySelector("mjx-container"))
    .map((el) => (el.textContent || "").trim().replace(/\\s+/g, " ").slice(0, 80)),
  errors: (() => {
    const message = (el) => el.getAttribute("data-mjx-error") || el.textContent || "error";
    const out = [];
    try {  // with the TeX source, from MathJax's list of typeset math
      for (const item of MathJax.startup.document.math) {
        const error = item.typesetRoot && item.typesetRoot.querySelector("mjx-merror");
        if (error) out.push(`${message(error)} in ${String(item.math).trim().slice(0, 80)}`);
      }
    } catch (e) {}
    if (out.length === 0)
      for (const error of document.querySelectorAll("mjx-merror")) out.push(message(error));
    return out;
  })(),
})
"""


# Called after the load event, when MathJax's deferred script has run if the page has it.
_MATHJAX_READY_JS = """
async (timeoutMs) => {
  if (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) return "is not loaded";
  const timeout = new Promise((resolve) => setTimeout(() => resolve("timeout"), timeoutMs));
  const done = MathJax.startup.promise.then(() => "ok", (error) => `failed: ${error}`);
  const result = await Promise.race([done, timeout]);
  return result === "timeout" ? `did not finish typesetting in ${timeoutMs / 1000} s` : result;
}
"""


def has_math(html: str) -> bool:
    """Whether a built page has math for MathJax (Sphinx's ``math`` spans and divs)."""
    return 'class="math' in html


def test_math_renders(opened: PageProbe, page_path: str) -> None:
    """Where the page has math, MathJax (served locally) typesets all of it without errors;
    on every page, no raw ``$$`` is left in the visible text."""
    probe = opened
    displayed = urlsplit(probe.page.url).path.lstrip("/")
    problems: list[str] = []
    if has_math(probe.source(displayed)):
        started = probe.page.evaluate(_MATHJAX_READY_JS, MATHJAX_TIMEOUT_MS)
        if started != "ok":
            pytest.fail(
                f"{page_path}: has math but MathJax {started} "
                "(is _static/mathjax/tex-chtml.js on the page and served?)\n"
                + "\n".join(probe.problems()),
                pytrace=False,
            )
        state = probe.page.evaluate(_MATH_STATE_JS)
        if state["containers"] == 0:
            problems.append("no <mjx-container>: MathJax typeset nothing")
        if state["unrendered"]:
            problems.append("math left untypeset:\n" + _listing(state["unrendered"]))
        if state["errors"]:
            problems.append("MathJax errors (mjx-merror):\n" + _listing(state["errors"]))
        if state["overflowing"]:
            problems.append(
                "display math wider than the page (split it with aligned):\n"
                + _listing(state["overflowing"])
            )
    raw = probe.page.evaluate(_RAW_DOLLARS_JS)
    if raw:
        problems.append("raw $$ in the visible text:\n" + _listing([repr(s) for s in raw]))
    assert not problems, f"{page_path}: " + "\n".join(problems)


# --------------------------------------------------------------------------- search

_SEARCH_DONE_JS = """
() => {
  const summary = document.querySelector("#search-results p.search-summary");
  return summary !== null && summary.textContent.trim().length > 0;
}
"""


def test_search_finds_a_chapter(probe: PageProbe) -> None:
    """Sphinx's search (searchtools.js and searchindex.js, loaded locally) finds the chapter on
    backpropagation."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    page_path = f"search.html?q={SEARCH_QUERY}"
    probe.open(page_path)
    try:
        probe.page.wait_for_function(_SEARCH_DONE_JS)
    except PlaywrightTimeoutError:
        pytest.fail(
            f"{page_path}: the search never finished (no #search-results p.search-summary)\n"
            + "\n".join(probe.problems()),
            pytrace=False,
        )
    probe.page.wait_for_load_state("networkidle")  # result summaries are fetched afterwards
    summary = probe.page.inner_text("#search-results p.search-summary")
    results = probe.page.eval_on_selector_all(
        "#search-results ul.search li a[href]", "(links) => links.map((a) => a.href)"
    )
    paths = [urlsplit(url).path.lstrip("/") for url in results]
    assert SEARCH_EXPECTED in paths, (
        f"{page_path}: no result links to {SEARCH_EXPECTED}. Search said {summary!r}; "
        "results:\n" + (_listing([probe.relative(u) for u in results]) or "  (none)")
    )
    probe.assert_clean(page_path)
