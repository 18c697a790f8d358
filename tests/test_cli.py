"""The command line, ``python -m ebp`` (ebp.cli): help, runs, files, errors, progress.

Every registered experiment is run once with ``--quick`` in this process (``main(argv)``, the
stdout and stderr captured), and ``landscapes`` once more through the real entry point in a
subprocess; the two JSON files must agree.  Usage errors and experiment errors are checked
with stand-in adapters, which compute nothing.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from ebp.cli import main, output, registry

ROOT = Path(__file__).resolve().parents[1]
NAMES = registry.names()
PROVENANCE = {"experiment", "chapter", "seeds", "quick", "ebp_version", "torch_version", "figures"}


def _run(argv: list[str]) -> tuple[int, str, str]:
    """``main(argv)`` with its standard output and error captured."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(argv)
    return rc, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def quick_runs(tmp_path_factory: pytest.TempPathFactory):
    """``name -> (rc, out folder, stdout, stderr)`` of one ``--quick`` run, made on demand."""
    cache: dict[str, tuple[int, Path, str, str]] = {}

    def get(name: str) -> tuple[int, Path, str, str]:
        if name not in cache:
            out = tmp_path_factory.mktemp(name) / "results"
            seeds = ["--seeds", "2"] if registry.find(name).takes_seeds else []
            rc, stdout, stderr = _run(["run", name, "--quick", "--out", str(out), *seeds])
            cache[name] = (rc, out, stdout, stderr)
        return cache[name]

    return get


def _numbers(path: Path) -> list[float | None]:
    """The JSON's numbers, flattened in document order (keys included, as strings)."""
    flat: list = []

    def walk(x):
        if isinstance(x, dict):
            for k, v in x.items():
                flat.append(k)
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
        else:
            flat.append(x)

    walk(json.loads(path.read_text())["numbers"])
    return flat


# --- help and list --------------------------------------------------------------------------


def test_help_in_a_subprocess_lists_every_experiment_with_its_chapter() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ebp", "--help"], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    for e in registry.EXPERIMENTS:
        assert f"  {e.name}  " in proc.stdout
        assert e.summary in proc.stdout and e.chapter in proc.stdout
    assert "usage: python -m ebp" in proc.stdout


def test_list_and_run_help_list_the_experiments() -> None:
    for argv in (["list"], ["run", "--help"]):
        rc, stdout, _ = _run(argv)
        assert rc == 0
        assert all(name in stdout for name in NAMES)


def test_registry_entries_are_well_formed() -> None:
    assert len(set(NAMES)) == len(NAMES)
    for e in registry.EXPERIMENTS:
        assert e.name == e.name.lower() and " " not in e.name and "_" not in e.name
        assert e.chapter.startswith("book/") and e.chapter.endswith(".md")
        assert e.default_seeds is None or e.default_seeds >= 1
        assert "\n" not in e.summary and len(e.summary) <= 70


def test_every_experiment_names_a_chapter_that_exists() -> None:
    for e in registry.EXPERIMENTS:
        assert (ROOT / e.chapter).is_file(), e.chapter


# --- every experiment, quick ------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_quick_run_writes_pngs_and_a_json_with_provenance(name: str, quick_runs) -> None:
    rc, out, stdout, stderr = quick_runs(name)
    assert rc == 0, stderr[-500:]
    doc = json.loads((out / f"{name}.json").read_text())
    meta = doc["provenance"]
    assert PROVENANCE <= set(meta)
    assert meta["experiment"] == name and meta["quick"] is True
    assert meta["seeds"] == (2 if registry.find(name).takes_seeds else None)
    assert meta["figures"], "an experiment draws at least one figure"
    assert sorted(meta["figures"]) == sorted(p.name for p in out.glob("*.png"))
    for png in meta["figures"]:
        data = (out / png).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        assert b"Software" not in data and b"matplotlib version" not in data  # byte-stable
    assert doc["numbers"] and _numbers(out / f"{name}.json")
    assert str(out) in stdout


@pytest.mark.parametrize("name", NAMES)
def test_a_run_shows_a_progress_bar_on_stderr(name: str, quick_runs) -> None:
    rc, _, stdout, stderr = quick_runs(name)
    assert rc == 0, stderr[-500:]
    assert f"{name}:" in stderr and "100%" in stderr  # tqdm's bar, finished
    assert "100%" not in stdout


