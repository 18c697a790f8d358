"""Sphinx extension: a correct execution cache for chapters that import ``ebp``, executed in
parallel, and a report.

Jupyter Book's execution cache (jupyter-cache, through MyST-NB) keys a notebook on its cell
sources only, so editing ``ebp/`` would leave stale figures and numbers in the book. This
extension closes that gap:

1. Each chapter whose code imports ``ebp`` depends on the files its imports reach
   (``ebp_imports``: the static import closure inside the package, plus the other paths in
   ``ebp_fingerprint_paths``, by default the lock file of pinned versions). Their SHA-256
   fingerprint goes into a hidden last cell of the chapter, so the cache key changes exactly
   when code the chapter runs, or a pinned version, changes; and a chapter whose fingerprint
   changed since the last build is re-read. A chapter that does not import ``ebp`` is left
   alone; so is one whose imports do not reach the edited module.
2. Before Sphinx reads the pages, the chapters that are not in the cache are executed in
   parallel, ``ebp_execution_workers`` at a time (0, the default: one per usable CPU core; the
   environment variable ``EBP_EXECUTION_WORKERS`` overrides it; see ``ebp_parallel``).
3. When the build ends it prints how each chapter was executed (executed now, taken from the
   cache, or not re-read) with its run time, and writes the same rows, with the wall time of
   the parallel execution, to ``<build dir>/execution-report.json`` for the tests.

It also mends one gap of Sphinx's incremental build: when no page is out of date Sphinx writes
nothing, not even the static files, so an edited stylesheet or script in ``html_static_path``
never reached the site. A change in those files now marks the root page out of date, which
makes Sphinx finish the build and copy them.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

import ebp_parallel
from ebp_imports import PackageGraph
from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

FINGERPRINT_CELL = """

```{{code-cell}} ipython3
:tags: [remove-cell]

# ebp fingerprint {fingerprint}
# (added by book/_ext/ebp_build.py: re-execute when ebp/ or the pinned versions change)
```
"""


def _fingerprint_files(root: Path, paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for entry in paths:
        path = (root / entry).resolve()
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files.extend(
                p
                for p in path.rglob("*")
                if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
            )
        else:
            raise FileNotFoundError(f"ebp_fingerprint_paths: {entry!r} not found under {root}")
    return sorted(set(files))


def fingerprint(root: Path, files: list[Path], digests: dict[Path, bytes] | None = None) -> str:
    """SHA-256 over the files' paths (relative to ``root``) and contents.

    ``digests`` holds each file's own SHA-256 where it is already known.
    """
    digest = hashlib.sha256()
    for path in files:
        if digests is None:
            content = path.read_bytes()
        else:
            if path not in digests:
                digests[path] = hashlib.sha256(path.read_bytes()).digest()
            content = digests[path]
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(content)
        digest.update(b"\0")
    return digest.hexdigest()


def _on_builder_inited(app: Sphinx) -> None:
    root = Path(app.confdir).resolve()
    module = app.config.ebp_fingerprint_module
    others = [p for p in app.config.ebp_fingerprint_paths if p.strip("/") != module]
    graph = PackageGraph(root, module)
    always = _fingerprint_files(root, others)
    app.ebp_graph, app.ebp_always = graph, always  # type: ignore[attr-defined]
    app.ebp_build_start = time.time()  # type: ignore[attr-defined]
    app.ebp_read = set()  # type: ignore[attr-defined]
    app.ebp_pool = {}  # type: ignore[attr-defined]
    # For other extensions that rebuild a chapter's notebook (ebp_chapter_tools).
    app.ebp_source_of = lambda _docname, text: source_as_read(app, text)  # type: ignore[attr-defined]
    # Every file is read once, now: all chapters are keyed on the same contents even if a
    # file is edited while the book builds.
    app.ebp_digests = {  # type: ignore[attr-defined]
        path: hashlib.sha256(path.read_bytes()).digest()
        for path in [*graph.modules.values(), *graph.other_files, *always]
    }


def chapter_fingerprint(app: Sphinx, text: str) -> str | None:
    """The fingerprint of the files a chapter's imports run, or None if it imports no ebp."""
    if not text.lstrip().startswith("---") or "```{code-cell}" not in text:
        return None
    files = app.ebp_graph.files_run_by(text)  # type: ignore[attr-defined]
    if not files:
        return None
    root = Path(app.confdir).resolve()
    return fingerprint(root, files + app.ebp_always, app.ebp_digests)  # type: ignore[attr-defined]


def source_as_read(app: Sphinx, text: str) -> str:
    """A chapter's source as MyST-NB reads it: with the fingerprint cell if it imports ebp."""
    value = chapter_fingerprint(app, text)
    if value is None:
        return text
    return text.rstrip("\n") + FINGERPRINT_CELL.format(fingerprint=value)


def _on_source_read(app: Sphinx, docname: str, source: list[str]) -> None:
    app.ebp_read.add(docname)  # type: ignore[attr-defined]
    # Pickled with the environment: the next build compares it (see _on_env_get_outdated).
    app.env.ebp_chapter_fingerprints[docname] = chapter_fingerprint(app, source[0])
    source[0] = source_as_read(app, source[0])


