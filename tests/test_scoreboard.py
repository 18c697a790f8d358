"""The scoreboard of the paper's claims (book/_data/claims.yml, book/_ext/ebp_scoreboard.py).

Unit tests: the claims file loads and validates; every claim names a chapter of the book, a
section of it and glue keys that the chapter pastes with the same format; at least 20 claims
with R1-R10 among them; the verdict rules on constructed numbers; and clear errors for a bad
claims file. One test marked ``book`` builds a tiny fixture book with the extension and checks
the rendered table, the verdict boxes, the front-page summary, a build error naming the claim,
and that two clean builds give the same pages.
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from docutils import nodes

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "book" / "_ext"))

import ebp_scoreboard as sb  # noqa: E402

CLAIMS = REPO / "book" / "_data" / "claims.yml"
TARGETS = [f"R{i}" for i in range(1, 11)]


def toc_docnames() -> set[str]:
    """Every file listed in _toc.yml."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("file", "root"):
                    found.add(str(value))
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(yaml.safe_load((REPO / "_toc.yml").read_text()))
    return found


def heading_ids(text: str) -> set[str]:
    """The section ids Sphinx gives the headings of a MyST file (docutils' make_id)."""
    ids = set()
    in_code = False
    for line in text.splitlines():
        if line.startswith(("```", "~~~")):
            in_code = not in_code
        match = re.match(r"^(#{1,6})\s+(.*)$", line)
        if match and not in_code:
            title = match.group(2).replace("$", "").replace("\\", " ")
            ids.add(nodes.make_id(title))
    return ids


def pasted_formats(text: str, key: str) -> set[str]:
    """The formats with which a chapter pastes ``key`` in its prose."""
    pattern = r"\{glue:text\}`" + re.escape(key) + r"(?::([^`]*))?`"
    return {m.group(1) or "" for m in re.finditer(pattern, text)}


@pytest.fixture(scope="module")
def claims() -> tuple[sb.Claim, ...]:
    return sb.load_claims(CLAIMS)


@pytest.fixture
def raw() -> dict[str, Any]:
    return yaml.safe_load(CLAIMS.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- the claims file


def test_at_least_20_claims_with_every_reproduction_target(claims: tuple[sb.Claim, ...]) -> None:
    ids = [c.id for c in claims]
    assert len(ids) >= 20
    assert [i for i in ids if i.startswith("R")] == TARGETS
    assert all(re.fullmatch(r"[RC]\d+", i) for i in ids), ids
    assert all(c.target for c in claims if c.id in TARGETS), "each target is defined in words"


def test_every_claim_names_a_chapter_section_and_pasted_keys(
    claims: tuple[sb.Claim, ...],
) -> None:
    toc = toc_docnames()
    problems = []
    for claim in claims:
        source = REPO / f"{claim.chapter}.md"
        if claim.chapter not in toc or not source.is_file():
            problems.append(f"{claim.id}: {claim.chapter} is not a chapter of _toc.yml")
            continue
        text = source.read_text(encoding="utf-8")
        if "glue(" not in text:
            problems.append(f"{claim.id}: {claim.chapter} glues nothing")
        if claim.section not in heading_ids(text):
            problems.append(f"{claim.id}: {claim.chapter} has no section {claim.section!r}")
        for q in claim.ours:
            formats = pasted_formats(text, q.key)
            if q.format not in formats:
                problems.append(
                    f"{claim.id}: {claim.chapter} pastes {q.key!r} with {sorted(formats)}, "
                    f"not {q.format!r}"
                )
    assert not problems, "\n".join(problems)


def test_claims_are_plain_sentences(claims: tuple[sb.Claim, ...]) -> None:
    for claim in claims:
        for text in (claim.claim, claim.target, claim.paper, claim.why):
            assert "$" not in text and "{" not in text, f"{claim.id}: no markup in {text!r}"
        assert claim.claim.endswith("."), claim.id
        assert claim.why, claim.id


def test_the_extension_is_registered_and_the_page_is_in_the_toc() -> None:
    config = yaml.safe_load((REPO / "_config.yml").read_text())
    assert config["sphinx"]["local_extensions"]["ebp_scoreboard"] == "book/_ext"
    assert "book/scoreboard" in toc_docnames()
    assert "```{scoreboard}" in (REPO / "book" / "scoreboard.md").read_text()
    assert "```{scoreboard-summary}" in (REPO / "book" / "intro.md").read_text()


# --------------------------------------------------------------------------- verdict rules


def check(confirmed: list, caveat: list | None = None, **kw: Any) -> sb.Check:
    return sb.Check(
        key=kw.get("key", "a"),
        divide_by=kw.get("divide_by"),
        confirmed=sb.Band(*confirmed),
        caveat=None if caveat is None else sb.Band(*caveat),
    )


def claim_with(*checks: sb.Check, paper_value: float | None = None) -> sb.Claim:
    ours = (sb.Quantity("a", ".2f"), sb.Quantity("b", ".2f"))
    return sb.Claim("C1", "x.", "", "p", paper_value, "book/x", "s", ours, checks, "w")


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (1.0, sb.CONFIRMED),
        (0.9, sb.CONFIRMED),  # closed band
        (1.2, sb.CAVEAT),
        (0.5, sb.CAVEAT),
        (0.49, sb.NOT_REPRODUCED),
        (3.0, sb.NOT_REPRODUCED),
        (float("nan"), sb.NOT_REPRODUCED),
    ],
)
def test_a_check_grades_by_its_two_bands(x: float, expected: str) -> None:
    assert sb.check_verdict(check([0.9, 1.1], [0.5, 1.5]), x) == expected


