"""Interactive 3-D loss surfaces for the site: the reader drags to rotate them.

:func:`surface_3d_figure` builds a plotly figure of a 2-D :class:`~ebp.landscape.Surface` (and,
optionally, the projected training path on it); :func:`surface_3d_html` turns it into an HTML
fragment for a chapter's cell output (``IPython.display.HTML``), and :func:`show_surface_3d`
returns that display object directly.

The fragment holds no JavaScript library: plotly.js is served with the site by the local
Sphinx extension ``book/_ext/ebp_plotly.py``, which adds it (``_static/plotly.min.js``, the
file the installed plotly package ships) to the pages whose output contains
:data:`INTERACTIVE_CLASS`, and to no other page.  Nothing is fetched from a CDN.

The fragment is byte-identical for the same input: its element ids are the ``element_id``
given (no random uuid), and the figure is serialized by ``plotly.io.to_json`` (no timestamp;
arrays as base64 of their float64 bytes).  A static PNG of the same surface
(:func:`ebp.plots.landscape.plot_surface_3d`) stands beside it for print: the extension's
stylesheet hides the interactive figure when the page is printed.
"""

from __future__ import annotations

import html
import math
import re
from typing import Any

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from scipy.interpolate import RegularGridInterpolator

from ebp._validate import as_float_array
from ebp.landscape import Projection, Surface
from ebp.plots.landscape import _check_path, _check_surface_2d
from ebp.plots.style import BLACK, BLUE, VERMILLION

__all__ = [
    "HEIGHT_PX",
    "INTERACTIVE_CLASS",
    "show_surface_3d",
    "surface_3d_figure",
    "surface_3d_html",
]

INTERACTIVE_CLASS = "ebp-interactive"
"""The class of the fragment's outer ``<div>``: ``book/_ext/ebp_plotly.py`` looks for it to add
plotly.js to a page."""

HEIGHT_PX = 480
"""Height of the plot in CSS pixels; its width is the text column's (100 %)."""

_ELEMENT_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]*\Z")

# The matplotlib default view (azimuth −60°, elevation 30°), as the static PNG shows it.
_AZIM, _ELEV, _DISTANCE = math.radians(-60.0), math.radians(30.0), 2.4
_CAMERA = {
    "eye": {
        "x": round(_DISTANCE * math.cos(_ELEV) * math.cos(_AZIM), 3),
        "y": round(_DISTANCE * math.cos(_ELEV) * math.sin(_AZIM), 3),
        "z": round(_DISTANCE * math.sin(_ELEV), 3),
    },
    "up": {"x": 0, "y": 0, "z": 1},
    "center": {"x": 0, "y": 0, "z": -0.1},
}

# Drag rotates; the wheel scrolls the page (not the plot); no plotly logo, no cloud links.
_CONFIG = {
    "responsive": True,
    "displaylogo": False,
    "scrollZoom": False,
    "modeBarButtonsToRemove": ["resetCameraLastSave3d"],
    "toImageButtonOptions": {"format": "png", "scale": 2},
}

LABELS = ("α", "β")
"""The default names of the two grid coordinates (axis titles and hover text)."""


def _hover(labels: tuple[str, str]) -> str:
    a, b = (html.escape(label) for label in labels)
    return f"{a} = %{{x:.3g}}<br>{b} = %{{y:.3g}}<br>loss = %{{z:.4g}}<extra></extra>"


# Draw once plotly.js (loaded with ``defer`` in the page's head) has run; deferred scripts run
# before DOMContentLoaded.  Without plotly.js the fallback text stays in place.
_SCRIPT = """(function () {
  var id = "%(id)s";
  function draw() {
    var el = document.getElementById(id);
    if (!el || !window.Plotly || el.getAttribute("data-drawn")) return;
    var spec = JSON.parse(document.getElementById(id + "-spec").textContent);
    el.setAttribute("data-drawn", "1");
    el.textContent = "";
    window.Plotly.newPlot(el, spec.data, spec.layout, spec.config);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();"""

