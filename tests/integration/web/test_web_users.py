"""The Users page in Chromium: CSV import with preview and per-row report, adding and changing people."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

CSV = (
    "username,display_name,password\n"
    "amy.p,Amy Pond,pond-password-1\n"
    "bad name!,Bad Row,whatever-long-1\n"
    "rory.w,Rory Williams,roman-password\n"
)


def usernames(console) -> set[str]:  # type: ignore[no-untyped-def]
    with console.api() as api:
        return {user["username"] for user in api.get("/api/admin/users").json()["items"]}


def choose_csv(page, text: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_label("CSV file", exact=True).set_input_files(
        files=[{"name": "pupils.csv", "mimeType": "text/csv", "buffer": text.encode()}]
    )


def test_csv_import_previews_then_adds_the_good_rows_and_reports_the_bad_one(console, admin_page):
    page = admin_page
    page.goto(console.url + "/admin/users")
    choose_csv(page, CSV)
    page.get_by_role("button", name="Preview import").click()

    report = page.locator("#import-report")
    expect(report.get_by_role("heading", name="Preview: nothing saved yet")).to_be_visible()
    expect(report).to_contain_text("3 rows read: 2 people ready to add, 1 row with problems will be skipped.")
    problems = report.locator("#import-errors tbody tr")
    expect(problems).to_have_count(1)
    expect(problems.locator("td").nth(0)).to_have_text("3")
    expect(problems.locator("td").nth(1)).to_have_text("username")
    expect(problems.locator("td").nth(2)).to_contain_text("Usernames are 1–64 letters, digits")
    expect(report.locator("#import-created li")).to_have_text(["amy.p", "rory.w"])
    assert not {"amy.p", "rory.w"} & usernames(console), "a preview must not create anyone"

    page.get_by_role("button", name="Import 2 people").click()
    expect(report.get_by_role("heading", name="Import finished")).to_be_visible()
    expect(report).to_contain_text("2 people added, 1 row skipped because of the problems below.")
    expect(problems).to_have_count(1)
    expect(page.locator("#users-table")).to_contain_text("Rory Williams")
    found = usernames(console)
    assert {"amy.p", "rory.w"} <= found
    assert "bad name!" not in found
    with console.api("amy.p", "pond-password-1") as api:
        assert api.get("/api/auth/me").json()["user"]["role"] == "pupil"


def test_a_csv_without_the_required_columns_is_refused_with_the_servers_reason(console, admin_page):
    page = admin_page
    page.goto(console.url + "/admin/users")
    choose_csv(page, "name,pw\nx,y\n")
    page.get_by_role("button", name="Preview import").click()
    error = page.locator("#import-form .form-error")
    expect(error).to_contain_text("CSV header needs the columns username, password")
    expect(page.locator("#import-report")).to_be_hidden()


def test_an_added_person_can_log_in_and_a_taken_username_is_refused(console, admin_page):
    page = admin_page
    page.goto(console.url + "/admin/users")
    form = page.locator("#create-form")
    form.get_by_label("Username").fill("new.teacher")
    form.get_by_label("Full name").fill("Ms New Teacher")
    form.get_by_label("Role").select_option("teacher")
    form.get_by_label("First password").fill("a long first pw")
    form.get_by_role("button", name="Add person").click()
    expect(page.get_by_role("status")).to_contain_text("Added new.teacher (teacher).")
    with console.api("new.teacher", "a long first pw") as api:
        assert api.get("/api/auth/me").json()["user"]["role"] == "teacher"

    form.get_by_label("Username").fill("NEW.TEACHER")
    form.get_by_label("First password").fill("another long pw")
    form.get_by_role("button", name="Add person").click()
    expect(form.get_by_role("alert")).to_have_text("Username 'new.teacher' is taken.")
    expect(form.get_by_label("Username")).to_have_attribute("aria-invalid", "true")


def test_editing_a_person_changes_role_then_disables_them_and_their_token_stops_working(console, admin_page):
    console.users.add("pat", "pupil")
    with console.api("pat") as pupil:
        page = admin_page
        page.goto(console.url + "/admin/users")
        page.get_by_role("button", name="Edit pat").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_label("Role").select_option("teacher")
        dialog.get_by_role("button", name="Save changes").click()
        expect(dialog).to_be_hidden()
        expect(page.locator("#users-table tr", has_text="pat")).to_contain_text("Teacher")
        assert pupil.get("/api/auth/me").status_code == 401, "a role change ends the person's sessions"

    with console.api("pat") as teacher:
        page.get_by_role("button", name="Edit pat").click()
        dialog.get_by_role("button", name="Disable account").click()
        expect(page.get_by_role("status")).to_contain_text("pat is disabled and logged out everywhere.")
        expect(dialog.get_by_role("button", name="Enable account")).to_be_visible()
        assert teacher.get("/api/auth/me").status_code == 401
    page.keyboard.press("Escape")
    expect(page.locator("#users-table tr", has_text="pat")).to_contain_text("Disabled")


def test_a_reset_password_replaces_the_old_one(console, admin_page):
    console.users.add("forgetful", "pupil")
    page = admin_page
    page.goto(console.url + "/admin/users")
    page.get_by_role("button", name="Edit forgetful").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("New password").fill("short")
    dialog.get_by_role("button", name="Set new password").click()
    expect(dialog.get_by_role("alert")).to_have_text("The new password needs at least 8 characters.")
    dialog.get_by_label("New password").fill("brand new secret")
    dialog.get_by_role("button", name="Set new password").click()
    expect(page.get_by_role("status")).to_contain_text("New password set for forgetful")
    with console.api("forgetful", "brand new secret") as api:
        assert api.get("/api/auth/me").status_code == 200
    with console.client() as client:
        old = client.post("/api/auth/login", json={"username": "forgetful", "password": console.password})
        assert old.status_code == 401


def test_search_finds_people_by_name_and_role(console, admin_page):
    for name in ("alice", "alina", "bob"):
        console.users.add(name, "pupil")
    console.users.add("alistair", "teacher")
    page = admin_page
    page.goto(console.url + "/admin/users")
    search = page.get_by_role("search")
    search.get_by_label("Name or username").fill("ali")
    search.get_by_label("Role").select_option("pupil")
    search.get_by_role("button", name="Search").click()
    expect(page.locator("#users-table tbody tr td:first-child")).to_have_text(["alice", "alina"])
    search.get_by_label("Name or username").fill("nobody-like-this")
    search.get_by_role("button", name="Search").click()
    expect(page.get_by_text("No one matches that search.")).to_be_visible()
