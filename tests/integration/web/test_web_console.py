"""The admin console in Chromium: logging in and out, who may see it, and every page under the CSP."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

PAGES = [
    ("/admin/", "Dashboard"),
    ("/admin/users", "Users"),
    ("/admin/classes", "Classes"),
    ("/admin/assignments", "Assignments"),
    ("/admin/sessions", "Sessions"),
    ("/admin/audit", "Audit log"),
    ("/admin/lessons", "Lessons"),
]


def test_every_page_loads_its_data_with_no_csp_violation(console, admin_page):
    page = admin_page
    for path, heading in PAGES:
        page.goto(console.url + path)
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        page.wait_for_load_state("networkidle")
    expect(page.locator("#manifest")).to_contain_text("Version")
    page.goto(console.url + "/admin/users")
    expect(page.locator("#users-table tbody tr")).to_have_count(1)  # the admin
    # the `console` fixture fails the test if the browser reported any CSP violation or script error


def test_navigation_menu_reaches_each_page(console, admin_page):
    page = admin_page
    for path, label in PAGES[1:]:
        page.get_by_role("navigation", name="Main").get_by_role("link", name=label, exact=True).click()
        page.wait_for_url(f"**{path}")
        expect(page.get_by_role("link", name=label, exact=True)).to_have_attribute("aria-current", "page")


def test_a_visitor_who_is_not_logged_in_is_sent_to_log_in_and_then_back(console):
    page = console.new_page()
    page.goto(console.url + "/admin/audit")
    expect(page).to_have_url(f"{console.url}/admin/login?next=/admin/audit")
    page.get_by_label("Username").fill("head")
    page.get_by_label("Password").fill(console.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/audit")
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit log")


def test_a_wrong_password_gets_a_plain_message_and_no_session(console):
    page = console.new_page()
    page.goto(console.url + "/admin/login")
    page.get_by_label("Username").fill("head")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text(
        "That username and password do not match. Check them and try again."
    )
    page.goto(console.url + "/admin/users")
    expect(page).to_have_url(f"{console.url}/admin/login?next=/admin/users")


def test_a_teacher_who_logs_in_is_told_the_console_is_for_admins_only(console):
    console.users.add("mrsmith", "teacher")
    page = console.new_page()
    console.log_in(page, "mrsmith")
    expect(page.get_by_role("heading", level=1)).to_have_text("Admins only")
    expect(page.get_by_role("alert")).to_contain_text("This console is for admins only")
    response = page.goto(console.url + "/admin/users")
    assert response is not None
    assert response.status == 403
    expect(page.get_by_role("link", name="Users")).to_have_count(0)


def test_logging_out_ends_the_session(console, admin_page):
    page = admin_page
    cookie = next(c for c in console.context.cookies() if c["name"] == "tlac_session")
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Strict"
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/admin/login")
    page.goto(console.url + "/admin/users")
    expect(page).to_have_url(f"{console.url}/admin/login?next=/admin/users")
    # the old cookie no longer works, even if a copy of it were replayed
    with console.client() as client:
        client.cookies.set("tlac_session", cookie["value"])
        assert client.get("/api/auth/me").status_code == 401


def test_a_revoked_console_session_is_sent_back_to_log_in(console, admin_page):
    page = admin_page
    page.goto(console.url + "/admin/users")
    with console.api() as api:
        mine = [s for s in api.get("/api/admin/sessions").json() if s["client"] == "web"]
        assert len(mine) == 1
        assert api.delete(f"/api/admin/sessions/{mine[0]['id']}").status_code == 204
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(f"{console.url}/admin/login?next=/admin/users&ended=1")
    expect(page.get_by_text("Your session has ended. Please log in again.")).to_be_visible()


def test_the_console_works_from_the_keyboard_alone(console):
    page = console.new_page()
    page.goto(console.url + "/admin/login")
    page.keyboard.type("head")  # the username field has focus on arrival
    page.keyboard.press("Tab")
    page.keyboard.type(console.password)
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()
