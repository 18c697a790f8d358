"""Every executed chapter offers its notebook, its source and a citation.

The tools come from book/_ext/ebp_chapter_tools.py.

In headless Chromium, on each chapter the book executed (those of
``_build/execution-report.json``): the tools line is there; the notebook downloads, is a valid
notebook (nbformat) with the page's outputs and without the build's hidden cache-key cell;
the source link resolves; and the BibTeX entry names the chapter, its file and the version.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat
import pytest

if TYPE_CHECKING:
    from conftest import PageProbe

pytestmark = pytest.mark.site

REPO = Path(__file__).resolve().parents[2]


def executed_chapters(site_dir: Path) -> list[str]:
    report = site_dir.parent / "execution-report.json"
    if not report.is_file():
        pytest.fail(f"no {report}: build the book first (make book)")
    rows = json.loads(report.read_text())["chapters"]
    return [row["docname"] for row in rows]


def package_version() -> str:
    text = (REPO / "pyproject.toml").read_text()
    match = re.search(r'^version\s*=\s*"([^"]+)"', text, re.MULTILINE)
    assert match, "pyproject.toml has a version"
    return match.group(1)


def _check_notebook(path: Path, docname: str) -> list[str]:
    problems = []
    notebook = nbformat.read(str(path), as_version=4)
    try:
        nbformat.validate(notebook)
    except nbformat.ValidationError as exc:
        problems.append(f"{docname}.ipynb is not a valid notebook: {exc.message}")
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    if not any(cell.outputs for cell in code):
        problems.append(f"{docname}.ipynb has no outputs")
    if any("ebp fingerprint" in cell.source for cell in code):
        problems.append(f"{docname}.ipynb still has the build's cache-key cell")
    return problems


def book_title() -> str:
    text = (REPO / "_config.yml").read_text()
    match = re.search(r'^title:\s*"([^"]+)"', text, re.MULTILINE)
    assert match, "_config.yml has a title"
    return match.group(1)


def _check_citation(entry: str, docname: str, title: str) -> list[str]:
    name = docname.rsplit("/", 1)[-1]
    expected = {
        "key": f"@incollection{{ebp-{name},",
        "title": f"title     = {{{title}}}",
        "book": f"booktitle = {{{book_title()}}}",
        "file": docname,
        "version": f"version {package_version()}",
    }
    return [
        f"{docname}: the citation lacks its {what} ({text!r}):\n{entry}"
        for what, text in expected.items()
        if text not in entry
    ]


def test_every_executed_chapter_offers_notebook_source_and_citation(
    probe: PageProbe, site_dir: Path, tmp_path: Path
) -> None:
    problems: list[str] = []
    chapters = executed_chapters(site_dir)
    assert chapters, "the book executes chapters"
    for docname in chapters:
        probe.open(f"{docname}.html")
        page = probe.page
        tools = page.locator(".ebp-chapter-tools")
        if tools.count() != 1:
            problems.append(f"{docname}: {tools.count()} tools lines, expected 1")
            continue
        with page.expect_download() as info:
            tools.locator("a.ebp-download-notebook").click()
        saved = tmp_path / f"{docname.replace('/', '_')}.ipynb"
        info.value.save_as(saved)
        problems += _check_notebook(saved, docname)
        source = tools.locator("a.ebp-source")
        href = source.get_attribute("href") or ""
        target = (site_dir / docname).parent / href
        if not target.resolve().is_file():
            problems.append(f"{docname}: the source link {href} does not resolve")
        elif docname not in (source.text_content() or ""):
            problems.append(f"{docname}: the source link does not name the file")
        tools.locator("details.ebp-cite summary").click()
        entry = tools.locator("details.ebp-cite pre")
        if not entry.is_visible():
            problems.append(f"{docname}: the citation does not open")
            continue
        title = page.locator("article h1").first.text_content() or ""
        title = re.sub(r"^\s*\d+\.\s*|#\s*$", "", title).strip()
        problems += _check_citation(entry.text_content() or "", docname, title)
        probe.assert_clean(f"{docname}.html")
    assert not problems, "\n".join(problems)


def test_pages_without_code_have_no_tools(probe: PageProbe) -> None:
    probe.open("book/notation.html")
    assert probe.page.locator(".ebp-chapter-tools").count() == 0


def test_the_footer_states_version_and_licence(probe: PageProbe) -> None:
    probe.open("book/backpropagation.html")
    footer = probe.page.locator("footer .extra_footer")
    assert footer.count() == 1, "the footer has the book's extra line"
    text = footer.text_content() or ""
    assert "every figure and number is computed" in text
    assert f"Version {package_version()}" in text
    assert "MIT licence" in text
