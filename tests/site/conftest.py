"""Fixtures for the checks of the built site in headless Chromium (``make site-tests``).

* ``site_dir``: the built site, ``$EBP_SITE_DIR`` or ``<repo>/_build/html`` (fails, not skips,
  when it has not been built).
* ``site_url``: that directory served by ``http.server`` on 127.0.0.1 (a free port) for the session.
* ``browser``: one headless Chromium for the session, the one :func:`browser.find_chromium` finds.
* ``probe``: a fresh browser context and page per test that records console errors, uncaught
  page errors, failed responses, and every request to anything but the local server (blocked).
* ``page_path``: every page of the table of contents (``_toc.yml``) plus ``index.html`` and
  ``search.html``, one test per page.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import importlib.util
import re
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest

REPO = Path(__file__).resolve().parents[2]
SOURCE_SUFFIXES = (".md", ".ipynb", ".rst", ".myst")
EXTRA_PAGES = ("index.html", "search.html")
DEFAULT_TIMEOUT_MS = 20_000


def load_browser_module() -> ModuleType:
    """Import ``browser.py`` beside this file whatever pytest's import mode (``site`` is taken)."""
    name = "_ebp_site_browser"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("browser.py"))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


# --------------------------------------------------------------------------- pages of the book


def configured_site_dir() -> Path:
    """``$EBP_SITE_DIR`` if set, else ``<repo>/_build/html``."""
    import os

    value = os.environ.get("EBP_SITE_DIR", "").strip()
    return Path(value).expanduser().resolve() if value else REPO / "_build" / "html"


def toc_file(site: Path) -> Path:
    """The ``_toc.yml`` the site was built from: ``<site>/../../_toc.yml``, else the repo's."""
    beside = site.parent.parent / "_toc.yml"
    return beside if beside.is_file() else REPO / "_toc.yml"


def _strip_suffix(docname: str) -> str:
    for suffix in SOURCE_SUFFIXES:
        if docname.endswith(suffix):
            return docname[: -len(suffix)]
    return docname


