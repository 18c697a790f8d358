"""Sphinx extension: the scoreboard of the paper's claims, the paper's number against ours.

The claims live in one data file, ``book/_data/claims.yml`` (config value
``ebp_scoreboard_claims``). Each claim names the chapter that tests it, the section that shows
it, the paper's number (typed: it is the paper's), the glue keys of our number(s) and the format
the chapter pastes them with, and a verdict rule made of checks. A check takes one glued number,
or its ratio to the paper's number or to another glued number, and two bands:

- *confirmed* when the number lies in the ``confirmed`` band,
- *confirmed with a caveat* when it lies only in the (wider) ``caveat`` band,
- *not reproduced* otherwise.

A claim's verdict is the worst verdict of its checks. Our numbers are never recomputed or typed:
they are read, at build time, from the glue data MyST-NB stores for each executed chapter (the
``<docname>.glue.json`` files of its output folder, the ones its cross-document
``{glue:text}`doc::key``` paste reads) and formatted with MyST-NB's own formatter, so they read
exactly as the chapter pastes them.

It provides three directives and one automatic box:

- ``{scoreboard}``: the table, one row per claim;
- ``{scoreboard-targets}``: the definitions of the reproduction targets R1-R10 in words;
- ``{scoreboard-summary}``: one line with the count per verdict and a link to the scoreboard;
- a "What this chapter tests" box at the top of every chapter that owns claims, after its
  "In this chapter you will" admonition (no chapter file is edited).

An unknown chapter, section or glue key stops the build with an error naming the claim.
"""

from __future__ import annotations

import ast
import hashlib
import html
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.errors import ExtensionError

CONFIRMED = "confirmed"
CAVEAT = "confirmed with a caveat"
NOT_REPRODUCED = "not reproduced"
VERDICTS = (CONFIRMED, CAVEAT, NOT_REPRODUCED)
"""From best to worst; a claim's verdict is the worst of its checks'."""

VERDICT_CLASS = {CONFIRMED: "confirmed", CAVEAT: "caveat", NOT_REPRODUCED: "not-reproduced"}
BADGE = {CONFIRMED: "success", CAVEAT: "warning", NOT_REPRODUCED: "danger"}
PAPER = "paper"
"""``divide_by: paper`` divides our number by the paper's."""
INTRO_TITLE = "In this chapter you will"
ENV_PAGES = "ebp_scoreboard_pages"
ENV_HASH = "ebp_scoreboard_hash"
_CLAIM_FIELDS = {"id", "claim", "target", "paper", "paper_value", "chapter", "section", "ours"}
_CLAIM_FIELDS |= {"checks", "why"}
_REQUIRED = ("id", "claim", "paper", "chapter", "section", "ours", "checks", "why")


class ClaimsError(ValueError):
    """The claims file is malformed; the message names the claim and the field."""


# --------------------------------------------------------------------------- the data model


@dataclass(frozen=True)
class Band:
    """A closed interval ``[lo, hi]``; ``None`` leaves that end open."""

    lo: float | None
    hi: float | None

    def contains(self, x: float) -> bool:
        """Whether ``x`` lies in the band (NaN never does)."""
        if math.isnan(x):
            return False
        return (self.lo is None or x >= self.lo) and (self.hi is None or x <= self.hi)

    def words(self, what: str) -> str:
        """The band in words, e.g. ``0.9 ≤ ours ≤ 1.1``."""
        if self.lo is not None and self.hi is not None:
            return f"{self.lo:g} ≤ {what} ≤ {self.hi:g}"
        if self.lo is not None:
            return f"{what} ≥ {self.lo:g}"
        if self.hi is not None:
            return f"{what} ≤ {self.hi:g}"
        return f"any {what}"


@dataclass(frozen=True)
class Quantity:
    """One glued number of a claim: its key, the chapter's format, a label and a unit."""

    key: str
    format: str
    label: str = ""
    unit: str = ""


@dataclass(frozen=True)
class Check:
    """One test of a claim: a glued number (or a ratio) against two bands."""

    key: str
    divide_by: str | None
    confirmed: Band
    caveat: Band | None


@dataclass(frozen=True)
class Claim:
    """One row of the scoreboard."""

    id: str
    claim: str
    target: str
    paper: str
    paper_value: float | None
    chapter: str
    section: str
    ours: tuple[Quantity, ...]
    checks: tuple[Check, ...]
    why: str