_FALLBACK = (
    "Interactive figure (needs JavaScript and plotly.js); the static figure shows the same surface."
)


def _check_element_id(element_id: Any) -> str:
    if not isinstance(element_id, str):
        raise TypeError(f"element_id must be a str; got {type(element_id).__name__}")
    if not _ELEMENT_ID.match(element_id):
        raise ValueError(
            "element_id must be a valid HTML id: a letter, then letters, digits, '-' or '_' "
            f"(e.g. 'fig-landscape-3d'); got {element_id!r}"
        )
    return element_id


def _check_labels(labels: Any) -> tuple[str, str]:
    if (
        not isinstance(labels, tuple | list)
        or len(labels) != 2
        or not all(isinstance(label, str) and label.strip() for label in labels)
    ):
        raise TypeError(
            f"labels must be two non-empty strings, the names of the grid's axes; got {labels!r}"
        )
    return (labels[0], labels[1])


def _check_title(title: Any) -> str | None:
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title must be a str or None; got {type(title).__name__}")
    return title


def _path_heights(surface: Surface, path: Projection, path_losses: Any) -> np.ndarray:
    """The height of each point of ``path``: ``path_losses``, else the surface under it
    (NaN, a gap in the line, where the point lies off the grid)."""
    if path_losses is not None:
        return as_float_array(path_losses, "path_losses", shape=(path.coords.shape[0],))
    lift = RegularGridInterpolator(
        (surface.alphas, surface.betas), surface.losses, bounds_error=False
    )
    return lift(path.coords[:, :2])


def _path_traces(x: np.ndarray, y: np.ndarray, z: np.ndarray, hover: str) -> list[go.Scatter3d]:
    line = go.Scatter3d(
        x=x,
        y=y,
        z=z,
        mode="lines+markers",
        name="trajectory",
        line={"color": VERMILLION, "width": 5},
        marker={"color": VERMILLION, "size": 2},
        hovertemplate=hover,
    )
    ends = [
        go.Scatter3d(
            x=x[[i]],
            y=y[[i]],
            z=z[[i]],
            mode="markers",
            name=name,
            marker={"color": color, "size": 6, "symbol": symbol, "line": {"color": BLACK}},
            hovertemplate=hover,
        )
        for i, name, color, symbol in [(0, "start", BLUE, "circle"), (-1, "end", VERMILLION, "x")]
    ]
    return [line, *ends]


def surface_3d_figure(
    surface: Surface,
    *,
    path: Projection | None = None,
    path_losses: Any = None,
    title: str | None = None,
    labels: tuple[str, str] = LABELS,
) -> go.Figure:
    """A rotatable 3-D plotly figure of a 2-D loss surface, optionally with a trajectory on it.

    Parameters
    ----------
    surface
        From :func:`ebp.landscape.surface` with two directions: ``losses[i, j]`` is drawn at
        ``(alphas[i], betas[j])``.
    path
        Optional: ``project(trajectory, surface)``.  Drawn at the heights ``path_losses`` if
        given, else on the surface (points off the grid are left out).
    path_losses
        ``(T,)`` heights of the path's points (e.g. the loss at each iterate); needs ``path``.
    title
        A short title above the plot (default: none).
    labels
        The names of the two grid coordinates, plain text (e.g. ``("w₁", "w₂")``): the axis
        titles and the hover text.

    Returns
    -------
    plotly.graph_objects.Figure
        ``fig.show()`` draws it in a notebook; :func:`surface_3d_html` writes it for the book.
    """
    _check_surface_2d(surface)
    _check_path(path, surface)
    if path is None and path_losses is not None:
        raise ValueError("path_losses needs a path: pass path=project(trajectory, surface)")
    title = _check_title(title)
    labels = _check_labels(labels)
    hover = _hover(labels)
    traces: list[Any] = [
        go.Surface(
            x=surface.alphas,
            y=surface.betas,
            z=surface.losses.T,  # plotly: z[j][i] is at (x[i], y[j])
            colorscale="Viridis",
            showscale=False,
            opacity=0.9,
            name="loss",
            hovertemplate=hover,
            contours={"z": {"show": True, "usecolormap": True, "project": {"z": True}}},
        )
    ]
    if path is not None:
        z = _path_heights(surface, path, path_losses)
        traces += _path_traces(path.coords[:, 0], path.coords[:, 1], z, hover)
    axis = {"showspikes": False, "backgroundcolor": "white", "gridcolor": "#d0d0d0"}
    layout = go.Layout(
        template="none",
        autosize=True,
        height=HEIGHT_PX,
        margin={"l": 0, "r": 0, "b": 0, "t": 40 if title else 0},
        title={"text": title, "x": 0.5} if title else None,
        font={"size": 13},
        showlegend=path is not None,
        legend={"x": 0.01, "y": 0.99, "bgcolor": "rgba(255,255,255,0.7)"},
        scene={
            "xaxis": {"title": {"text": labels[0]}, **axis},
            "yaxis": {"title": {"text": labels[1]}, **axis},
            "zaxis": {"title": {"text": "loss"}, **axis},
            "camera": _CAMERA,
            "aspectmode": "cube",
            "dragmode": "turntable",
        },
        uirevision="keep",
    )
    return go.Figure(data=traces, layout=layout)