def pages_from_toc(toc: Path) -> list[str]:
    """HTML paths (``book/foo.html``) of the root and every file listed in a jb-book/article toc.

    ``url:`` entries (external) are ignored; ``glob:`` entries are expanded against the source
    files beside the toc.
    """
    import yaml

    data = yaml.safe_load(toc.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or "root" not in data:
        raise ValueError(f"{toc}: expected a mapping with a 'root' entry")
    docnames: list[str] = [_strip_suffix(str(data["root"]))]

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for child in node:
                walk(child)
            return
        if not isinstance(node, dict):
            return
        if "file" in node:
            docnames.append(_strip_suffix(str(node["file"])))
        if "glob" in node:
            for source in sorted(toc.parent.glob(str(node["glob"]))):
                if source.suffix in SOURCE_SUFFIXES:
                    docnames.append(source.relative_to(toc.parent).with_suffix("").as_posix())
        for key in ("parts", "chapters", "sections"):
            walk(node.get(key, []))

    walk(data)
    pages = [f"{name}.html" for name in docnames] + list(EXTRA_PAGES)
    return list(dict.fromkeys(pages))  # unique, in order


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``page_path`` by the pages of the toc, so a failure names its page."""
    if "page_path" not in metafunc.fixturenames:
        return
    toc = toc_file(configured_site_dir())
    try:
        pages = pages_from_toc(toc)
    except Exception as exc:  # never break collection (that would stop `make unit` too)
        message = f"cannot read the table of contents {toc}: {exc}"
        params = [pytest.param(f"!{message}", id="_toc.yml")]
        metafunc.parametrize("page_path", params, scope="module")
        return
    # Module scope: the checks of one page run one after another on a single load of it.
    metafunc.parametrize("page_path", pages, ids=pages, scope="module")


# --------------------------------------------------------------------------- server and browser


@pytest.fixture(scope="session")
def site_dir() -> Path:
    """The built site; fails with what to do when it is missing."""
    site = configured_site_dir()
    if not (site / "index.html").is_file():
        pytest.fail(
            f"No built site: {site / 'index.html'} is missing. Run `make book` first "
            "(or set EBP_SITE_DIR to a built site).",
            pytrace=False,
        )
    return site


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="session")
def site_url(site_dir: Path) -> Iterator[str]:
    """Base URL (ending in ``/``) of the site served on loopback for the whole session."""
    handler = functools.partial(_QuietHandler, directory=str(site_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="site-server", daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield f"http://{host}:{port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    """The Chromium executable; fails with install instructions when there is none."""
    browser_module = load_browser_module()
    try:
        return browser_module.find_chromium()
    except browser_module.BrowserNotFoundError as exc:
        message = str(exc)
    pytest.fail(message, pytrace=False)


@pytest.fixture(scope="session")
def browser(chromium_path: Path) -> Iterator[Any]:
    """One headless Chromium for the session, driven by Playwright."""
    from playwright.sync_api import sync_playwright

    launch_args = list(load_browser_module().LAUNCH_ARGS)
    playwright = sync_playwright().start()
    try:
        failure = ""
        try:
            chromium = playwright.chromium.launch(
                executable_path=str(chromium_path), headless=True, args=launch_args
            )
        except Exception as exc:
            failure = str(exc)
        if failure:
            pytest.fail(
                f"Chromium at {chromium_path} did not start under Playwright: {failure}\n"
                "Set EBP_CHROMIUM to another Chromium if this one is broken or too old.",
                pytrace=False,
            )
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


# --------------------------------------------------------------------------- one page per test


_META_REFRESH = re.compile(
    r"""<meta[^>]*http-equiv=["']?refresh["']?[^>]*content=["']?\s*\d+\s*;\s*url=([^"'>\s]+)""",
    re.IGNORECASE,
)


def meta_refresh_target(html: str) -> str | None:
    """The URL a ``<meta http-equiv="refresh">`` page sends the reader to, if any."""
    match = _META_REFRESH.search(html)
    return match.group(1) if match else None


@dataclass
class PageProbe:
    """A page in its own browser context, with everything that went wrong while it loaded."""

    page: Any
    site_url: str
    site_dir: Path
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_responses: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    def is_local(self, url: str) -> bool:
        """Whether ``url`` is on the loopback server (any path, any scheme but the same origin)."""
        parts, base = urlsplit(url), urlsplit(self.site_url)
        return parts.scheme in ("http", "ws") and parts.netloc == base.netloc

    def relative(self, url: str) -> str:
        """``url`` without the server's origin, for readable messages."""
        return url[len(self.site_url) :] if url.startswith(self.site_url) else url

    def source(self, path: str) -> str:
        """The HTML file as built (not as rendered)."""
        return (self.site_dir / urlsplit(path).path).read_text(encoding="utf-8", errors="replace")

    def refresh_target(self, path: str) -> str | None:
        """Where the built page ``path`` redirects with a meta refresh (relative to the site)."""
        target = meta_refresh_target(self.source(path))
        return None if target is None else self.relative(urljoin(self.site_url + path, target))

    def open(self, path: str) -> None:
        """Load ``path`` (relative to the site), follow a meta refresh, and wait for the network
        to settle. Fails if the page is not served with HTTP 200."""
        if path.startswith("!"):
            pytest.fail(path[1:], pytrace=False)
        url = self.site_url + path
        response = self.page.goto(url, wait_until="load")
        if response is None or response.status != 200:
            status = "no response" if response is None else f"HTTP {response.status}"
            pytest.fail(f"{path}: did not load ({status})", pytrace=False)
        target = self.refresh_target(path)
        if target is not None:
            self.page.wait_for_url(self.site_url + target)
            self.page.wait_for_load_state("load")
        self.page.wait_for_load_state("networkidle")

    def problems(self) -> list[str]:
        """Everything that went wrong so far, one paragraph per kind."""
        out = []
        if self.blocked:
            out.append(
                "the site must work offline: no CDN. Requests to other hosts (blocked):\n"
                + "\n".join(f"  - {item}" for item in self.blocked)
            )
        if self.failed_responses:
            out.append(
                "resources that failed to load:\n"
                + "\n".join(f"  - {item}" for item in self.failed_responses)
            )
        console = [m for m in self.console_errors if "ERR_BLOCKED_BY_CLIENT" not in m]
        if console:
            out.append("console errors:\n" + "\n".join(f"  - {m}" for m in console))
        if self.page_errors:
            out.append("uncaught page errors:\n" + "\n".join(f"  - {m}" for m in self.page_errors))
        return out

    def assert_clean(self, what: str) -> None:
        problems = self.problems()
        if problems:
            pytest.fail(f"{what}:\n" + "\n".join(problems), pytrace=False)


@contextlib.contextmanager
def new_probe(browser: Any, site_url: str, site_dir: Path) -> Iterator[PageProbe]:
    """A new browser context and page that records errors and blocks non-local requests."""
    context = browser.new_context(service_workers="block")
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    probe = PageProbe(page=None, site_url=site_url, site_dir=site_dir)

    def route(route: Any) -> None:
        request = route.request
        if probe.is_local(request.url):
            route.continue_()
        else:
            probe.blocked.append(f"{request.resource_type} {request.url}")
            route.abort("blockedbyclient")

    def route_web_socket(ws: Any) -> None:
        if probe.is_local(ws.url):
            ws.connect_to_server()
        else:
            probe.blocked.append(f"websocket {ws.url}")
            ws.close()

    context.route("**/*", route)
    if hasattr(context, "route_web_socket"):
        context.route_web_socket(re.compile(".*"), route_web_socket)

    page = context.new_page()
    probe.page = page

    def on_console(message: Any) -> None:
        if message.type == "error":
            location = message.location or {}
            where = location.get("url", "")
            if where:
                where = f" (at {probe.relative(where)}:{location.get('lineNumber', '?')})"
            probe.console_errors.append(f"{message.text}{where}")

    def on_response(response: Any) -> None:
        if response.status >= 400:
            probe.failed_responses.append(f"HTTP {response.status} {probe.relative(response.url)}")

    def on_request_failed(request: Any) -> None:
        if probe.is_local(request.url):
            probe.failed_responses.append(
                f"{request.failure or 'failed'} {probe.relative(request.url)}"
            )

    page.on("console", on_console)
    page.on("pageerror", lambda error: probe.page_errors.append(str(error)))
    page.on("response", on_response)
    page.on("requestfailed", on_request_failed)
    try:
        yield probe
    finally:
        context.close()


@pytest.fixture
def probe(browser: Any, site_url: str, site_dir: Path) -> Iterator[PageProbe]:
    """A fresh page (own browser context) for a test that opens what it needs."""
    with new_probe(browser, site_url, site_dir) as probe:
        yield probe


@pytest.fixture(scope="module")
def opened(browser: Any, site_url: str, site_dir: Path, page_path: str) -> Iterator[PageProbe]:
    """``page_path`` loaded once (own browser context) for all the checks of that page."""
    with new_probe(browser, site_url, site_dir) as probe:
        probe.open(page_path)
        yield probe


@pytest.fixture(scope="session")
def anchor_cache() -> dict[Path, set[str]]:
    """Ids and names of the built pages, parsed once per session."""
    return {}
