"""The scoreboard of the paper's claims in the built site (book/_ext/ebp_scoreboard.py).

In headless Chromium: the scoreboard page has at least 20 rows, R1-R10 among them, each defined
once in words; every number it shows equals the value the chapter's notebook glued (taken from
the chapter's downloadable notebook with its outputs, ``<chapter>.ipynb`` beside the page, and
formatted as the chapter's own prose pastes it), and every verdict follows from those values by
the claim's rule; every chapter that owns claims opens with its verdict box, after "In this
chapter you will", showing the same numbers; the front page summarises the verdicts and links
to the scoreboard; the links to the sections resolve; and no other page uses a target's name
(R1-R10) outside the verdict boxes.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import pytest

if TYPE_CHECKING:
    from conftest import PageProbe

pytestmark = pytest.mark.site

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "book" / "_ext"))

import ebp_scoreboard as sb  # noqa: E402

BOARD = "book/scoreboard.html"
GLUE_PREFIX = "application/papermill.record/"
TARGETS = [f"R{i}" for i in range(1, 11)]
VERDICT_OF_CLASS = {css: verdict for verdict, css in sb.VERDICT_CLASS.items()}


def source_root(site_dir: Path) -> Path:
    """The sources the site was built from: ``<site>/../..`` if it has the claims, else the repo."""
    beside = site_dir.parent.parent
    return beside if (beside / "book" / "_data" / "claims.yml").is_file() else REPO


def claims(site_dir: Path) -> tuple[sb.Claim, ...]:
    return sb.load_claims(source_root(site_dir) / "book" / "_data" / "claims.yml")


@cache
def glued(site_dir: Path, docname: str) -> dict[str, str]:
    """Key -> glued text/plain, from the chapter's downloadable notebook (with its outputs)."""
    path = site_dir / f"{docname}.ipynb"
    if not path.is_file():
        pytest.fail(f"no {path}: the chapter's notebook is not offered with the site")
    found = {}
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        for output in cell.get("outputs", []):
            scrapbook = output.get("metadata", {}).get("scrapbook")
            if not scrapbook:
                continue
            prefix = scrapbook.get("mime_prefix", GLUE_PREFIX)
            plain = output.get("data", {}).get(prefix + "text/plain")
            if plain is not None:
                found[scrapbook["name"]] = "".join(plain) if isinstance(plain, list) else plain
    return found


def chapter_formats(site_dir: Path, docname: str, key: str) -> set[str]:
    """The formats with which the chapter's prose pastes ``key``."""
    text = (source_root(site_dir) / f"{docname}.md").read_text(encoding="utf-8")
    pattern = r"\{glue:text\}`" + re.escape(key) + r"(?::([^`]*))?`"
    return {m.group(1) or "" for m in re.finditer(pattern, text)}


def as_pasted(site_dir: Path, docname: str, key: str) -> set[str]:
    """Every way the chapter shows the glued value of ``key``."""
    plain = glued(site_dir, docname).get(key)
    if plain is None:
        return set()
    return {sb.pasted_text(plain, fmt) for fmt in chapter_formats(site_dir, docname, key)}


_ROWS_JS = """
(selector) => Array.from(document.querySelectorAll(selector)).map((tr) => ({
  id: tr.dataset.claim,
  verdictClass: tr.dataset.verdict || "",
  verdict: ((tr.querySelector(".ebp-verdict") || {}).textContent || "").trim(),
  values: Array.from(tr.querySelectorAll(".ebp-sb-value")).map((v) => ({
    doc: v.dataset.doc, key: v.dataset.key, text: v.textContent.trim(),
  })),
  links: Array.from(tr.querySelectorAll("a")).map((a) => a.href),
}))
"""


def check_values(site_dir: Path, rows: list[dict[str, Any]], where: str) -> list[str]:
    problems = []
    for row in rows:
        if not row["values"]:
            problems.append(f"{where} {row['id']}: no measured number")
        for value in row["values"]:
            expected = as_pasted(site_dir, value["doc"], value["key"])
            if value["text"] not in expected:
                problems.append(
                    f"{where} {row['id']}: shows {value['text']!r} for {value['key']!r}, the "
                    f"chapter's notebook glued {sorted(expected) or 'nothing'}"
                )
    return problems


def anchors(path: Path) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', path.read_text(encoding="utf-8")))


def test_scoreboard_rows_equal_the_chapters_glued_values(probe: PageProbe, site_dir: Path) -> None:
    probe.open(BOARD)
    rows = probe.page.evaluate(_ROWS_JS, "table.ebp-scoreboard tr.ebp-sb-row")
    assert len(rows) >= 20, f"the scoreboard has {len(rows)} rows"
    ids = [row["id"] for row in rows]
    assert [i for i in ids if i in TARGETS] == TARGETS
    assert ids == [c.id for c in claims(site_dir)], "one row per claim, in the claims' order"
    problems = check_values(site_dir, rows, "scoreboard")
    by_id = {row["id"]: row for row in rows}
    for claim in claims(site_dir):
        row = by_id[claim.id]
        plain = glued(site_dir, claim.chapter)
        values = {q.key: sb.glued_number(plain[q.key]) for q in claim.ours if q.key in plain}
        if len(values) < len(claim.ours):
            continue  # reported by check_values
        expected = sb.claim_verdict(claim, values)
        if row["verdict"] != expected or VERDICT_OF_CLASS.get(row["verdictClass"]) != expected:
            problems.append(f"{claim.id}: shows {row['verdict']!r}, its rule gives {expected!r}")
    assert not problems, "\n".join(problems)
    probe.assert_clean(BOARD)