def test_the_entry_point_gives_the_same_numbers_as_main(quick_runs, tmp_path: Path) -> None:
    """Determinism: two runs of the same code give the same numbers (one in a subprocess).

    The numbers pass through BLAS, so they are compared to a relative 1e-9 rather than bit for
    bit (the same machine gives identical bits; the tolerance only keeps the test portable).
    """
    rc, out, _, stderr = quick_runs("landscapes")
    assert rc == 0, stderr
    proc = subprocess.run(
        [sys.executable, "-m", "ebp", "run", "landscapes", "--quick", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "landscapes:" in proc.stderr and "100%" in proc.stderr
    first, second = _numbers(out / "landscapes.json"), _numbers(tmp_path / "landscapes.json")
    assert len(first) == len(second)
    for a, b in zip(first, second, strict=True):
        if isinstance(a, float):
            assert b == pytest.approx(a, rel=1e-9, abs=1e-12)
        else:
            assert a == b
    meta = json.loads((tmp_path / "landscapes.json").read_text())["provenance"]
    assert meta == json.loads((out / "landscapes.json").read_text())["provenance"]


# --- bad arguments: exit 2 and a clear message --------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "landscape"], "did you mean 'landscapes'"),
        (["run", "nothing-like-it"], "unknown experiment 'nothing-like-it'"),
        (["run", "ablation", "--seeds", "0"], "--seeds: must be a positive integer; got '0'"),
        (["run", "ablation", "--seeds", "-3"], "--seeds: must be a positive integer"),
        (["run", "ablation", "--seeds", "abc"], "--seeds: must be a positive integer; got 'abc'"),
        (["run", "ablation", "--seeds", "1.5"], "--seeds: must be a positive integer"),
        (["run", "landscapes", "--seeds", "2"], "'landscapes' takes no seeds"),
        (["run"], "required: NAME"),
        ([], "required: COMMAND"),
        (["run", "landscapes", "--fast"], "unrecognized arguments: --fast"),
    ],
)
def test_bad_arguments_exit_2_with_a_clear_message(argv: list[str], message: str) -> None:
    rc, stdout, stderr = _run(argv)
    assert rc == 2
    assert message in stderr
    assert "usage:" in stderr and stdout == ""


def test_out_naming_a_file_is_refused(tmp_path: Path) -> None:
    afile = tmp_path / "results.txt"
    afile.write_text("not a folder")
    for out in (afile, afile / "below"):
        rc, _, stderr = _run(["run", "landscapes", "--quick", "--out", str(out)])
        assert rc == 2
        assert f"--out: '{afile}' exists and is not a folder" in stderr
    assert afile.read_text() == "not a folder"


# --- stand-in adapters: seeds, JSON, experiment errors ------------------------------------------


def _stand_in(monkeypatch: pytest.MonkeyPatch, **functions) -> dict:
    """Make every experiment load a stand-in adapter; return what its ``compute`` was given."""
    calls: dict = {}

    def compute(*, n_seeds, quick, progress):
        calls.update(n_seeds=n_seeds, quick=quick)
        progress(0, 2)
        progress(2, 2)
        return {"n_seeds": n_seeds}

    adapter = types.SimpleNamespace(
        compute=compute, numbers=lambda result: dict(result), figures=lambda result: {}
    )
    for key, value in functions.items():
        setattr(adapter, key, value)
    monkeypatch.setattr(registry.Experiment, "load", lambda self: adapter)
    return calls


def test_seeds_reach_the_experiment_and_default_to_the_chapters(monkeypatch, tmp_path) -> None:
    calls = _stand_in(monkeypatch)
    ablation = registry.find("ablation")
    assert _run(["run", "ablation", "--out", str(tmp_path)])[0] == 0
    assert calls == {"n_seeds": ablation.default_seeds, "quick": False}
    assert _run(["run", "ablation", "--seeds", "3", "--quick", "--out", str(tmp_path)])[0] == 0
    assert calls == {"n_seeds": 3, "quick": True}
    doc = json.loads((tmp_path / "ablation.json").read_text())
    assert doc["provenance"]["seeds"] == 3 and doc["numbers"] == {"n_seeds": 3}


def test_the_json_is_strict_nan_and_infinities_become_null(monkeypatch, tmp_path) -> None:
    numbers = {
        "nan": float("nan"),
        "array": np.array([1.5, np.inf, -np.inf]),
        "scalars": (np.float32(0.25), np.int64(7), np.bool_(True)),
        3: {"nested": [np.nan]},
    }
    _stand_in(monkeypatch, numbers=lambda result: numbers)
    assert _run(["run", "landscapes", "--out", str(tmp_path)])[0] == 0
    text = (tmp_path / "landscapes.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text)["numbers"] == {
        "nan": None,
        "array": [1.5, None, None],
        "scalars": [0.25, 7, True],
        "3": {"nested": [None]},
    }


def test_jsonable_refuses_what_json_cannot_hold() -> None:
    with pytest.raises(TypeError, match="cannot write a object to JSON"):
        output.jsonable({"x": object()})
    assert output.jsonable(math.inf) is None


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ValueError("eta must be > 0;\n got -1"), "error: ablation: eta must be > 0; got -1"),
        (FloatingPointError("diverged at step 3"), "error: ablation: diverged at step 3"),
        (
            ModuleNotFoundError("No module named 'ebp.experiments.all_the_tricks'"),
            "error: ablation: experiment 'ablation' is not available here "
            "(No module named 'ebp.experiments.all_the_tricks')",
        ),
    ],
)
def test_an_experiment_error_exits_1_with_one_line(monkeypatch, tmp_path, error, expected) -> None:
    def compute(**_):
        raise error

    _stand_in(monkeypatch, compute=compute)
    rc, _, stderr = _run(["run", "ablation", "--out", str(tmp_path)])
    assert rc == 1
    assert stderr.strip().splitlines() == [expected]
    with pytest.raises(type(error)):
        _run(["run", "ablation", "--traceback", "--out", str(tmp_path)])
