"""Sphinx extension: a correct execution cache for chapters that import ``ebp``, and a report.

Jupyter Book's execution cache (jupyter-cache, through MyST-NB) keys a notebook on its cell
sources only, so editing ``ebp/`` would leave stale figures and numbers in the book. This
extension closes that gap:

1. When the build starts it computes a fingerprint (SHA-256) of every file under the paths in
   ``ebp_fingerprint_paths`` (by default the ``ebp`` package and the lock file of pinned
   versions).
2. Each chapter whose code imports ``ebp`` gets a hidden last cell holding that fingerprint,
   so the cache key changes exactly when imported code or pinned versions change; and a stamp
   file holding the fingerprint is registered as the chapter's dependency, so Sphinx re-reads
   the chapter when the fingerprint changes. A chapter that does not import ``ebp`` is left
   alone.
3. When the build ends it prints how each chapter was executed (executed now, taken from the
   cache, or not re-read) with its run time, and writes the same rows to
   ``<build dir>/execution-report.json`` for the tests.

It also mends one gap of Sphinx's incremental build: when no page is out of date Sphinx writes
nothing, not even the static files, so an edited stylesheet or script in ``html_static_path``
never reached the site. A change in those files now marks the root page out of date, which
makes Sphinx finish the build and copy them.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from pathlib import Path
from typing import Any

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


def fingerprint(root: Path, files: list[Path]) -> str:
    """SHA-256 over the files' paths (relative to ``root``) and contents."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def _on_builder_inited(app: Sphinx) -> None:
    root = Path(app.confdir)
    files = _fingerprint_files(root, list(app.config.ebp_fingerprint_paths))
    app.ebp_fingerprint = fingerprint(root, files)  # type: ignore[attr-defined]
    # One stamp file stands for all of them: it is rewritten (new mtime) only when the
    # fingerprint changes, so Sphinx re-reads the chapters that depend on it exactly then
    # (an edit, a new or removed module, a changed pin), and not when a file is only touched.
    stamp = Path(app.doctreedir) / "ebp-fingerprint.txt"
    if not stamp.exists() or stamp.read_text() != app.ebp_fingerprint:  # type: ignore[attr-defined]
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(app.ebp_fingerprint)  # type: ignore[attr-defined]
    app.ebp_stamp = stamp  # type: ignore[attr-defined]
    app.ebp_build_start = time.time()  # type: ignore[attr-defined]
    app.ebp_read = set()  # type: ignore[attr-defined]
    module = re.escape(app.config.ebp_fingerprint_module)
    app.ebp_import_re = re.compile(  # type: ignore[attr-defined]
        rf"^\s*(?:import|from)\s+{module}(?:\.|\s|$)", re.MULTILINE
    )


def _on_source_read(app: Sphinx, docname: str, source: list[str]) -> None:
    app.ebp_read.add(docname)  # type: ignore[attr-defined]
    text = source[0]
    if not text.lstrip().startswith("---") or "```{code-cell}" not in text:
        return
    if not app.ebp_import_re.search(text):  # type: ignore[attr-defined]
        return
    source[0] = text.rstrip("\n") + FINGERPRINT_CELL.format(
        fingerprint=app.ebp_fingerprint  # type: ignore[attr-defined]
    )
    app.env.note_dependency(str(app.ebp_stamp))  # type: ignore[attr-defined]


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
    report.write_text(json.dumps({"chapters": rows}, indent=2) + "\n")
    executed = [r for r in rows if r["status"] == "executed"]
    total = sum(r["runtime_s"] or 0.0 for r in executed)
    lines = [f"{'chapter':<40} {'status':<10} {'run time (s)':>12}"]
    for r in rows:
        runtime = "" if r["runtime_s"] is None else f"{r['runtime_s']:.1f}"
        lines.append(f"{r['docname']:<40} {r['status']:<10} {runtime:>12}")
    lines.append(f"{len(executed)} chapter(s) executed in this build, {total:.1f} s in total")
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


def _on_env_get_outdated(
    app: Sphinx, env: Any, added: set[str], changed: set[str], removed: set[str]
) -> list[str]:
    """The root page, when a static file changed since the last build (see the module note)."""
    static = _static_fingerprint(app)
    if getattr(env, "ebp_static_fingerprint", None) == static:
        return []
    env.ebp_static_fingerprint = static  # pickled with the environment
    return [app.config.root_doc]


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
    app.connect("builder-inited", _on_builder_inited)
    app.connect("source-read", _on_source_read)
    app.connect("env-get-outdated", _on_env_get_outdated)
    app.connect("env-updated", _drop_duplicate_inline_js)
    app.connect("build-finished", _on_build_finished)
    return {"version": "1.0", "parallel_read_safe": False, "parallel_write_safe": True}