def test_open_bands_and_no_caveat() -> None:
    at_most = check([None, 1e-3])
    assert sb.check_verdict(at_most, -5.0) == sb.CONFIRMED
    assert sb.check_verdict(at_most, 2e-3) == sb.NOT_REPRODUCED
    at_least = check([1.0, None])
    assert sb.check_verdict(at_least, 1e9) == sb.CONFIRMED
    assert sb.check_verdict(at_least, 0.99) == sb.NOT_REPRODUCED


def test_ratios_to_the_paper_and_to_another_number() -> None:
    to_paper = claim_with(check([0.667, 1.5], [0.1, None], divide_by=sb.PAPER), paper_value=10)
    assert sb.claim_verdict(to_paper, {"a": 12.0, "b": 0.0}) == sb.CONFIRMED
    assert sb.claim_verdict(to_paper, {"a": 20.8, "b": 0.0}) == sb.CAVEAT
    assert sb.claim_verdict(to_paper, {"a": 0.5, "b": 0.0}) == sb.NOT_REPRODUCED
    order = claim_with(check([1.0, None], divide_by="b"))
    assert sb.claim_verdict(order, {"a": 8.2, "b": 6.0}) == sb.CONFIRMED
    assert sb.claim_verdict(order, {"a": 6.0, "b": 8.2}) == sb.NOT_REPRODUCED
    assert sb.claim_verdict(order, {"a": 6.0, "b": 0.0}) == sb.NOT_REPRODUCED  # no ratio


def test_a_claim_gets_the_worst_verdict_of_its_checks() -> None:
    both = claim_with(check([0.9, 1.1], [0.5, 1.5]), check([0.9, 1.1], [0.5, 1.5], key="b"))
    assert sb.claim_verdict(both, {"a": 1.0, "b": 1.0}) == sb.CONFIRMED
    assert sb.claim_verdict(both, {"a": 1.0, "b": 1.3}) == sb.CAVEAT
    assert sb.claim_verdict(both, {"a": 1.3, "b": 9.0}) == sb.NOT_REPRODUCED


def test_the_rule_in_words() -> None:
    words = sb.rule_words(
        claim_with(check([0.9, 1.1], [0.5, None], divide_by=sb.PAPER), paper_value=1)
    )
    assert words == (
        "confirmed if 0.9 ≤ ours / the paper's number ≤ 1.1; "
        "with a caveat if ours / the paper's number ≥ 0.5."
    )


def test_pasted_numbers_read_as_the_chapter_pastes_them() -> None:
    assert sb.pasted_text("0.9999972559224789", ".7f") == "0.9999973"
    assert sb.pasted_text("20.77922077922078", ".1f") == "20.8"
    assert sb.pasted_text("5", "d") == "5"
    assert sb.pasted_text("3.3306690738754696e-16", ".0e") == "3e-16"
    assert sb.glued_number("5") == 5.0
    with pytest.raises(ValueError, match="not a number"):
        sb.glued_number("'exactly'")


