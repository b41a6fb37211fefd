"""Every console page at desktop and phone width: nothing overflows sideways on a phone, the menu
folds away behind a button, and each page is photographed.

The screenshots go to a temporary folder; with POST16_SCREENSHOTS_DIR=docs/screenshots they refresh the
ones the documentation shows (docs/admin-console.md).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect
from web_console_helpers import CSV, DESKTOP, PHONE, seed

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.slow]

PAGES = {
    "dashboard": "/admin/?refresh=5",
    "users": "/admin/users",
    "classes": "/admin/classes",
    "assignments": "/admin/assignments",
    "sessions": "/admin/sessions",
    "audit": "/admin/audit",
    "lessons": "/admin/lessons",
}


def no_sideways_scroll(page) -> None:  # type: ignore[no-untyped-def]
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px on a phone"


def test_every_page_fits_a_phone_and_is_photographed(console, admin_page, tmp_path: Path):
    folder = Path(os.environ.get("POST16_SCREENSHOTS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    seed(console)
    page = admin_page
    page.goto(console.url + PAGES["dashboard"])
    expect(page.locator("#chart-requests svg")).to_be_visible(timeout=20_000)  # two readings, 5 s apart
    time.sleep(5.5)  # a third reading, for a line rather than a dot
    for name, path in PAGES.items():
        page.set_viewport_size(DESKTOP)
        page.goto(console.url + path)
        page.wait_for_load_state("networkidle")
        if name == "dashboard":
            expect(page.locator("#chart-requests svg")).to_be_visible(timeout=20_000)
        page.screenshot(path=folder / f"admin-{name}.png", full_page=True)
        page.set_viewport_size(PHONE)
        page.wait_for_timeout(200)
        no_sideways_scroll(page)
        expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Users")).to_be_hidden()
        page.screenshot(path=folder / f"admin-{name}-phone.png", full_page=True)
    page.get_by_role("button", name="Menu").click()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Users")).to_be_visible()
    page.screenshot(path=folder / "admin-menu-phone.png")


def test_login_page_and_dialogs_are_photographed(console, admin_page, tmp_path: Path):
    folder = Path(os.environ.get("POST16_SCREENSHOTS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    seed(console)
    page = admin_page
    page.goto(console.url + "/admin/users")
    page.get_by_label("CSV file", exact=True).set_input_files(
        files=[
            {"name": "pupils.csv", "mimeType": "text/csv", "buffer": CSV.replace("ada.l", "ada.k").encode()}
        ]
    )
    page.get_by_role("button", name="Preview import").click()
    expect(page.locator("#import-report")).to_be_visible()
    page.locator("#import-report").screenshot(path=folder / "admin-users-import-preview.png")
    page.get_by_role("button", name="Edit alan.t").click()
    expect(page.get_by_role("dialog")).to_be_visible()
    page.screenshot(path=folder / "admin-users-edit.png")
    page.keyboard.press("Escape")

    page.goto(console.url + "/admin/classes")
    page.get_by_role("button", name="Manage 12CS1 Computer Science").click()
    page.get_by_role("button", name="Find").click()
    expect(page.locator("#pupil-results")).to_be_visible()
    page.locator("#class-detail").screenshot(path=folder / "admin-classes-manage.png")

    page.goto(console.url + "/admin/audit")
    page.get_by_role("button", name="Details").first.click()
    expect(page.get_by_role("dialog")).to_be_visible()
    page.screenshot(path=folder / "admin-audit-details.png")

    login = console.context.browser.new_page(viewport=DESKTOP)
    login.goto(console.url + "/admin/login")
    login.screenshot(path=folder / "admin-login.png")
    login.set_viewport_size(PHONE)
    no_sideways_scroll(login)
    login.screenshot(path=folder / "admin-login-phone.png")
    login.close()
