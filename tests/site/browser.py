"""Find a Chromium for the site checks (Playwright drives it through ``executable_path``).

The site tests use whatever Chromium the machine already has, so they run in a closed network
where Playwright cannot download its own browser. :func:`find_chromium` looks, in order, at

1. the environment variables ``EBP_CHROMIUM`` then ``CHROMIUM`` (a path, or a command name);
2. ``chromium``, ``chromium-browser``, ``google-chrome``, ``google-chrome-stable`` on ``PATH``;
3. the usual install locations (:data:`SYSTEM_PATHS`);
4. browsers downloaded by ``playwright install chromium`` (newest first).

This module has no third-party imports so that it can be unit-tested without a browser.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

ENV_VARS: tuple[str, ...] = ("EBP_CHROMIUM", "CHROMIUM")
COMMANDS: tuple[str, ...] = (
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
)
SYSTEM_PATHS: tuple[Path, ...] = (
    Path("/usr/bin/chromium"),
    Path("/usr/lib/chromium/chromium"),
    Path("/snap/bin/chromium"),
)

# Flags for a headless browser that may run as root (no sandbox), in a container (small
# /dev/shm, no GPU) and in a closed network (no background, update or sync traffic).
LAUNCH_ARGS: tuple[str, ...] = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)

INSTALL_HELP = (
    "No Chromium found for the site tests. Install one:\n"
    "  - Debian/Ubuntu: sudo apt-get install chromium\n"
    "  - where downloads work: .venv/bin/playwright install chromium\n"
    "  - or point at an existing browser: EBP_CHROMIUM=/path/to/chromium make site-tests\n"
    "Looked at: $EBP_CHROMIUM, $CHROMIUM, "
    + ", ".join(COMMANDS)
    + " on PATH, "
    + ", ".join(str(p) for p in SYSTEM_PATHS)
    + ", ~/.cache/ms-playwright/chromium*/chrome-linux*/chrome."
)


class BrowserNotFoundError(RuntimeError):
    """No usable Chromium (the message says how to install one)."""


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _version_key(path: Path) -> tuple[int, str]:
    """Sort key for ``.../chromium-1187/chrome-linux/chrome``: the build number, then the path."""
    match = re.search(r"chromium-(\d+)", str(path))
    return (int(match.group(1)) if match else -1, str(path))


def playwright_browsers(
    home: Path | None = None, env: Mapping[str, str] | None = None
) -> list[Path]:
    """Chromium executables downloaded by Playwright, newest build first.

    Looks under ``$PLAYWRIGHT_BROWSERS_PATH`` (when set to a directory) and
    ``~/.cache/ms-playwright``.
    """
    env = os.environ if env is None else env
    home = Path.home() if home is None else home
    roots: list[Path] = []
    custom = env.get("PLAYWRIGHT_BROWSERS_PATH", "")
    if custom and custom != "0":
        roots.append(Path(custom).expanduser())
    roots.append(home / ".cache" / "ms-playwright")
    found: list[Path] = []
    for root in roots:
        if root.is_dir():
            candidates = root.glob("chromium*/chrome-linux*/chrome")
            executables = (p for p in candidates if _is_executable(p))
            found.extend(sorted(executables, key=_version_key, reverse=True))
    return found


def find_chromium(
    env: Mapping[str, str] | None = None,
    which: Callable[[str], str | None] | None = None,
    system_paths: Sequence[Path] | None = None,
    home: Path | None = None,
) -> Path:
    """Return the path of a Chromium executable (see the module docstring for the search order).

    Parameters
    ----------
    env
        Environment to read ``EBP_CHROMIUM``/``CHROMIUM`` from (default ``os.environ``).
    which
        Looks a command up on ``PATH`` (default :func:`shutil.which`).
    system_paths
        Fixed locations to try after ``PATH`` (default :data:`SYSTEM_PATHS`).
    home
        Home directory holding ``.cache/ms-playwright`` (default :meth:`Path.home`).

    Raises
    ------
    BrowserNotFoundError
        If an environment variable names something that is not an executable (an explicit
        choice is never silently replaced by another browser), or if nothing is found.
    """
    env = os.environ if env is None else env
    which = shutil.which if which is None else which
    system_paths = SYSTEM_PATHS if system_paths is None else system_paths
    for var in ENV_VARS:
        value = env.get(var, "").strip()
        if not value:
            continue
        path = Path(value).expanduser()
        if _is_executable(path):
            return path
        if os.sep not in value:  # a command name such as "chromium"
            resolved = which(value)
            if resolved:
                return Path(resolved)
        raise BrowserNotFoundError(
            f"${var}={value!r} is not an executable file. Set it to the path of a Chromium "
            "(e.g. /usr/bin/chromium) or unset it to search the usual places.\n\n" + INSTALL_HELP
        )
    for command in COMMANDS:
        resolved = which(command)
        if resolved:
            return Path(resolved)
    for path in system_paths:
        if _is_executable(path):
            return path
    downloaded = playwright_browsers(home=home, env=env)
    if downloaded:
        return downloaded[0]
    raise BrowserNotFoundError(INSTALL_HELP)
