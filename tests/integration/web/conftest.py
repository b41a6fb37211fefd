"""Browser fixtures for the admin console: Debian's Chromium driven by Playwright against a real server
process on PostgreSQL.

Every page a test opens reports Content-Security-Policy violations and uncaught script errors into the
`console` fixture's lists (a Playwright-injected listener, which the CSP does not apply to); the fixture
fails the test at teardown if any were seen.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from web_console_helpers import ADMIN, CHROMIUM, CHROMIUM_ARGS, DESKTOP, REPORTER, Console, service_missing


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium per test module (never downloaded: Debian's package). Not per session: Playwright's
    sync API keeps an event loop running in the main thread while it is open, which breaks every later
    test that calls asyncio.run()."""
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:  # pragma: no cover - the dev environment has it
        service_missing("Playwright for Python")
    if not os.path.exists(CHROMIUM):
        service_missing(f"Chromium at {CHROMIUM}")
    with sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except Error as error:
            service_missing(f"Chromium ({str(error).splitlines()[0]})")
        yield chromium
        chromium.close()


@pytest.fixture
def console_env() -> dict[str, str]:
    """Extra POST16_* settings for the console's server; a test module may override this fixture."""
    return {}


@pytest.fixture
def console(
    browser: Any, pg_url: str, make_server: Callable[..., Any], users: Any, console_env: dict[str, str]
) -> Iterator[Console]:
    users.add(ADMIN, "admin")
    server = make_server(pg_url, **{"POST16_COOKIE_SECURE": "false", **console_env})
    context = browser.new_context(viewport=DESKTOP, locale="en-GB", timezone_id="Europe/London")
    context.set_default_timeout(10_000)
    found = Console(url=server.url, context=context, users=users)
    context.expose_binding(
        "__post16Report",
        lambda _source, kind, text: (found.csp_violations if kind == "csp" else found.script_errors).append(
            text
        ),
    )
    context.add_init_script(REPORTER)
    yield found
    context.close()
    assert found.csp_violations == [], "the browser reported Content-Security-Policy violations"
    assert found.script_errors == [], "a page script failed"


@pytest.fixture
def admin_page(console: Console) -> Any:
    """A page logged in as the admin, on the dashboard."""
    page = console.new_page()
    console.log_in(page)
    page.wait_for_url("**/admin/")
    return page
