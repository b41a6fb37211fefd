"""The Audit log page in Chromium: paging forward and back through 65+ entries, filters, details."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

PUPILS = 65


def import_pupils(console, count: int = PUPILS) -> None:  # type: ignore[no-untyped-def]
    """One `user.created` audit entry per pupil, plus one `user.imported`."""
    rows = "".join(f"pupil{n:03d},Pupil {n},password-{n:03d}\n" for n in range(count))
    with console.api() as api:
        response = api.post(
            "/api/admin/users/import",
            content="username,display_name,password\n" + rows,
            headers={"Content-Type": "text/csv"},
        )
        assert response.status_code == 200, response.text
        assert len(response.json()["created"]) == count


def first_target(page) -> str:  # type: ignore[no-untyped-def]
    return page.locator("#audit-table tbody tr").first.locator("td").nth(3).inner_text()


def test_audit_log_pages_older_and_newer_with_a_filter(console, admin_page):
    import_pupils(console)
    page = admin_page
    page.goto(console.url + "/admin/audit")
    rows = page.locator("#audit-table tbody tr")
    expect(rows).to_have_count(50)
    newer = page.get_by_role("button", name="← Newer")
    older = page.get_by_role("button", name="Older →")
    expect(newer).to_be_disabled()

    page.get_by_label("Action").fill("user.created")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#audit-position")).to_have_text("Page 1: entries 1–50")
    expect(rows.first).to_contain_text("pupil064")  # newest first
    expect(rows.last).to_contain_text("pupil015")

    older.click()
    expect(page.locator("#audit-position")).to_have_text("Page 2: entries 51–65 (the oldest)")
    expect(rows).to_have_count(PUPILS - 50)
    expect(rows.first).to_contain_text("pupil014")
    expect(rows.last).to_contain_text("pupil000")
    expect(older).to_be_disabled()

    newer.click()
    expect(page.locator("#audit-position")).to_have_text("Page 1: entries 1–50")
    expect(rows.first).to_contain_text("pupil064")
    expect(newer).to_be_disabled()
    expect(older).to_be_enabled()


def test_audit_filters_by_actor_target_and_a_wildcard_action(console, admin_page):
    console.users.add("ada", "pupil")
    with console.client() as client:
        for _ in range(2):
            client.post("/api/auth/login", json={"username": "ada", "password": "wrong-password"})
    page = admin_page
    page.goto(console.url + "/admin/audit")
    page.get_by_label("Done to").fill("ada")
    page.get_by_label("Action").fill("user.*")
    page.get_by_role("button", name="Apply").click()
    rows = page.locator("#audit-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.locator("td:nth-child(2)")).to_have_text(["user.login_failed", "user.login_failed"])

    page.get_by_role("button", name="Clear").click()
    page.get_by_label("Who did it (username)").fill("head")
    page.get_by_label("Action").fill("user.logged_in")
    page.get_by_role("button", name="Apply").click()
    expect(rows).to_have_count(1)

    page.get_by_label("Who did it (username)").fill("nobody")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("No entries match these filters.")).to_be_visible()


def test_since_filter_hides_older_entries(console, admin_page):
    page = admin_page
    page.goto(console.url + "/admin/audit")
    rows = page.locator("#audit-table tbody tr")
    expect(rows).to_have_count(1)  # the admin's own login
    page.get_by_label("Since (your local time)").fill("2099-01-01T08:00")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("No entries match these filters.")).to_be_visible()
    page.get_by_label("Since (your local time)").fill("2020-01-01T08:00")
    page.get_by_role("button", name="Apply").click()
    expect(rows).to_have_count(1)


def test_details_of_an_entry_show_who_what_and_the_recorded_details(console, admin_page):
    import_pupils(console, 2)
    page = admin_page
    page.goto(console.url + "/admin/audit")
    page.locator("#audit-table tbody tr", has_text="user.imported").get_by_role("button").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading", level=2)).to_contain_text("user.imported")
    expect(dialog.locator("#audit-details")).to_contain_text("Who")
    expect(dialog.locator("#audit-details")).to_contain_text("head")
    expect(dialog.locator("#audit-json")).to_contain_text('"created": 2')
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
