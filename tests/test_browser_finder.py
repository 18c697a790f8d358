"""Unit tests for tests/site/browser.py, which finds the Chromium the site checks drive.

No browser is needed: the environment, ``shutil.which``, the fixed install paths and the home
directory are all replaced by fakes.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest


def _load_browser_module() -> ModuleType:
    # Loaded by path: the folder is called `site`, which is the name of a standard module.
    name = "_ebp_site_browser"
    if name not in sys.modules:
        path = Path(__file__).parent / "site" / "browser.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


browser = _load_browser_module()


def make_executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No variables, nothing on PATH, no fixed paths, an empty home; returns the home."""
    for var in (*browser.ENV_VARS, "PLAYWRIGHT_BROWSERS_PATH"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(browser.shutil, "which", lambda name: None)
    monkeypatch.setattr(browser, "SYSTEM_PATHS", ())
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))  # Path.home() reads it
    return home


def test_nothing_found_says_how_to_install(clean: Path) -> None:
    with pytest.raises(browser.BrowserNotFoundError) as info:
        browser.find_chromium()
    message = str(info.value)
    assert "sudo apt-get install chromium" in message
    assert ".venv/bin/playwright install chromium" in message
    assert "EBP_CHROMIUM=" in message


def test_ebp_chromium_comes_first(
    clean: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = make_executable(tmp_path / "mine" / "chrome")
    other = make_executable(tmp_path / "other" / "chrome")
    monkeypatch.setenv("EBP_CHROMIUM", str(mine))
    monkeypatch.setenv("CHROMIUM", str(other))
    monkeypatch.setattr(browser.shutil, "which", lambda name: str(other))
    assert browser.find_chromium() == mine


def test_chromium_variable_when_ebp_chromium_unset(
    clean: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = make_executable(tmp_path / "other" / "chrome")
    monkeypatch.setenv("CHROMIUM", str(other))
    assert browser.find_chromium() == other


def test_variable_may_name_a_command(clean: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EBP_CHROMIUM", "my-chromium")
    monkeypatch.setattr(
        browser.shutil,
        "which",
        lambda name: "/opt/x/my-chromium" if name == "my-chromium" else None,
    )
    assert browser.find_chromium() == Path("/opt/x/my-chromium")


def test_variable_naming_nothing_is_an_error(clean: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An explicit choice is never silently replaced by another browser."""
    monkeypatch.setenv("EBP_CHROMIUM", "/no/such/chromium")
    monkeypatch.setattr(browser.shutil, "which", lambda name: "/usr/bin/chromium")
    with pytest.raises(browser.BrowserNotFoundError, match=r"\$EBP_CHROMIUM='/no/such/chromium'"):
        browser.find_chromium()


def test_path_commands_in_order(clean: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    installed = {"google-chrome": "/usr/bin/google-chrome", "chromium-browser": "/usr/bin/cb"}
    monkeypatch.setattr(browser.shutil, "which", installed.get)
    assert browser.find_chromium() == Path("/usr/bin/cb")
    del installed["chromium-browser"]
    assert browser.find_chromium() == Path("/usr/bin/google-chrome")


def test_fixed_paths_after_path(
    clean: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    not_executable = tmp_path / "usr" / "bin" / "chromium"
    not_executable.parent.mkdir(parents=True)
    not_executable.write_text("")
    snap = make_executable(tmp_path / "snap" / "bin" / "chromium")
    monkeypatch.setattr(browser, "SYSTEM_PATHS", (not_executable, tmp_path / "missing", snap))
    assert browser.find_chromium() == snap
    monkeypatch.setattr(browser.shutil, "which", lambda name: "/on/path/chromium")
    assert browser.find_chromium() == Path("/on/path/chromium")


def test_playwright_download_last_and_newest(clean: Path) -> None:
    cache = clean / ".cache" / "ms-playwright"
    make_executable(cache / "chromium-1100" / "chrome-linux" / "chrome")
    newest = make_executable(cache / "chromium-1200" / "chrome-linux64" / "chrome")
    make_executable(cache / "chromium_headless_shell-1300" / "chrome-linux" / "headless_shell")
    (cache / "chromium-1300" / "chrome-linux").mkdir(parents=True)  # an unfinished download
    assert browser.find_chromium() == newest


def test_playwright_browsers_path_variable(
    clean: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    custom = make_executable(tmp_path / "pw" / "chromium-1000" / "chrome-linux" / "chrome")
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path / "pw"))
    assert browser.find_chromium() == custom


def test_explicit_arguments_override_the_machine(tmp_path: Path) -> None:
    found = make_executable(tmp_path / "chromium")
    assert browser.find_chromium(env={}, which=lambda name: None, system_paths=[found]) == found
    with pytest.raises(browser.BrowserNotFoundError):
        browser.find_chromium(env={}, which=lambda name: None, system_paths=[], home=tmp_path)


def test_launch_args_suit_root_in_a_closed_network() -> None:
    for flag in ("--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic"):
        assert flag in browser.LAUNCH_ARGS
