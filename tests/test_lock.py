"""requirements.lock pins every dependency pyproject.toml declares, at a version it allows.

``make setup`` installs the lock file, then ebp without its dependencies; a dependency added to
pyproject.toml but not to the lock would be missing from a fresh environment (and a pin
outside pyproject's range would break ``pip install ebp``).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)$")


def pins() -> dict[str, Version]:
    found = {}
    for line in (REPO / "requirements.lock").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        match = PIN.match(line.strip())
        assert match, f"requirements.lock: not a name==version pin: {line!r}"
        found[canonicalize_name(match.group(1))] = Version(match.group(2))
    return found


def declared() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    specs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        specs += extra
    return [Requirement(spec) for spec in specs]


def test_every_declared_dependency_is_pinned_within_its_range() -> None:
    locked = pins()
    missing, outside = [], []
    for req in declared():
        version = locked.get(canonicalize_name(req.name))
        if version is None:
            missing.append(str(req))
        elif not req.specifier.contains(version, prereleases=True):
            outside.append(f"{req} (locked {version})")
    assert not missing, f"in pyproject.toml but not in requirements.lock: {missing}"
    assert not outside, f"requirements.lock pins outside pyproject.toml's range: {outside}"


def test_plotly_is_declared_and_pinned() -> None:
    """ebp.plots.interactive and the book's ebp_plotly extension need it."""
    assert "plotly" in {canonicalize_name(r.name) for r in declared()}
    assert "plotly" in pins()