def _band(value: Any, where: str) -> Band:
    if not isinstance(value, list) or len(value) != 2:
        raise ClaimsError(f"{where}: a band is a list [lo, hi] (null for an open end)")
    ends = []
    for end in value:
        if end is not None and (isinstance(end, bool) or not isinstance(end, int | float)):
            raise ClaimsError(f"{where}: band ends must be numbers or null, got {end!r}")
        ends.append(None if end is None else float(end))
    if ends[0] is not None and ends[1] is not None and ends[0] > ends[1]:
        raise ClaimsError(f"{where}: band {value} has lo > hi")
    return Band(ends[0], ends[1])


def _quantity(item: Any, where: str) -> Quantity:
    if not isinstance(item, dict) or not {"key", "format"} <= set(item):
        raise ClaimsError(f"{where}: each entry of 'ours' needs 'key' and 'format'")
    extra = set(item) - {"key", "format", "label", "unit"}
    if extra:
        raise ClaimsError(f"{where}: unknown fields in 'ours': {sorted(extra)}")
    try:
        fmt = str(item["format"])
        format(1 if fmt[-1:] in "bcdoxX" else 1.5, fmt)
    except ValueError as exc:
        raise ClaimsError(f"{where}: bad format {item['format']!r} for {item['key']!r}") from exc
    return Quantity(
        str(item["key"]), str(item["format"]), str(item.get("label", "")), item.get("unit", "")
    )


def _check(item: Any, where: str, keys: tuple[str, ...], paper_value: float | None) -> Check:
    if not isinstance(item, dict) or "confirmed" not in item:
        raise ClaimsError(f"{where}: each check needs a 'confirmed' band")
    extra = set(item) - {"key", "divide_by", "confirmed", "caveat"}
    if extra:
        raise ClaimsError(f"{where}: unknown fields in a check: {sorted(extra)}")
    key = str(item.get("key", keys[0]))
    divide_by = item.get("divide_by")
    for name in (key, divide_by):
        if name is not None and name != PAPER and name not in keys:
            raise ClaimsError(f"{where}: the check uses {name!r}, which is not shown in 'ours'")
    if divide_by == PAPER and paper_value is None:
        raise ClaimsError(f"{where}: 'divide_by: paper' needs a 'paper_value'")
    confirmed = _band(item["confirmed"], f"{where} (confirmed)")
    caveat = _band(item["caveat"], f"{where} (caveat)") if "caveat" in item else None
    return Check(key, divide_by, confirmed, caveat)


def parse_claim(item: Any, index: int) -> Claim:
    """One claim from its mapping in the claims file; raises :class:`ClaimsError`."""
    if not isinstance(item, dict):
        raise ClaimsError(f"claim #{index + 1}: expected a mapping, got {type(item).__name__}")
    where = f"claim {item.get('id', f'#{index + 1}')}"
    missing = [name for name in _REQUIRED if name not in item]
    if missing:
        raise ClaimsError(f"{where}: missing fields {missing}")
    unknown = set(item) - _CLAIM_FIELDS
    if unknown:
        raise ClaimsError(f"{where}: unknown fields {sorted(unknown)}")
    paper_value = item.get("paper_value")
    if paper_value is not None and not isinstance(paper_value, int | float):
        raise ClaimsError(f"{where}: 'paper_value' must be a number")
    if not isinstance(item["ours"], list) or not item["ours"]:
        raise ClaimsError(f"{where}: 'ours' must be a non-empty list")
    ours = tuple(_quantity(q, where) for q in item["ours"])
    keys = tuple(q.key for q in ours)
    if len(set(keys)) != len(keys):
        raise ClaimsError(f"{where}: a key is listed twice in 'ours'")
    if not isinstance(item["checks"], list) or not item["checks"]:
        raise ClaimsError(f"{where}: 'checks' must be a non-empty list")
    checks = tuple(_check(c, where, keys, paper_value) for c in item["checks"])
    return Claim(
        id=str(item["id"]),
        claim=str(item["claim"]),
        target=str(item.get("target", "")),
        paper=str(item["paper"]),
        paper_value=None if paper_value is None else float(paper_value),
        chapter=str(item["chapter"]),
        section=str(item["section"]),
        ours=ours,
        checks=checks,
        why=str(item["why"]),
    )


