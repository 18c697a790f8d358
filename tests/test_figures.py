"""Every figure of a chapter page has a number, a caption and real alt text, and opens at full size.

``figure_problems`` reads one built HTML page and lists each ``<img>`` that is not inside a
``<figure>`` whose ``<figcaption>`` carries a figure number ("Fig. 3", "Figure 7.2"), whose
``alt`` is empty or looks like a file name (``….png``, a hex hash), or that is not inside a link
to its own file (the full-resolution image, for a reader on a phone). The checker is tested on small
pages here; the check of the built book (``make book`` first) is marked ``site`` and runs with
``make site-tests``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NUMBER = re.compile(r"\bFig(?:ure|\.)?\s*\d")
FILE_LIKE = re.compile(r"(\.(png|jpe?g|gif|svg|webp)$)|(^[0-9a-f]{16,}(\.\w+)?$)", re.IGNORECASE)
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


@dataclass
class _Figure:
    images: list[str] = field(default_factory=list)
    caption: list[str] = field(default_factory=list)
    in_caption: int = 0


class _FigureParser(HTMLParser):
    """Collects problems with the images of one page."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page = page
        self.figures: list[_Figure] = []
        self.problems: list[str] = []
        self.links: list[str | None] = []  # href of each open <a>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "figure":
            self.figures.append(_Figure())
        elif tag == "figcaption" and self.figures:
            self.figures[-1].in_caption += 1
        elif tag == "a":
            self.links.append(dict(attrs).get("href"))
        elif tag == "img":
            self._image(dict(attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self._image(dict(attrs))

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self.links:
            self.links.pop()
        elif tag == "figcaption" and self.figures and self.figures[-1].in_caption:
            self.figures[-1].in_caption -= 1
        elif tag == "figure" and self.figures:
            figure = self.figures.pop()
            caption = " ".join("".join(figure.caption).split())
            for src in figure.images:
                if not caption:
                    self.problems.append(f"{self.page}: {src}: its <figure> has no <figcaption>")
                elif not NUMBER.search(caption):
                    self.problems.append(
                        f"{self.page}: {src}: caption without a figure number: {caption[:60]!r}"
                    )

    def handle_data(self, data: str) -> None:
        for figure in self.figures:
            if figure.in_caption:
                figure.caption.append(data)

    def _image(self, attrs: dict[str, str | None]) -> None:
        src = attrs.get("src") or "<img without src>"
        alt = (attrs.get("alt") or "").strip()
        if not alt:
            self.problems.append(f"{self.page}: {src}: empty alt text")
        elif FILE_LIKE.search(alt):
            self.problems.append(f"{self.page}: {src}: alt text is a file name: {alt!r}")
        if not self.links or self.links[-1] != src:
            self.problems.append(f"{self.page}: {src}: not inside a link to its full-size file")
        if self.figures:
            self.figures[-1].images.append(src)
        else:
            self.problems.append(f"{self.page}: {src}: not inside a <figure>")


def figure_problems(html: str, page: str = "page") -> list[str]:
    """Problems of the images of one HTML page, each naming the page and the image."""
    parser = _FigureParser(page)
    parser.feed(html)
    parser.close()
    for figure in parser.figures:  # a <figure> never closed
        parser.problems += [f"{page}: {src}: unclosed <figure>" for src in figure.images]
    return parser.problems


# --------------------------------------------------------------------------- the checker

GOOD = """
<figure class="align-default" id="fig-x">
<div class="cell_output"><a class="image-reference" href="../_images/ab.png">
<img alt="A line falls from left to right." src="../_images/ab.png" /></a></div>
<figcaption><p><span class="caption-number">Fig. 3 </span><span class="caption-text">The
loss falls.</span></p></figcaption>
</figure>
"""


def test_a_numbered_captioned_figure_with_alt_text_passes() -> None:
    assert figure_problems(GOOD) == []
    assert figure_problems(GOOD.replace("Fig. 3", "Figure 7.2")) == []


def test_a_bare_image_is_reported_with_page_and_source() -> None:
    html = '<div><a href="../_images/ab.png"><img alt="A plot." src="../_images/ab.png"></a></div>'
    assert figure_problems(html, "book/x.html") == [
        "book/x.html: ../_images/ab.png: not inside a <figure>"
    ]


@pytest.mark.parametrize(
    "html",
    [
        GOOD.replace('<a class="image-reference" href="../_images/ab.png">', "").replace(
            "</a>", ""
        ),
        GOOD.replace('href="../_images/ab.png"', 'href="../book/other.html"'),
    ],
    ids=["no link", "link elsewhere"],
)
def test_an_image_that_does_not_link_to_its_file_is_reported(html: str) -> None:
    assert figure_problems(html) == [
        "page: ../_images/ab.png: not inside a link to its full-size file"
    ]


def test_a_figure_without_caption_or_number_is_reported() -> None:
    no_caption = '<figure><a href="a.png"><img alt="A plot." src="a.png"></a></figure>'
    assert "no <figcaption>" in figure_problems(no_caption)[0]
    unnumbered = GOOD.replace('<span class="caption-number">Fig. 3 </span>', "")
    assert "without a figure number" in figure_problems(unnumbered)[0]


@pytest.mark.parametrize(
    "alt",
    [
        "",
        "   ",
        "3f2a9c0d1e4b5a6978c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3.png",
        "3f2a9c0d1e4b5a6978c0d1e2",
        "figure.png",
    ],
)
def test_missing_or_file_name_alt_text_is_reported(alt: str) -> None:
    html = GOOD.replace('alt="A line falls from left to right."', f'alt="{alt}"')
    problems = figure_problems(html)
    assert len(problems) == 1 and "alt text" in problems[0]


# --------------------------------------------------------------------------- tables

TABLE_NUMBER = re.compile(r"\bTable\s*\d")


# A chapter's "What this chapter tests" box (book/_ext/ebp_scoreboard.py): its rows are the
# scoreboard's, which they link to, not a table of the chapter's own.
VERDICT_TABLE = "ebp-verdict-table"


class _TableParser(HTMLParser):
    """The caption text of each ``<table>`` of a page (empty when it has none)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.captions: list[str] = []
        self.depth = 0  # of open <caption> elements

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and VERDICT_TABLE not in (dict(attrs).get("class") or "").split():
            self.captions.append("")
        elif tag == "caption":
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "caption" and self.depth:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth and self.captions:
            self.captions[-1] += data


def table_problems(html: str, page: str = "page") -> list[str]:
    """Each table of one HTML page without a numbered caption ("Table 4.2 …")."""
    parser = _TableParser()
    parser.feed(html)
    parser.close()
    problems = []
    for i, caption in enumerate(parser.captions, 1):
        caption = " ".join(caption.split())
        if not TABLE_NUMBER.search(caption):
            problems.append(f"{page}: table {i}: no numbered caption ({caption[:40]!r})")
    return problems


TABLE = """<table class="table"><caption><span class="caption-number">Table 4.2 </span>
<span class="caption-text">Ours beside the paper's.</span></caption>
<thead><tr><th>a</th></tr></thead><tbody><tr><td>1</td></tr></tbody></table>"""


def test_a_table_needs_a_numbered_caption() -> None:
    assert table_problems(TABLE) == []
    unnumbered = TABLE.replace('<span class="caption-number">Table 4.2 </span>', "")
    assert table_problems(unnumbered + TABLE, "p.html") == [
        'p.html: table 1: no numbered caption ("Ours beside the paper\'s.")'
    ]
    bare = re.sub(r"<caption>.*</caption>", "", TABLE, flags=re.DOTALL)
    assert table_problems(TABLE + bare) == ["page: table 2: no numbered caption ('')"]
    box = bare.replace('class="table"', f'class="table {VERDICT_TABLE}"')
    assert table_problems(TABLE + box) == []


# --------------------------------------------------------------------------- the built book

# Generated tables that are the whole page, not a result among others that a reader cites:
# the execution report (MyST-NB's nb-exec-table) and the scoreboard (book/_ext/ebp_scoreboard.py).
UNCAPTIONED_TABLE_PAGES = {"book/execution-report.html", "book/scoreboard.html"}


def _site_dir() -> Path:
    value = os.environ.get("EBP_SITE_DIR", "").strip()
    return Path(value).expanduser().resolve() if value else REPO / "_build" / "html"


def _chapter_pages() -> list[str]:
    import yaml

    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", [{"chapters": toc.get("chapters", [])}]):
        files += [c["file"] for c in part.get("chapters", []) if "file" in c]
    return [f"{re.sub(r'[.](md|ipynb)$', '', f)}.html" for f in files]


@pytest.mark.site
def test_every_figure_and_table_of_the_book_is_numbered_and_captioned() -> None:
    site = _site_dir()
    if not (site / "index.html").is_file():
        pytest.fail(f"no built site at {site}: run `make book` first")
    problems: list[str] = []
    n_images = 0
    for page in _chapter_pages():
        html = (site / page).read_text(encoding="utf-8")
        n_images += html.count("<img")
        problems += figure_problems(html, page)
        if page not in UNCAPTIONED_TABLE_PAGES:
            problems += table_problems(html, page)
    assert n_images, "the chapters have figures"
    assert not problems, f"{len(problems)} figure problems:\n" + "\n".join(problems)
