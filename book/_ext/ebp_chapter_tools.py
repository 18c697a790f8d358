"""Sphinx extension: every executed chapter offers its notebook, its source and a citation.

Under each executed chapter's title it adds one line of tools:

- **Notebook (.ipynb)**: the chapter as a Jupyter notebook *with its outputs*, written beside
  the page (``book/<name>.ipynb``). It is made from the same notebook MyST-NB executed (its
  MyST reader, jupytext's format), with the outputs merged from the execution cache, so it
  shows exactly the figures and numbers of the page; the hidden cache-key cell that
  ``ebp_build`` adds is left out.
- **Source**: the chapter's MyST file as served with the site (``_sources/``), named by its
  path in the repository.
- **Cite this chapter**: a BibTeX entry built from the chapter (its title, number and stable
  file name) and the book (title, authors, year of the copyright, version of the ``ebp``
  package).

It also puts the version and the licence in every page's footer.
"""

from __future__ import annotations

import html
import importlib.metadata
import re
from pathlib import Path
from typing import Any

import nbformat
from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

FINGERPRINT_MARK = "# ebp fingerprint "
_BIBTEX_SPECIAL = re.compile(r"([&%$#_{}])")


def book_version(app: Sphinx) -> str:
    """The version of the package the book is built from (its pinned source of truth)."""
    try:
        return importlib.metadata.version(app.config.ebp_version_package)
    except importlib.metadata.PackageNotFoundError:
        return app.config.release or "unversioned"


def book_title(app: Sphinx) -> str:
    """The book's title: Jupyter Book passes ``title`` of _config.yml on as ``html_title``."""
    title = app.config.html_title or app.config.project
    return re.sub(r"\s+documentation$", "", title)


def _bibtex_text(text: str) -> str:
    return _BIBTEX_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def bibtex_entry(
    *, docname: str, title: str, number: str, book: str, author: str, year: str, version: str
) -> str:
    """The BibTeX entry of one chapter (a chapter of the book, ``@incollection``)."""
    key = "ebp-" + re.sub(r"[^A-Za-z0-9-]+", "-", docname.rsplit("/", 1)[-1])
    chapter = f"Chapter {number}, " if number else ""
    fields = [
        ("author", f"{{{_bibtex_text(author)}}}"),
        ("title", _bibtex_text(title)),
        ("booktitle", _bibtex_text(book)),
        ("year", year),
        ("edition", f"version {version}"),
        ("note", f"{chapter}file \\texttt{{{_bibtex_text(docname)}}}"),
    ]
    body = ",\n".join(f"  {name:<9} = {{{value}}}" for name, value in fields)
    return f"@incollection{{{key},\n{body}\n}}"


def _executed(app: Sphinx, docname: str) -> bool:
    from myst_nb.sphinx_ import NbMetadataCollector

    data = NbMetadataCollector.get_doc_data(app.env).get(docname, {})
    return bool(data.get("exec_data"))


def _year(app: Sphinx) -> str:
    match = re.search(r"\d{4}", str(app.config.copyright))
    return match.group(0) if match else ""


def _tools_html(app: Sphinx, docname: str, title: str) -> str:
    name = docname.rsplit("/", 1)[-1]
    source = docname + app.env.doc2path(docname, base=False)[len(docname) :]
    numbers = app.env.toc_secnumbers.get(docname, {}).get("", ())
    entry = bibtex_entry(
        docname=docname,
        title=title,
        number=".".join(str(n) for n in numbers),
        book=book_title(app),
        author=app.config.author,
        year=_year(app),
        version=book_version(app),
    )
    depth = docname.count("/")
    root = "../" * depth
    return (
        '<div class="ebp-chapter-tools">'
        f'<a class="ebp-download-notebook" href="{html.escape(name)}.ipynb" download>'
        "Notebook (.ipynb)</a>"
        f'<a class="ebp-source" href="{root}_sources/{html.escape(source)}">'
        f"Source (<code>{html.escape(source)}</code>)</a>"
        '<details class="ebp-cite"><summary>Cite this chapter</summary>'
        f"<pre>{html.escape(entry)}</pre></details>"
        "</div>"
    )


def _on_doctree_resolved(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    if app.builder.format != "html" or not _executed(app, docname):
        return
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None or not section.children or not isinstance(section[0], nodes.title):
        return
    raw = nodes.raw("", _tools_html(app, docname, section[0].astext()), format="html")
    section.insert(1, raw)
    app.ebp_written_chapters.add(docname)  # type: ignore[attr-defined]


def chapter_notebook(app: Sphinx, docname: str) -> nbformat.NotebookNode | None:
    """The chapter as MyST-NB executed it, with the cached outputs; None if not cached."""
    from jupyter_cache import get_cache
    from myst_nb.core.read import create_nb_reader

    path = Path(app.env.doc2path(docname))
    text = path.read_text(encoding="utf-8")
    source_of = getattr(app, "ebp_source_of", None)  # ebp_build's source-read transform
    if source_of is not None:
        text = source_of(docname, text)
    reader = create_nb_reader(str(path), app.env.myst_config, app.env.mystnb_config, text)
    if reader is None:
        return None
    cache = get_cache(app.env.mystnb_config.execution_cache_path or ".jupyter_cache")
    try:
        _, notebook = cache.merge_match_into_notebook(reader.read(text))
    except KeyError:
        return None
    notebook.cells = [
        cell
        for cell in notebook.cells
        if not (cell.cell_type == "code" and cell.source.startswith(FINGERPRINT_MARK))
    ]
    # The reader gives each cell a random id; numbered ids keep two builds' files identical.
    for number, cell in enumerate(notebook.cells, start=1):
        cell.id = f"cell-{number}"
    return notebook


def _on_build_finished(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    written = app.ebp_written_chapters  # type: ignore[attr-defined]
    for docname in sorted(app.env.found_docs):
        target = Path(app.outdir) / f"{docname}.ipynb"
        if not _executed(app, docname) or (docname not in written and target.is_file()):
            continue  # a page not rewritten keeps its notebook: a no-change rebuild stays fast
        notebook = chapter_notebook(app, docname)
        if notebook is None:
            logger.warning(f"{docname}: no executed notebook in the cache to offer for download")
            continue
        nbformat.validate(notebook)
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, str(target))


def _on_builder_inited(app: Sphinx) -> None:
    app.ebp_written_chapters = set()  # type: ignore[attr-defined]


def _on_config_inited(app: Sphinx, config: Any) -> None:
    options = dict(config.html_theme_options or {})
    footer = options.get("extra_footer", "")
    options["extra_footer"] = (
        f"{footer} Version {html.escape(book_version(app))}. {config.ebp_licence_html}"
    ).strip()
    config.html_theme_options = options


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("ebp_version_package", "ebp", "env", [str])
    app.add_config_value("ebp_licence_html", "", "html", [str])
    app.connect("config-inited", _on_config_inited)
    app.connect("builder-inited", _on_builder_inited)
    app.connect("doctree-resolved", _on_doctree_resolved)
    app.connect("build-finished", _on_build_finished)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