def parse_claims(data: Any) -> tuple[Claim, ...]:
    """All claims of a loaded claims file (``{"claims": [...]}``), validated."""
    if not isinstance(data, dict) or not isinstance(data.get("claims"), list):
        raise ClaimsError("the claims file must be a mapping with a list under 'claims'")
    claims = tuple(parse_claim(item, i) for i, item in enumerate(data["claims"]))
    seen: set[str] = set()
    for claim in claims:
        if claim.id in seen:
            raise ClaimsError(f"claim {claim.id}: the id is used twice")
        seen.add(claim.id)
        if claim.id.startswith("R") and not claim.target:
            raise ClaimsError(f"claim {claim.id}: a reproduction target needs its 'target' words")
    return claims


def load_claims(path: str | Path) -> tuple[Claim, ...]:
    """Read and validate the claims file at ``path``."""
    path = Path(path)
    if not path.is_file():
        raise ClaimsError(f"no claims file at {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ClaimsError(f"{path} is not valid YAML: {exc}") from exc
    return parse_claims(data)


# --------------------------------------------------------------------------- verdicts


def check_measure(check: Check, values: dict[str, float], paper_value: float | None) -> float:
    """The number a check compares with its bands: a glued value, or its ratio."""
    x = values[check.key]
    if check.divide_by is None:
        return x
    denominator = paper_value if check.divide_by == PAPER else values[check.divide_by]
    if denominator is None or denominator == 0:
        return math.nan
    return x / denominator


def check_verdict(check: Check, measure: float) -> str:
    """Confirmed, confirmed with a caveat, or not reproduced, from the bands."""
    if check.confirmed.contains(measure):
        return CONFIRMED
    if check.caveat is not None and check.caveat.contains(measure):
        return CAVEAT
    return NOT_REPRODUCED


def claim_verdict(claim: Claim, values: dict[str, float]) -> str:
    """The worst verdict of the claim's checks on our glued ``values`` (key -> number)."""
    verdicts = [
        check_verdict(check, check_measure(check, values, claim.paper_value))
        for check in claim.checks
    ]
    return max(verdicts, key=VERDICTS.index)


def rule_words(claim: Claim) -> str:
    """The claim's verdict rule in words."""
    labels = {q.key: (q.label or "ours") for q in claim.ours}
    parts = []
    for check in claim.checks:
        what = labels[check.key]
        if check.divide_by == PAPER:
            what = f"{what} / the paper's number"
        elif check.divide_by is not None:
            what = f"{what} / {labels[check.divide_by]}"
        text = f"confirmed if {check.confirmed.words(what)}"
        if check.caveat is not None:
            text += f"; with a caveat if {check.caveat.words(what)}"
        parts.append(text)
    return ". ".join(parts) + "."


def glued_number(text_plain: str) -> float:
    """The number behind a glued ``text/plain`` representation."""
    try:
        value = ast.literal_eval(text_plain)
    except (SyntaxError, ValueError) as exc:
        raise ValueError(f"not a number: {text_plain!r}") from exc
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"not a number: {text_plain!r}")
    return float(value)


def pasted_text(text_plain: str, fmt: str) -> str:
    """The glued value as ``{glue:text}`key:fmt``` pastes it (MyST-NB's formatter)."""
    from myst_nb.core.variables import format_plain_text

    return format_plain_text(text_plain, fmt)


# --------------------------------------------------------------------------- the build


def _claims_path(app: Sphinx) -> Path:
    return Path(app.srcdir) / app.config.ebp_scoreboard_claims


def _claims(app: Sphinx) -> tuple[Claim, ...]:
    claims = getattr(app, "ebp_claims", None)
    if claims is None:
        try:
            claims = load_claims(_claims_path(app))
        except ClaimsError as exc:
            raise ExtensionError(f"ebp_scoreboard: {exc}") from exc
        app.ebp_claims = claims  # type: ignore[attr-defined]
    return claims


def _glue_data(app: Sphinx, docname: str) -> dict[str, Any]:
    """What MyST-NB stored of the chapter's glued outputs (key -> output)."""
    folder = Path(app.env.mystnb_config.output_folder)
    path = folder.joinpath(*docname.split("/")[:-1], docname.split("/")[-1] + ".glue.json")
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def _sections(app: Sphinx, docname: str) -> dict[str, str]:
    """Anchor -> title of every section of a document (its doctree is read once per build)."""
    cache = app.ebp_sections  # type: ignore[attr-defined]
    if docname not in cache:
        found: dict[str, str] = {}
        for section in app.env.get_doctree(docname).findall(nodes.section):
            title = section[0].astext() if section.children else ""
            for anchor in [*section["ids"], section.get("slug")]:
                if anchor:
                    found.setdefault(anchor, title)
        cache[docname] = found
    return cache[docname]