def _on_env_get_outdated(
    app: Sphinx, env: Any, added: set[str], changed: set[str], removed: set[str]
) -> list[str]:
    """Pages to re-read although their source is unchanged.

    The chapters whose fingerprint changed (code they import, or a pinned version), and the
    root page when a static file changed since the last build (see the module note).
    """
    if not hasattr(env, "ebp_chapter_fingerprints"):
        env.ebp_chapter_fingerprints = {}
    outdated = []
    for docname in sorted(env.found_docs - added - changed - removed):
        text = Path(env.doc2path(docname)).read_text(encoding="utf-8")
        if chapter_fingerprint(app, text) != env.ebp_chapter_fingerprints.get(docname):
            outdated.append(docname)
    static = _static_fingerprint(app)
    if getattr(env, "ebp_static_fingerprint", None) != static:
        env.ebp_static_fingerprint = static
        outdated.append(app.config.root_doc)
    return outdated


def _on_env_before_read_docs(app: Sphinx, env: Any, docnames: list[str]) -> None:
    """Execute the chapters about to be read that are not cached, in parallel."""
    setting = os.environ.get("EBP_EXECUTION_WORKERS", app.config.ebp_execution_workers)
    n = ebp_parallel.workers(int(setting))
    app.ebp_pool = ebp_parallel.pre_execute(  # type: ignore[attr-defined]
        app, env, docnames, lambda _docname, text: source_as_read(app, text), n
    )


def _execution_rows(app: Sphinx) -> list[dict[str, Any]]:
    from myst_nb.sphinx_ import NbMetadataCollector

    rows = []
    for docname, data in sorted(NbMetadataCollector.get_doc_data(app.env).items()):
        exec_data = data.get("exec_data")
        if not exec_data or docname not in app.env.all_docs:
            continue
        if docname not in app.ebp_read:  # type: ignore[attr-defined]
            status = "unchanged"
        elif exec_data["mtime"] >= app.ebp_build_start - 1.0:  # type: ignore[attr-defined]
            status = "executed"
        else:
            status = "cached"
        runtime = exec_data.get("runtime")
        rows.append(
            {
                "docname": docname,
                "status": status,
                "runtime_s": None if runtime is None else round(float(runtime), 2),
                "succeeded": bool(exec_data.get("succeeded")),
            }
        )
    return rows


def _on_build_finished(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or not hasattr(app, "ebp_read"):
        return
    rows = _execution_rows(app)
    report = Path(app.outdir).parent / "execution-report.json"
    pool = app.ebp_pool  # type: ignore[attr-defined]
    report.write_text(json.dumps({"chapters": rows, "parallel": pool}, indent=2) + "\n")
    executed = [r for r in rows if r["status"] == "executed"]
    total = sum(r["runtime_s"] or 0.0 for r in executed)
    lines = [f"{'chapter':<40} {'status':<10} {'run time (s)':>12}"]
    for r in rows:
        runtime = "" if r["runtime_s"] is None else f"{r['runtime_s']:.1f}"
        lines.append(f"{r['docname']:<40} {r['status']:<10} {runtime:>12}")
    lines.append(f"{len(executed)} chapter(s) executed in this build, {total:.1f} s in total")
    if pool.get("executed"):
        lines.append(
            f"{pool['executed']} of them in parallel on {pool['workers']} worker(s), "
            f"in {pool['wall_s']:.1f} s of wall time"
        )
    logger.info("\nChapter execution times:\n" + "\n".join(lines))


def _static_fingerprint(app: Sphinx) -> str:
    """Fingerprint of the book's own static files (extensions add their folders too: skipped)."""
    root = Path(app.confdir).resolve()
    paths = []
    for entry in getattr(app.config, "html_static_path", []):
        path = (root / entry).resolve()
        if path.exists() and path.is_relative_to(root):
            paths.append(str(path.relative_to(root)))
    return fingerprint(root, _fingerprint_files(root, paths))


def _one_document(app: Sphinx, doctree: Any) -> None:
    """Point every node at the page's own document before the doctree is pickled.

    Nodes made by a nested parse (the ``{automodule}`` directives of the API pages, run by
    MyST) keep a reference to the temporary document they were parsed in, and each of those
    drags the whole page in again when pickled: 6 MB per API page instead of 0.2 MB. Sphinx
    unpickles every page's doctree on every build to number the figures, so that made a
    no-change rebuild take 35 s instead of a few.
    """
    for node in doctree.findall():
        if getattr(node, "_document", doctree) is not doctree:
            node._document = doctree


def _drop_duplicate_inline_js(app: Sphinx, env: Any) -> None:
    """Sphinx 7.x writes inline scripts that extensions add late twice (sphinx-doc/sphinx#13402).

    The second copy re-declares ``THEBE_JS_URL`` and throws on every page; inline scripts
    (those without a file name) are kept once, in the page context.
    """
    js_files = getattr(app.builder, "_js_files", None)
    if js_files is not None:
        js_files[:] = [js for js in js_files if js.filename is not None]


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("ebp_fingerprint_paths", ["ebp"], "env", [list])
    app.add_config_value("ebp_fingerprint_module", "ebp", "env", [str])
    # Worker processes executing chapters; 0: one per usable CPU core. The environment
    # variable EBP_EXECUTION_WORKERS overrides it (benchmarks/book_build.py compares 1 with 2).
    app.add_config_value("ebp_execution_workers", 0, "", [int])
    app.connect("builder-inited", _on_builder_inited)
    app.connect("source-read", _on_source_read)
    app.connect("env-get-outdated", _on_env_get_outdated)
    app.connect("doctree-read", _one_document)
    app.connect("env-before-read-docs", _on_env_before_read_docs)
    app.connect("env-updated", _drop_duplicate_inline_js)
    app.connect("build-finished", _on_build_finished)
    return {"version": "1.0", "parallel_read_safe": False, "parallel_write_safe": True}
