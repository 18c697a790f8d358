"""Sphinx extension: every image in a page links to its full-resolution file.

Sphinx links an image to its file only when the source scales it (``:width:`` and the like),
and MyST-NB's figures from cell outputs are never scaled, so a reader on a phone, who sees a
figure at half its size, had no way to open it at full size.  When a page's doctree is resolved
for an HTML builder, each image that is not already inside a link is wrapped in one to the
copy the builder writes under ``_images/``.
"""

from __future__ import annotations

import posixpath
from typing import Any
from urllib.parse import quote

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.osutil import relative_uri


def _image_file(app: Sphinx, image: nodes.image) -> str | None:
    """The file name the builder gives ``image`` under ``_images/``, or ``None``."""
    candidates = [*image.get("candidates", {}).values(), image["uri"]]
    for uri in candidates:
        if uri in app.env.images:
            return app.env.images[uri][1]
    return None


def link_images(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Wrap each image of ``docname`` that is not in a link in a link to its file."""
    if app.builder.format != "html":
        return
    images_dir = relative_uri(app.builder.get_target_uri(docname), "_images")
    for image in list(doctree.findall(nodes.image)):
        if isinstance(image.parent, nodes.reference):
            continue
        name = _image_file(app, image)
        if name is None:
            continue
        link = nodes.reference(
            "",
            "",
            internal=True,
            refuri=posixpath.join(images_dir, quote(name)),
            classes=["image-reference", "ebp-full-size"],
        )
        image.replace_self(link)
        link.append(image)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("doctree-resolved", link_images)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
