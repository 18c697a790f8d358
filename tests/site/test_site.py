"""The built site, opened in headless Chromium: every page of the table of contents loads offline
without errors, its images decode, its internal links and anchors resolve, its math renders;
and the search page finds a chapter.

Run with ``make site-tests`` (after ``make book``); see ``conftest.py`` for the fixtures.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from posixpath import normpath
from typing import TYPE_CHECKING, Any
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
    // MathJax shows a TeX error in one of two ways: a parse error becomes an <mjx-merror>
    // (red box); an undefined control sequence such as \\* does not fail the parse: the
    // "noundefined" package (in tex-chtml.js) draws its name as red text, an <mtext> with
    // mathcolor set, and no merror. CHTML draws characters with CSS, so the text is read from
    // MathJax's internal MathML tree, not the DOM.
    const isUndefinedMacro = (node) => node.isKind("mtext") &&
      Boolean(node.attributes.get("mathcolor")) && node.getText().startsWith("\\\\");
    const out = [];
    try {  // with the TeX source, from MathJax's list of typeset math
      for (const item of MathJax.startup.document.math) {
        const source = String(item.math).trim().replace(/\\s+/g, " ").slice(0, 80);
        const error = item.typesetRoot && item.typesetRoot.querySelector("mjx-merror");
        if (error) out.push(`${message(error)} in ${source}`);
        if (!item.root) continue;
        item.root.walkTree((node) => {
          if (isUndefinedMacro(node))
            out.push(`undefined control sequence ${node.getText()} (drawn in red) in ${source}`);
        });
      }
    } catch (e) {}
    if (out.length === 0) {  // without MathJax's list: what the DOM shows
      for (const error of document.querySelectorAll("mjx-merror")) out.push(message(error));
      const red = document.querySelectorAll('mjx-container mjx-mtext[style*="color: red"], ' +
        'mjx-container mjx-mtext[style*="color:red"]');
      if (red.length) out.push(`${red.length} piece(s) of math drawn in red (undefined macros?)`);
    }
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
    """Where the page has math, MathJax (served locally) typesets all of it without errors
    (undefined macros such as ``\\*`` included); on every page, no raw ``$$`` is left in the
    visible text."""
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
            problems.append(
                "MathJax errors (mjx-merror, or an undefined macro in red):\n"
                + _listing(state["errors"])
            )
        if state["overflowing"]:
            problems.append(
                "display math wider than the page (split it with aligned):\n"
                + _listing(state["overflowing"])
            )
    raw = probe.page.evaluate(_RAW_DOLLARS_JS)
    if raw:
        problems.append("raw $$ in the visible text:\n" + _listing([repr(s) for s in raw]))
    assert not problems, f"{page_path}: " + "\n".join(problems)


# --------------------------------------------------------------------------- exercises

_CHAPTER_NUMBER = re.compile(r'<h1><span class="section-number">(\d+)\. </span>')
_EXERCISE_NUMBER = re.compile(r'<span class="caption-number">Exercise ([\d.]+) </span>')


def test_exercises_numbered_per_chapter(opened: PageProbe, page_path: str) -> None:
    """Exercises are numbered within their chapter: "Exercise 9.1", "Exercise 9.2", ... in a
    chapter numbered 9 (the chapter's number is in its title)."""
    html = opened.source(urlsplit(opened.page.url).path.lstrip("/"))
    numbers = _EXERCISE_NUMBER.findall(html)
    if not numbers:
        return
    chapter = _CHAPTER_NUMBER.search(html)
    assert chapter, f"{page_path}: has exercises {numbers} but its title has no chapter number"
    expected = [f"{chapter.group(1)}.{k}" for k in range(1, len(numbers) + 1)]
    assert numbers == expected, f"{page_path}: exercises numbered {numbers}, not {expected}"


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


# --------------------------------------------------------------------------- navigation

# Phone and desktop: below 992 px the sidebars are dialogs opened by the header's buttons; from
# 1200 px both sidebars are shown beside the text and the primary one can be collapsed.
VIEWPORTS = {"390px": 390, "1400px": 1400}
VIEWPORT_HEIGHT = 800
WIDE = 1200  # from here on the page contents ("On this page") sit beside the text


def chapter_pages(site_dir: Path) -> list[str]:
    """The pages of the table of contents except the root, index.html and search.html."""
    from conftest import EXTRA_PAGES, pages_from_toc, toc_file

    pages = pages_from_toc(toc_file(site_dir))
    return [page for page in pages[1:] if page not in EXTRA_PAGES]


def _visible(locator: Any) -> list[Any]:
    return [item for item in locator.all() if item.is_visible()]


def _open_at(probe: PageProbe, path: str, width: int) -> None:
    probe.page.set_viewport_size({"width": width, "height": VIEWPORT_HEIGHT})
    probe.open(path)


def _the_visible(probe: PageProbe, selector: str, what: str) -> Any:
    shown = _visible(probe.page.locator(selector))
    assert len(shown) == 1, f"expected one visible {what} ({selector}), found {len(shown)}"
    return shown[0]


@pytest.mark.parametrize("width", VIEWPORTS.values(), ids=VIEWPORTS.keys())
def test_primary_sidebar_opens_and_navigates(probe: PageProbe, width: int) -> None:
    """The table of contents can be reached at any width: the sidebar button shows it (below
    992 px it is hidden until then; on a desktop it collapses and comes back), and a chapter
    link in it is clickable and opens that chapter."""
    from playwright.sync_api import expect

    page, target = chapter_pages(probe.site_dir)[:2]
    _open_at(probe, page, width)
    href = Path(target).name  # chapters sit side by side in book/
    link = probe.page.locator(f'.bd-docs-nav a.reference.internal[href="{href}"]')
    toggle = _the_visible(probe, ".primary-toggle", "primary sidebar button")
    where = f"{page} at {width}px"
    if link.is_visible():  # a desktop: the sidebar is open, the button collapses it
        toggle.click()
        expect(link, f"{where}: the sidebar button does not collapse the sidebar").to_be_hidden()
    toggle.click()
    expect(link, f"{where}: the sidebar button does not show the sidebar").to_be_visible()
    link.click()
    probe.page.wait_for_url(probe.site_url + target)
    expect(probe.page.locator(".bd-article h1").first).to_be_visible()
    probe.assert_clean(f"{page} at {width}px, sidebar link to {target}")


@pytest.mark.parametrize("width", VIEWPORTS.values(), ids=VIEWPORTS.keys())
def test_page_contents_open_and_scroll(probe: PageProbe, width: int) -> None:
    """The page contents ("On this page", the secondary sidebar) are shown beside the text on
    a desktop and opened by their button on a phone; following a link in them brings that
    section to the top of the window, with the contents out of the way."""
    from playwright.sync_api import expect

    page = chapter_pages(probe.site_dir)[0]
    _open_at(probe, page, width)
    links = probe.page.locator(".bd-sidebar-secondary nav.page-toc a.nav-link[href^='#']")
    last = links.last  # the farthest section: the page must scroll to it
    where = f"{page} at {width}px"
    if width < WIDE:
        expect(last, f"{where}: page contents shown before asking").to_be_hidden()
        _the_visible(probe, ".secondary-toggle", "page contents button").click()
    else:
        assert not _visible(probe.page.locator(".secondary-toggle")), (
            f"{where}: a page contents button is shown although the contents are"
        )
    expect(last, f"{where}: the page contents are not shown").to_be_visible()
    fragment = (last.get_attribute("href") or "#").lstrip("#")
    last.click()
    probe.page.wait_for_url(f"**#{fragment}")
    if width < WIDE:  # the dialog closes once a section is chosen
        expect(last, f"{where}: the page contents stay over the text").to_be_hidden()
    position = probe.page.evaluate(
        """(id) => ({
          top: document.getElementById(decodeURIComponent(id)).getBoundingClientRect().top,
          scrolled: window.scrollY,
        })""",
        fragment,
    )
    # The last section may end the page, which then cannot bring it to the very top.
    assert position["scrolled"] > 0 and 0 <= position["top"] < VIEWPORT_HEIGHT * 0.75, (
        f"{where}: after following its link in the page contents, section #{fragment} is "
        f"{position['top']:.0f}px from the top of the window "
        f"(page scrolled by {position['scrolled']:.0f}px)"
    )
    probe.assert_clean(f"{where}, page contents link to #{fragment}")


@pytest.mark.parametrize("width", VIEWPORTS.values(), ids=VIEWPORTS.keys())
def test_one_header_bar(probe: PageProbe, width: int) -> None:
    """The page starts with the article's header bar (sidebar button, search, page contents):
    the theme's own, empty top bar with a second search box is not shown."""
    page = chapter_pages(probe.site_dir)[0]
    _open_at(probe, page, width)
    header = _the_visible(probe, ".bd-header-article", "article header")
    box = header.bounding_box()
    assert box is not None and box["y"] < 1, f"{page} at {width}px: article header at {box}"
    shown = [
        el.evaluate("(el) => el.className")
        for el in _visible(probe.page.locator("#pst-header, #pst-header *"))
    ]
    assert not shown, f"{page} at {width}px: the theme's top bar is shown: {shown}"


# --------------------------------------------------------------------------- reading

_HEADINGS_JS = """
() => ["h1", "h2", "h3"].map((tag) => {
  const el = document.querySelector(`.bd-article ${tag}`);
  if (!el) return null;
  const style = getComputedStyle(el);
  return {tag, size: parseFloat(style.fontSize), weight: parseInt(style.fontWeight, 10)};
})
"""


def test_heading_hierarchy(probe: PageProbe) -> None:
    """On a chapter with all three levels, h1 > h2 > h3 by size, and none is bolder than the
    level above it."""
    pages = [
        page
        for page in chapter_pages(probe.site_dir)
        if "<h3" in probe.source(page) and "<h2" in probe.source(page)
    ]
    assert pages, "no chapter has an h3 to compare with its h2"
    probe.open(pages[0])
    levels = probe.page.evaluate(_HEADINGS_JS)
    assert all(levels), f"{pages[0]}: missing heading level: {levels}"
    h1, h2, h3 = levels
    assert h1["size"] > h2["size"] > h3["size"], f"{pages[0]}: heading sizes {levels}"
    assert h1["weight"] >= h2["weight"] >= h3["weight"], f"{pages[0]}: heading weights {levels}"


_WIDE_PRE_JS = """
() => Array.from(document.querySelectorAll(".bd-article pre"))
  .filter((el) => el.getClientRects().length > 0 && el.scrollWidth > el.clientWidth + 1)
  .map((el) => `${el.scrollWidth}px in ${el.clientWidth}px: ` +
    ((el.textContent || "").split("\\n").reduce((a, b) => (b.length > a.length ? b : a), ""))
      .trim().slice(0, 70))
"""


@pytest.fixture(scope="module")
def at_desktop_width(browser: Any, site_url: str, site_dir: Path) -> dict[str, list[Any]]:
    """Every chapter page opened once at 1400 px: its code blocks that scroll sideways, its
    images' natural and shown widths, and its tables that scroll sideways (three checks, one
    page load each)."""
    from conftest import new_probe

    found: dict[str, list[Any]] = {"pre": [], "images": [], "tables": []}
    with new_probe(browser, site_url, site_dir) as probe:
        probe.page.set_viewport_size({"width": 1400, "height": VIEWPORT_HEIGHT})
        for page in chapter_pages(site_dir):
            probe.open(page)
            found["pre"] += [f"{page}: {item}" for item in probe.page.evaluate(_WIDE_PRE_JS)]
            found["images"] += [
                {**img, "page": page} for img in probe.page.evaluate(_FIGURE_SCALE_JS)
            ]
            found["tables"] += [f"{page}: {t}" for t in probe.page.evaluate(_WIDE_TABLE_JS)]
    return found


def test_code_fits_the_column(at_desktop_width: dict[str, list[Any]]) -> None:
    """On a desktop (1400 px), no visible code or output block scrolls sideways: code cells
    stay within 80 columns, and so do the outputs they print."""
    offenders = at_desktop_width["pre"]
    assert not offenders, (
        f"{len(offenders)} code block(s) wider than the text column at 1400px "
        "(shorten the line):\n" + _listing(offenders, limit=40)
    )


# --------------------------------------------------------------------------- figures

MIN_FIGURE_SCALE = 0.8  # shown at less than this, a figure's 10-pt text is under 9 CSS px

_FIGURE_SCALE_JS = """
async () => {
  const images = Array.from(document.querySelectorAll("article img"));
  await Promise.all(images.map((img) => img.decode().catch(() => null)));
  return images.map((img) => ({
    id: (img.closest("figure") || {}).id || img.getAttribute("src"),
    natural: img.naturalWidth,
    shown: img.getBoundingClientRect().width,
  }));
}
"""


def test_figures_are_shown_near_their_natural_size(at_desktop_width: dict[str, list[Any]]) -> None:
    """On a desktop (1400 px) every figure is shown at no less than 0.8 of its natural width,
    so the text in it reads at the size it was drawn (ebp.plots.style.MAX_FIGURE_WIDTH)."""
    images = at_desktop_width["images"]
    shrunk = [
        f"{img['page']}#{img['id']}: {img['natural']} px shown at {img['shown']:.0f} px "
        f"(scale {img['shown'] / img['natural'] if img['natural'] else 0.0:.2f})"
        for img in images
        if not img["natural"] or img["shown"] / img["natural"] < MIN_FIGURE_SCALE
    ]
    assert images, "the chapters have figures"
    assert not shrunk, (
        f"{len(shrunk)} figure(s) shown at less than {MIN_FIGURE_SCALE} of their size at 1400px "
        "(make them narrower, or stack their panels):\n" + _listing(shrunk, limit=70)
    )


_WIDE_TABLE_JS = """
() => Array.from(document.querySelectorAll("article table"))
  .map((table) => table.parentElement)
  .filter((box) => box.scrollWidth > box.clientWidth + 1)
  .map((box) => `${box.scrollWidth}px in ${box.clientWidth}px: ` +
    ((box.querySelector("caption") || box).textContent || "").trim().slice(0, 60))
"""


def test_tables_fit_the_column(at_desktop_width: dict[str, list[Any]]) -> None:
    """On a desktop (1400 px) every table fits the text column: no column is hidden behind a
    sideways scroll (on a phone a wide table may scroll in its box)."""
    offenders = at_desktop_width["tables"]
    assert not offenders, (
        f"{len(offenders)} table(s) wider than the text column at 1400px:\n" + _listing(offenders)
    )