def test_section_links_resolve_to_the_claims_chapters(probe: PageProbe, site_dir: Path) -> None:
    probe.open(BOARD)
    links = probe.page.evaluate(
        "() => Array.from(document.querySelectorAll('a.ebp-sb-link')).map((a) => a.href)"
    )
    expected = claims(site_dir)
    assert len(links) == len(expected)
    problems = []
    for claim, href in zip(expected, links, strict=True):
        parts = urlsplit(href)
        target = site_dir / unquote(parts.path).lstrip("/")
        if not target.is_file() or not target.name == claim.chapter.rsplit("/", 1)[-1] + ".html":
            problems.append(f"{claim.id}: {href} is not the page of {claim.chapter}")
        elif unquote(parts.fragment) not in anchors(target):
            problems.append(f"{claim.id}: no section #{parts.fragment} in {target.name}")
    assert not problems, "\n".join(problems)


def test_every_chapter_with_claims_opens_with_its_verdict_box(
    probe: PageProbe, site_dir: Path
) -> None:
    owners: dict[str, list[str]] = {}
    for claim in claims(site_dir):
        owners.setdefault(claim.chapter, []).append(claim.id)
    problems = []
    for docname, ids in owners.items():
        page = f"{docname}.html"
        probe.open(page)
        boxes = probe.page.locator(".ebp-verdicts")
        if boxes.count() != 1:
            problems.append(f"{page}: {boxes.count()} verdict boxes, expected 1")
            continue
        before = probe.page.evaluate(
            "() => { const p = document.querySelector('.ebp-verdicts').previousElementSibling;"
            " return p ? p.textContent : ''; }"
        )
        if "In this chapter you will" not in before:
            problems.append(f"{page}: the box does not follow 'In this chapter you will'")
        title = boxes.locator(".admonition-title").text_content() or ""
        if "What this chapter tests" not in title:
            problems.append(f"{page}: the box's title is {title!r}")
        rows = probe.page.evaluate(_ROWS_JS, ".ebp-verdicts tr.ebp-sb-row")
        if [row["id"] for row in rows] != ids:
            problems.append(f"{page}: the box lists {[r['id'] for r in rows]}, expected {ids}")
        problems += check_values(site_dir, rows, page)
        for row in rows:
            to_board = [href for href in row["links"] if f"{BOARD}#claim-{row['id']}" in href]
            if not to_board:
                problems.append(f"{page}: {row['id']} does not link to its scoreboard row")
        probe.assert_clean(page)
    assert not problems, "\n".join(problems)


def test_front_page_summarises_the_verdicts(probe: PageProbe, site_dir: Path) -> None:
    probe.open(BOARD)
    verdicts = Counter(
        probe.page.evaluate(
            "() => Array.from(document.querySelectorAll('table.ebp-scoreboard tr.ebp-sb-row'))"
            ".map((tr) => tr.dataset.verdict)"
        )
    )
    probe.open("index.html")
    summary = probe.page.locator(".ebp-scoreboard-summary")
    assert summary.count() == 1, "the front page summarises the scoreboard"
    total = int(summary.locator(".ebp-sb-total").text_content() or "0")
    assert total == sum(verdicts.values())
    for css in sb.VERDICT_CLASS.values():
        shown = summary.locator(f'.ebp-sb-count[data-verdict="{css}"]').text_content()
        assert int(shown or "-1") == verdicts.get(css, 0), css
    href = summary.locator("a").get_attribute("href") or ""
    assert href.split("#")[0].endswith("scoreboard.html")
    summary.locator("a").click()
    probe.page.wait_for_load_state("load")
    assert probe.page.url.split("#")[0].endswith(BOARD)


_BARE_TARGETS_JS = """
() => {
  const article = document.querySelector("article") || document.body;
  const copy = article.cloneNode(true);
  copy.querySelectorAll(".ebp-verdicts, .footnote, .footnote-list, .citation, script, style")
    .forEach((el) => el.remove());
  const text = copy.textContent || "";
  return Array.from(text.matchAll(/.{0,30}\\bR(10|[1-9])\\b(?![.)\\d]).{0,30}/g))
    .map((m) => m[0].replace(/\\s+/g, " "));
}
"""


def test_targets_are_defined_once_and_named_nowhere_else(probe: PageProbe, site_dir: Path) -> None:
    board = anchors(site_dir / BOARD)
    assert {f"target-{t}" for t in TARGETS} <= board, "R1-R10 are defined on the scoreboard"
    problems = []
    others = sorted(str(p.relative_to(site_dir)) for p in (site_dir / "book").glob("*.html"))
    assert f"{claims(site_dir)[0].chapter}.html" in others
    for page in [p for p in others if p != BOARD]:
        probe.open(page)
        found = probe.page.evaluate(_BARE_TARGETS_JS)
        problems += [f"{page}: '{text}'" for text in found]
    assert not problems, "a target named outside its verdict box:\n" + "\n".join(problems)