def _validate_against_build(app: Sphinx, env: BuildEnvironment) -> None:
    """Every claim's chapter, section and glue keys exist; else a build error naming it."""
    from myst_nb.sphinx_ import NbMetadataCollector

    doc_data = NbMetadataCollector.get_doc_data(env)
    problems = []
    for claim in _claims(app):
        if claim.chapter not in env.found_docs:
            problems.append(f"claim {claim.id}: unknown chapter {claim.chapter!r}")
            continue
        glued = set(doc_data.get(claim.chapter, {}).get("glue", []))
        for quantity in claim.ours:
            if quantity.key not in glued:
                problems.append(f"claim {claim.id}: {claim.chapter} glues no key {quantity.key!r}")
        if claim.section not in _sections(app, claim.chapter):
            problems.append(f"claim {claim.id}: {claim.chapter} has no section {claim.section!r}")
    if problems:
        raise ExtensionError("ebp_scoreboard: " + "; ".join(problems))


@dataclass(frozen=True)
class Row:
    """A claim with our numbers, as pasted, and its verdict."""

    claim: Claim
    values: dict[str, float]
    texts: dict[str, str]
    verdict: str


def _rows(app: Sphinx) -> list[Row]:
    rows = []
    cache: dict[str, dict[str, Any]] = {}
    for claim in _claims(app):
        data = cache.setdefault(claim.chapter, _glue_data(app, claim.chapter))
        values, texts = {}, {}
        for q in claim.ours:
            output = data.get(q.key)
            if output is None or "text/plain" not in output.get("data", {}):
                raise ExtensionError(
                    f"ebp_scoreboard: claim {claim.id}: no glued text for {q.key!r} "
                    f"in {claim.chapter}"
                )
            plain = output["data"]["text/plain"]
            try:
                values[q.key] = glued_number(plain)
            except ValueError as exc:
                raise ExtensionError(f"ebp_scoreboard: claim {claim.id}: {exc}") from exc
            texts[q.key] = pasted_text(plain, q.format)
        rows.append(Row(claim, values, texts, claim_verdict(claim, values)))
    return rows


# --------------------------------------------------------------------------- rendering (HTML)


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _uri(app: Sphinx, fromdoc: str, todoc: str, anchor: str = "") -> str:
    uri = "" if fromdoc == todoc else app.builder.get_relative_uri(fromdoc, todoc)
    return uri + (f"#{anchor}" if anchor else "")


def _chapter_label(app: Sphinx, docname: str) -> str:
    numbers = app.env.toc_secnumbers.get(docname, {}).get("", ())
    title = app.env.titles[docname].astext() if docname in app.env.titles else docname
    return f"Chapter {'.'.join(str(n) for n in numbers)}, {title}" if numbers else title


def _section_title(app: Sphinx, docname: str, anchor: str) -> str:
    return _sections(app, docname).get(anchor) or anchor


def _measured_html(row: Row) -> str:
    parts = []
    for q in row.claim.ours:
        value = (
            f'<span class="ebp-sb-value" data-doc="{_e(row.claim.chapter)}" '
            f'data-key="{_e(q.key)}" data-format="{_e(q.format)}">{_e(row.texts[q.key])}</span>'
        )
        label = f"{_e(q.label)}: " if q.label else ""
        parts.append(f"{label}{value}{_e(q.unit)}")
    return "<br>".join(parts)


def _verdict_html(verdict: str) -> str:
    css = VERDICT_CLASS[verdict]
    badge = BADGE[verdict]  # sphinx-design's badge colours, which the theme ships
    return (
        f'<span class="ebp-verdict ebp-verdict-{css} sd-badge sd-bg-{badge} '
        f'sd-bg-text-{badge}">{_e(verdict)}</span>'
    )


