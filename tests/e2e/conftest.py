"""Browser fixtures: the app served on a free port, headless Chromium, axe-core.

Without Chromium or axe-core the end-to-end tests are skipped with the reason
(``make system-deps`` installs both).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
AXE_JS = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING_IMPACTS = {"serious", "critical"}
NO_PLAYWRIGHT = "Playwright for Python is not installed (pip install -e '.[test]')"


class _QuietHandler(WSGIRequestHandler):
    """Keeps the request log out of the test output; errors are still logged."""

    def log_request(self, code="-", size="-") -> None:
        pass


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """The test app served by werkzeug in a background thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="e2e-live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for all tests of a module."""
    if not CHROMIUM.exists():
        pytest.skip(
            f"Chromium not found at {CHROMIUM}: install the Debian package 'chromium'"
            " (make system-deps) to run the end-to-end tests"
        )
    sync_api = pytest.importorskip("playwright.sync_api", reason=NO_PLAYWRIGHT)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    """The axe-core script, installed from npm into tests/e2e/node_modules."""
    if not AXE_JS.exists():
        pytest.skip(
            f"axe-core not found at {AXE_JS}: run"
            " `npm install --prefix tests/e2e` (make system-deps) for the accessibility checks"
        )
    return AXE_JS.read_text(encoding="utf-8")


def _new_page(browser, base_url: str, **options):
    context = browser.new_context(base_url=base_url, locale="de-DE", **options)
    context.set_default_timeout(10_000)
    return context, context.new_page()


@pytest.fixture
def page(browser, live_server) -> Iterator:
    """A page in a fresh context that enforces the portal's Content-Security-Policy."""
    context, page = _new_page(browser, live_server)
    yield page
    context.close()


@pytest.fixture
def axe_page(browser, live_server, axe_source) -> Iterator:
    """A page in a fresh context that lets axe-core be injected despite the CSP."""
    context, page = _new_page(browser, live_server, bypass_csp=True)
    yield page
    context.close()


class AxeReport:
    """Runs axe-core on pages and collects the serious and critical violations."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []
        self.checked: list[str] = []

    def check(self, page, label: str) -> None:
        """Run axe on the page as it is now and remember what it found under ``label``."""
        if not page.evaluate("() => typeof window.axe !== 'undefined'"):
            page.add_script_tag(content=self.source)
        results = page.evaluate(
            "options => axe.run(document, options)",
            {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]},
        )
        self.checked.append(f"{label} ({page.url})")
        for violation in results["violations"]:
            if violation["impact"] in BLOCKING_IMPACTS:
                self.problems.append(_describe(label, page.url, violation))

    def summary(self) -> str:
        return (
            f"{len(self.problems)} serious/critical accessibility violation(s):\n\n"
            + "\n\n".join(self.problems)
        )


def _describe(label: str, url: str, violation: dict) -> str:
    lines = [
        f"{label} ({url}): [{violation['impact']}] {violation['id']}: {violation['help']}",
        f"  {violation['helpUrl']}",
    ]
    for node in violation["nodes"][:5]:
        target = " ".join(str(part) for part in node["target"])
        lines.append(f"  - {target}: {node['html'][:160]}")
        summary = (node.get("failureSummary") or "").replace("\n", "\n      ")
        if summary:
            lines.append(f"      {summary}")
    if len(violation["nodes"]) > 5:
        lines.append(f"  ... and {len(violation['nodes']) - 5} more element(s)")
    return "\n".join(lines)


@pytest.fixture
def axe(axe_source) -> AxeReport:
    """Collects axe-core findings across pages; assert ``not axe.problems`` at the end."""
    return AxeReport(axe_source)