# --------------------------------------------------------------------------- bad claims files


def first_claim(raw: dict[str, Any]) -> dict[str, Any]:
    return raw["claims"][0]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c.pop("chapter"), r"claim R1: missing fields \['chapter'\]"),
        (lambda c: c.update(extra=1), r"claim R1: unknown fields \['extra'\]"),
        (lambda c: c.update(ours=[]), r"claim R1: 'ours' must be a non-empty list"),
        (lambda c: c.update(ours=[{"key": "k"}]), r"claim R1: .*'key' and 'format'"),
        (lambda c: c["ours"][0].update(format="q"), r"claim R1: bad format 'q'"),
        (lambda c: c.update(checks=[]), r"claim R1: 'checks' must be a non-empty list"),
        (lambda c: c["checks"][0].update(confirmed=[2, 1]), r"claim R1 \(confirmed\).*lo > hi"),
        (lambda c: c["checks"][0].update(confirmed=[0, "a"]), r"claim R1 \(confirmed\).*numbers"),
        (lambda c: c["checks"][0].update(confirmed=[1]), r"claim R1 \(confirmed\).*\[lo, hi\]"),
        (lambda c: c["checks"][0].update(key="zz"), r"claim R1: the check uses 'zz'"),
        (lambda c: c["checks"][0].update(divide_by="zz"), r"claim R1: the check uses 'zz'"),
        (lambda c: c.update(target=""), r"claim R1: a reproduction target needs"),
        (lambda c: c.update(paper_value="one"), r"claim R1: 'paper_value' must be a number"),
    ],
)
def test_a_bad_claim_is_named_in_the_error(raw: dict, edit: Any, message: str) -> None:
    data = copy.deepcopy(raw)
    edit(first_claim(data))
    with pytest.raises(sb.ClaimsError, match=message):
        sb.parse_claims(data)


def test_divide_by_paper_needs_the_paper_value(raw: dict) -> None:
    data = copy.deepcopy(raw)
    claim = first_claim(data)
    claim.pop("paper_value")
    claim["checks"] = [{"divide_by": "paper", "confirmed": [0.9, 1.1]}]
    with pytest.raises(sb.ClaimsError, match="claim R1: 'divide_by: paper' needs"):
        sb.parse_claims(data)


