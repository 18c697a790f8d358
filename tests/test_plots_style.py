"""The book's figure style, and byte-identical figure files."""

from __future__ import annotations

import re
import subprocess
import sys

import matplotlib as mpl
import numpy as np
import pytest

mpl.use("Agg")

import matplotlib.pyplot as plt

from ebp import plots


def draw() -> plt.Figure:
    fig, axes = plots.new_figure(1, 2, figsize=(6.4, 3))
    x = np.linspace(0, 1, 50)
    for k in range(3):
        axes[0].plot(x, x**k, label=f"$x^{k}$")
    axes[1].scatter(x, np.sin(6 * x), s=8)
    axes[0].legend()
    axes[1].set_title("sin")
    return fig


def test_palette_is_okabe_ito():
    assert len(plots.PALETTE) == 8 == len(set(plots.PALETTE))
    assert all(re.fullmatch(r"#[0-9A-F]{6}", c) for c in plots.PALETTE)
    assert set(plots.COLORS.values()) == set(plots.PALETTE)
    assert plots.COLORS["vermillion"] == plots.VERMILLION == "#D55E00"


def test_use_book_style_sets_rcparams():
    with mpl.rc_context():
        plots.use_book_style()
        assert mpl.rcParams["axes.prop_cycle"].by_key()["color"] == plots.PALETTE
        assert mpl.rcParams["axes.spines.top"] is False
        assert mpl.rcParams["axes.spines.right"] is False
        assert 110 <= mpl.rcParams["figure.dpi"] <= 150
        assert 11 <= mpl.rcParams["font.size"] <= 12
        assert mpl.rcParams["svg.hashsalt"]


def test_new_figure_shapes():
    with mpl.rc_context():
        fig, ax = plots.new_figure()
        assert not isinstance(ax, np.ndarray)
        fig2, axes = plots.new_figure(2, 3)
        assert axes.shape == (2, 3)
        plt.close(fig)
        plt.close(fig2)
    with pytest.raises(ValueError, match="nrows must be > 0"):
        plots.new_figure(0)
    with pytest.raises(TypeError, match="ncols must be an int"):
        plots.new_figure(1, 1.5)


@pytest.mark.parametrize("suffix", ["png", "svg", "pdf"])
def test_saving_twice_gives_identical_bytes(tmp_path, suffix):
    with mpl.rc_context():
        fig = draw()
        a = plots.save_figure(fig, tmp_path / f"a.{suffix}").read_bytes()
        b = plots.save_figure(fig, tmp_path / "sub" / f"b.{suffix}").read_bytes()
        fig_again = draw()  # the same code drawing a new figure
        c = plots.save_figure(fig_again, tmp_path / f"c.{suffix}").read_bytes()
        plt.close(fig)
        plt.close(fig_again)
    assert a == b == c
    assert mpl.__version__.encode() not in a  # no "Matplotlib vX.Y" software/creator stamp


def test_svg_has_no_date(tmp_path):
    with mpl.rc_context():
        fig = draw()
        text = plots.save_figure(fig, tmp_path / "f.svg").read_text()
        plt.close(fig)
    assert "<dc:date>" not in text


SCRIPT = """
import sys, matplotlib
matplotlib.use("Agg")
import numpy as np
from ebp import plots
fig, ax = plots.new_figure()
ax.plot(np.arange(10) ** 2, label="squares")
ax.legend()
plots.save_figure(fig, sys.argv[1])
"""


def test_png_identical_between_processes(tmp_path):
    paths = [tmp_path / "one.png", tmp_path / "two.png"]
    for p in paths:
        subprocess.run([sys.executable, "-c", SCRIPT, str(p)], check=True)
    assert paths[0].read_bytes() == paths[1].read_bytes()


def test_save_figure_rejects(tmp_path):
    with mpl.rc_context():
        fig, _ = plots.new_figure()
        with pytest.raises(ValueError, match=r"path must end in \.png, \.svg or \.pdf"):
            plots.save_figure(fig, tmp_path / "f.jpeg")
        with pytest.raises(TypeError, match="path must be"):
            plots.save_figure(fig, 3)
        plt.close(fig)
    with pytest.raises(TypeError, match="fig must be a matplotlib Figure"):
        plots.save_figure("figure", tmp_path / "f.png")