def _table_html(app: Sphinx, fromdoc: str, rows: list[Row]) -> str:
    head = "".join(f"<th>{h}</th>" for h in ("Claim", "Paper", "Measured", "Verdict", "Shown in"))
    body = []
    for row in rows:
        c = row.claim
        link = _uri(app, fromdoc, c.chapter, c.section)
        where = f"{_chapter_label(app, c.chapter)}: {_section_title(app, c.chapter, c.section)}"
        body.append(
            f'<tr id="claim-{_e(c.id)}" class="ebp-sb-row" data-claim="{_e(c.id)}" '
            f'data-verdict="{VERDICT_CLASS[row.verdict]}">'
            f'<td data-label="Claim"><strong>{_e(c.id)}</strong> {_e(c.claim)}</td>'
            f'<td data-label="Paper">{_e(c.paper)}</td>'
            f'<td data-label="Measured">{_measured_html(row)}</td>'
            f'<td data-label="Verdict">{_verdict_html(row.verdict)}'
            f'<details class="ebp-sb-rule"><summary>rule</summary><small>{_e(rule_words(c))} '
            f"{_e(c.why)}</small></details></td>"
            f'<td data-label="Shown in"><a class="ebp-sb-link reference internal" '
            f'href="{_e(link)}">{_e(where)}</a></td>'
            "</tr>"
        )
    return (
        '<div class="pst-scrollable-table-container">'
        '<table class="table ebp-scoreboard">'
        "<caption>Every claim of the paper that the book tests, with the paper's number, "
        "the book's and the verdict.</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def _targets_html(app: Sphinx, fromdoc: str, rows: list[Row]) -> str:
    items = []
    for row in rows:
        c = row.claim
        if not c.target:
            continue
        link = _uri(app, fromdoc, c.chapter, c.section)
        items.append(
            f'<dt id="target-{_e(c.id)}">{_e(c.id)}</dt><dd><p>{_e(c.target)} '
            f'Tested in <a class="reference internal" href="{_e(link)}">'
            f"{_e(_chapter_label(app, c.chapter))}</a>; "
            f'verdict: <a class="reference internal" href="#claim-{_e(c.id)}">'
            f"{_e(row.verdict)}</a>.</p></dd>"
        )
    return f'<dl class="simple ebp-targets">{"".join(items)}</dl>'


def _counts(rows: list[Row]) -> dict[str, int]:
    return {v: sum(row.verdict == v for row in rows) for v in VERDICTS}


def _summary_html(app: Sphinx, fromdoc: str, rows: list[Row]) -> str:
    counts = _counts(rows)
    link = _uri(app, fromdoc, app.config.ebp_scoreboard_page)
    listed = ", ".join(
        f'<span class="ebp-sb-count" data-verdict="{VERDICT_CLASS[v]}">{counts[v]}</span> {_e(v)}'
        for v in VERDICTS
    )
    return (
        f'<p class="ebp-scoreboard-summary">The book tests <span class="ebp-sb-total">'
        f"{len(rows)}</span> claims of the paper, each against a number it computes: "
        f'{listed}. <a class="reference internal" href="{_e(link)}">The scoreboard</a> '
        "lists them, paper against measured.</p>"
    )


def _box_html(app: Sphinx, docname: str, rows: list[Row]) -> str:
    board = app.config.ebp_scoreboard_page
    body = []
    for row in rows:
        c = row.claim
        to_board = _uri(app, docname, board, "claim-" + c.id)
        body.append(
            f'<tr class="ebp-sb-row" data-claim="{_e(c.id)}">'
            f'<td data-label="Claim"><a class="reference internal" href="{_e(to_board)}">'
            f"<strong>{_e(c.id)}</strong></a> {_e(c.claim)} "
            f'(<a class="reference internal" href="#{_e(c.section)}">section</a>)</td>'
            f'<td data-label="Paper">{_e(c.paper)}</td>'
            f'<td data-label="Measured">{_measured_html(row)}</td>'
            f'<td data-label="Verdict">{_verdict_html(row.verdict)}</td></tr>'
        )
    head = "".join(f"<th>{h}</th>" for h in ("Claim", "Paper", "Measured", "Verdict"))
    return (
        '<div class="admonition note ebp-verdicts">'
        '<p class="admonition-title">What this chapter tests</p>'
        '<div class="pst-scrollable-table-container"><table class="table ebp-verdict-table">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
        f'<p>Every claim the book tests, and how its verdict is decided: <a class="reference '
        f'internal" href="{_e(_uri(app, docname, board))}">the scoreboard</a>.</p></div>'
    )


# --------------------------------------------------------------------------- Sphinx wiring


class scoreboard_placeholder(nodes.General, nodes.Element):
    """Where a scoreboard directive's output goes once every chapter's glue is known."""


def _skip(self: Any, node: nodes.Element) -> None:
    raise nodes.SkipNode


def _directive(kind: str) -> type[Directive]:
    class ScoreboardDirective(Directive):
        has_content = False

        def run(self) -> list[nodes.Node]:
            env = self.state.document.settings.env
            env.note_dependency(str(Path(env.app.srcdir) / env.config.ebp_scoreboard_claims))
            pages = getattr(env, ENV_PAGES, None)
            if pages is None:
                pages = {}
                setattr(env, ENV_PAGES, pages)
            pages.setdefault(env.docname, set()).add(kind)
            return [scoreboard_placeholder("", kind=kind)]

    ScoreboardDirective.__name__ = f"Scoreboard_{kind}"
    return ScoreboardDirective


_RENDER = {"table": _table_html, "targets": _targets_html, "summary": _summary_html}


def _insert_box(doctree: nodes.document, raw: nodes.raw) -> None:
    for admonition in doctree.findall(nodes.admonition):
        if admonition.children and admonition[0].astext().strip() == INTRO_TITLE:
            admonition.parent.insert(admonition.parent.index(admonition) + 1, raw)
            return
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is not None:
        section.insert(1, raw)


def _on_doctree_resolved(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    placeholders = list(doctree.findall(scoreboard_placeholder))
    owns = [c for c in _claims(app) if c.chapter == docname]
    if not placeholders and not owns:
        return
    rows = _rows(app)
    for node in placeholders:
        if app.builder.format == "html":
            new: nodes.Node = nodes.raw(
                "", _RENDER[node["kind"]](app, docname, rows), format="html"
            )
        else:
            counts = _counts(rows)
            new = nodes.paragraph(text=", ".join(f"{counts[v]} {v}" for v in VERDICTS))
        node.replace_self(new)
    if owns and app.builder.format == "html":
        mine = [row for row in rows if row.claim.chapter == docname]
        _insert_box(doctree, nodes.raw("", _box_html(app, docname, mine), format="html"))


def _claims_hash(app: Sphinx) -> str:
    path = _claims_path(app)
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""


def _on_env_get_outdated(
    app: Sphinx, env: BuildEnvironment, added: set[str], changed: set[str], removed: set[str]
) -> list[str]:
    """When the claims file changed, the chapters owning claims get their boxes again."""
    digest = _claims_hash(app)
    if getattr(env, ENV_HASH, None) == digest:
        return []
    setattr(env, ENV_HASH, digest)
    owners = {c.chapter for c in _claims(app)} & set(env.found_docs)
    return sorted(owners | set(getattr(env, ENV_PAGES, {})))


def _on_env_updated(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """Check the claims against the build, and have the pages that show them written again."""
    app.ebp_sections = {}  # type: ignore[attr-defined]
    _validate_against_build(app, env)
    if not getattr(app, "ebp_read_any", False):
        return []  # nothing was read: every page that shows a claim is up to date
    return sorted(getattr(env, ENV_PAGES, {}))


def _on_env_before_read_docs(app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> None:
    app.ebp_read_any = bool(docnames)  # type: ignore[attr-defined]


def _on_env_purge_doc(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    getattr(env, ENV_PAGES, {}).pop(docname, None)


def _on_env_merge_info(
    app: Sphinx, env: BuildEnvironment, docnames: set[str], other: BuildEnvironment
) -> None:
    pages = getattr(env, ENV_PAGES, None)
    if pages is None:
        pages = {}
        setattr(env, ENV_PAGES, pages)
    for docname, kinds in getattr(other, ENV_PAGES, {}).items():
        if docname in docnames:
            pages.setdefault(docname, set()).update(kinds)


def _on_builder_inited(app: Sphinx) -> None:
    app.ebp_claims = None  # type: ignore[attr-defined]
    app.ebp_sections = {}  # type: ignore[attr-defined]
    _claims(app)  # a malformed claims file fails the build before any chapter runs


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("ebp_scoreboard_claims", "book/_data/claims.yml", "env", [str])
    app.add_config_value("ebp_scoreboard_page", "book/scoreboard", "env", [str])
    app.add_node(
        scoreboard_placeholder,
        **{fmt: (_skip, None) for fmt in ("html", "latex", "text", "man", "texinfo")},
    )
    app.add_directive("scoreboard", _directive("table"))
    app.add_directive("scoreboard-targets", _directive("targets"))
    app.add_directive("scoreboard-summary", _directive("summary"))
    app.connect("builder-inited", _on_builder_inited)
    app.connect("env-get-outdated", _on_env_get_outdated)
    app.connect("env-before-read-docs", _on_env_before_read_docs)
    app.connect("env-updated", _on_env_updated)
    app.connect("env-purge-doc", _on_env_purge_doc)
    app.connect("env-merge-info", _on_env_merge_info)
    app.connect("doctree-resolved", _on_doctree_resolved)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