def test_duplicate_ids_and_bad_files(raw: dict, tmp_path: Path) -> None:
    data = copy.deepcopy(raw)
    data["claims"].append(copy.deepcopy(data["claims"][0]))
    with pytest.raises(sb.ClaimsError, match="claim R1: the id is used twice"):
        sb.parse_claims(data)
    with pytest.raises(sb.ClaimsError, match="list under 'claims'"):
        sb.parse_claims({"claim": []})
    with pytest.raises(sb.ClaimsError, match="no claims file"):
        sb.load_claims(tmp_path / "missing.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("claims: [\n")
    with pytest.raises(sb.ClaimsError, match="not valid YAML"):
        sb.load_claims(bad)


# --------------------------------------------------------------------------- a fixture book

CHAPTER = """---
jupytext:
  text_representation: {{extension: .md, format_name: myst}}
kernelspec: {{display_name: Python 3, language: python, name: python3}}
---

# Chapter {name}

:::{{admonition}} In this chapter you will
:class: tip
- learn
:::

```{{code-cell}} ipython3
:tags: [remove-cell]
from myst_nb import glue
glue("{name}_x", 0.9999972559224789, display=False)
glue("{name}_r", 20.77922077922078, display=False)
```

## Section {name}

Here {{glue:text}}`{name}_x:.7f` and {{glue:text}}`{name}_r:.1f`.
"""

FIXTURE_CLAIMS = {
    "claims": [
        {
            "id": "R1",
            "target": "The first target.",
            "claim": "f(1) = 1.",
            "paper": "f(1) = 1",
            "chapter": "book/a",
            "section": "section-a",
            "ours": [{"key": "a_x", "format": ".7f"}],
            "checks": [{"confirmed": [0.99995, 1.00005]}],
            "why": "Five digits.",
        },
        {
            "id": "C1",
            "claim": "About ten.",
            "paper": "about 10",
            "paper_value": 10,
            "chapter": "book/b",
            "section": "section-b",
            "ours": [{"key": "b_r", "format": ".1f", "unit": " times"}],
            "checks": [{"divide_by": "paper", "confirmed": [0.667, 1.5], "caveat": [0.1, None]}],
            "why": "About.",
        },
    ]
}


def make_fixture_book(root: Path, claims: dict) -> Path:
    (root / "book" / "_data").mkdir(parents=True)
    (root / "_config.yml").write_text(
        "title: Fixture\nauthor: tests\nonly_build_toc_files: true\n"
        "exclude_patterns: [_build]\n"
        "execute: {execute_notebooks: cache, cache: _build/.jupyter_cache, timeout: 120}\n"
        "parse: {myst_enable_extensions: [colon_fence, dollarmath]}\n"
        f"sphinx:\n  local_extensions: {{ebp_scoreboard: {REPO / 'book' / '_ext'}}}\n"
        "  config: {myst_heading_anchors: 3, nb_ipywidgets_js: {}}\n"
    )
    (root / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nparts:\n"
        "  - caption: Part\n    numbered: 1\n    chapters: [{file: book/a}, {file: book/b}]\n"
        "  - caption: Back\n    chapters: [{file: book/scoreboard}]\n"
    )
    (root / "book" / "intro.md").write_text("# Front\n\n```{scoreboard-summary}\n```\n")
    (root / "book" / "scoreboard.md").write_text(
        "# Scoreboard\n\n```{scoreboard-targets}\n```\n\n```{scoreboard}\n```\n"
    )
    for name in ("a", "b"):
        (root / "book" / f"{name}.md").write_text(CHAPTER.format(name=name))
    (root / "book" / "_data" / "claims.yml").write_text(yaml.safe_dump(claims))
    return root


def build_fixture(root: Path) -> subprocess.CompletedProcess:
    jb = Path(sys.executable).parent / "jupyter-book"
    flags = ["--path-output", ".", "--builder", "html", "-W", "-n", "--keep-going"]
    return subprocess.run(
        [str(jb), "build", ".", *flags], cwd=root, capture_output=True, text=True, timeout=600
    )


def pages(root: Path) -> dict[str, str]:
    html = root / "_build" / "html"
    return {str(p.relative_to(html)): p.read_text() for p in sorted(html.rglob("*.html"))}


@pytest.mark.book
def test_fixture_book_renders_the_scoreboard(tmp_path: Path) -> None:
    one = make_fixture_book(tmp_path / "one", FIXTURE_CLAIMS)
    shutil.copytree(one, tmp_path / "two")
    for root in (one, tmp_path / "two"):
        proc = build_fixture(root)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    built = pages(one)
    assert built == pages(tmp_path / "two"), "two clean builds give the same pages"

    board = built["book/scoreboard.html"]
    assert board.count('class="ebp-sb-row"') == 2
    assert 'data-key="a_x" data-format=".7f">0.9999973</span>' in board
    assert 'data-key="b_r" data-format=".1f">20.8</span> times' in board
    assert 'data-claim="R1" data-verdict="confirmed"' in board
    assert 'data-claim="C1" data-verdict="caveat"' in board
    assert 'href="a.html#section-a"' in board
    assert '<dt id="target-R1">R1</dt>' in board and "The first target." in board
    summary = built["book/intro.html"]
    assert re.search(r'data-verdict="confirmed">1</span> confirmed', summary)
    assert 'href="scoreboard.html"' in summary
    for name, claim in (("a", "R1"), ("b", "C1")):
        chapter = built[f"book/{name}.html"]
        assert chapter.count('class="admonition note ebp-verdicts"') == 1
        intro_at = chapter.index("In this chapter you will")
        assert intro_at < chapter.index("ebp-verdicts") < chapter.index('id="section-')
        assert f'href="scoreboard.html#claim-{claim}"' in chapter

    wrong = copy.deepcopy(FIXTURE_CLAIMS)
    wrong["claims"][1]["ours"][0]["key"] = "b_missing"
    wrong["claims"][1]["checks"] = [{"key": "b_missing", "confirmed": [0, 1]}]
    bad = make_fixture_book(tmp_path / "bad", wrong)
    proc = build_fixture(bad)
    assert proc.returncode != 0
    assert "claim C1: book/b glues no key 'b_missing'" in proc.stdout + proc.stderr
