"""One version everywhere: the package, the citation file, the BibTeX of the README and of the
front page, and the changelog (the site's footer and chapter citations read the package's)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

import ebp

REPO = Path(__file__).resolve().parents[1]


def pyproject_version() -> str:
    text = (REPO / "pyproject.toml").read_text()
    match = re.search(r'^version\s*=\s*"([^"]+)"', text, re.MULTILINE)
    assert match, "pyproject.toml has a version"
    return match.group(1)


def test_the_package_has_the_project_version() -> None:
    assert ebp.__version__ == pyproject_version()


def test_citation_file_describes_this_version() -> None:
    cff = yaml.safe_load((REPO / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0"
    assert str(cff["version"]) == pyproject_version()
    assert cff["license"] == "MIT"
    assert cff["title"] in (REPO / "_config.yml").read_text(), "the book's title"
    assert any("Efficient BackProp" in ref["title"] for ref in cff["references"])


def test_readme_citation_and_changelog_name_this_version() -> None:
    version = pyproject_version()
    assert f"version {version}" in (REPO / "README.md").read_text()
    assert f"version {version}" in (REPO / "book" / "intro.md").read_text(), "front page"
    first = re.search(r"^## (\S+)", (REPO / "CHANGELOG.md").read_text(), re.MULTILINE)
    assert first and first.group(1) == version, "the changelog's newest entry"