def _script_safe(text: str) -> str:
    """JSON that cannot end the ``<script>`` element it sits in."""
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def surface_3d_html(
    surface: Surface,
    *,
    element_id: str,
    path: Projection | None = None,
    path_losses: Any = None,
    title: str | None = None,
    labels: tuple[str, str] = LABELS,
) -> str:
    """An HTML fragment with a rotatable 3-D view of a 2-D loss surface (plotly).

    The same input gives the same bytes (fixed ids, no timestamp), so two clean builds of the
    book are identical.  The fragment needs plotly.js on the page; the book's extension
    ``book/_ext/ebp_plotly.py`` serves it with the site (no CDN).

    Parameters
    ----------
    surface, path, path_losses, title, labels
        As for :func:`surface_3d_figure`.
    element_id
        The id of the plot's ``<div>`` (unique on the page; the fragment also uses
        ``element_id + "-spec"``): a letter, then letters, digits, ``-`` or ``_``.

    Returns
    -------
    str
        ``<div class="ebp-interactive">`` holding the plot's ``<div>`` (100 % wide,
        :data:`HEIGHT_PX` high), the figure as JSON, and the script that draws it.
    """
    element_id = _check_element_id(element_id)
    fig = surface_3d_figure(surface, path=path, path_losses=path_losses, title=title, labels=labels)
    spec = {**fig.to_plotly_json(), "config": _CONFIG}  # data, layout, config
    payload = _script_safe(pio.to_json(spec, validate=False, pretty=False, engine="json"))
    label = html.escape(title or "Interactive 3-D view of the loss surface: drag to rotate it")
    return (
        f'<div class="{INTERACTIVE_CLASS}">\n'
        f'<div id="{element_id}" class="ebp-plotly" role="img" aria-label="{label}" '
        f'style="width: 100%; height: {HEIGHT_PX}px;">{html.escape(_FALLBACK)}</div>\n'
        f'<script type="application/json" id="{element_id}-spec">{payload}</script>\n'
        f"<script>\n{_SCRIPT % {'id': element_id}}\n</script>\n"
        "</div>\n"
    )


def show_surface_3d(
    surface: Surface,
    *,
    element_id: str,
    path: Projection | None = None,
    path_losses: Any = None,
    title: str | None = None,
    labels: tuple[str, str] = LABELS,
) -> Any:
    """:func:`surface_3d_html` as an ``IPython.display.HTML`` object, for a chapter's cell.

    The cell's output is ``text/html``, which MyST-NB puts into the page as it is.
    """
    from IPython.display import HTML

    return HTML(
        surface_3d_html(
            surface,
            element_id=element_id,
            path=path,
            path_losses=path_losses,
            title=title,
            labels=labels,
        )
    )
