"""The Classes page in Chromium: create a class with a teacher, enrol pupils, remove one."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.postgres]


def test_admin_creates_a_class_enrols_pupils_and_the_teacher_sees_them(console, admin_page):
    console.users.add("mrs.khan", "teacher")
    for name in ("ada", "alan", "grace"):
        console.users.add(name, "pupil")
    page = admin_page
    page.goto(console.url + "/admin/classes")
    expect(page.get_by_text("No classes yet. Add the first one.")).to_be_visible()

    form = page.locator("#class-form")
    form.get_by_label("Class name").fill("12CS1 Computer Science")
    form.get_by_label("Teacher").select_option(label="Mrs.Khan (mrs.khan)")
    form.get_by_role("button", name="Add class").click()
    expect(page.get_by_role("status")).to_contain_text("Added the class 12CS1 Computer Science.")
    row = page.locator("#classes-table tbody tr", has_text="12CS1 Computer Science")
    expect(row).to_contain_text("Mrs.Khan")

    detail = page.locator("#class-detail")
    expect(detail.get_by_role("heading", name="12CS1 Computer Science")).to_be_visible()
    detail.get_by_label("Find pupils by name or username").fill("a")
    detail.get_by_role("button", name="Find").click()
    detail.get_by_label("Ada (ada)").check()
    detail.get_by_label("Alan (alan)").check()
    detail.get_by_role("button", name="Enrol selected pupils").click()
    expect(page.get_by_role("status")).to_contain_text("Enrolled 2 pupils in 12CS1 Computer Science.")
    expect(detail.locator("#members li")).to_have_count(2)
    expect(row.locator("td").nth(1)).to_have_text("2")
    expect(detail.get_by_label("Ada (ada)")).to_be_disabled()

    with console.api("mrs.khan") as teacher:
        classes = teacher.get("/api/teacher/classes").json()
    assert [(c["name"], c["pupil_count"]) for c in classes] == [("12CS1 Computer Science", 2)]

    with page.expect_download() as download:  # the class's marks for the markbook, as the teacher gets them
        row.get_by_role("link", name="Marks CSV of 12CS1 Computer Science").click()
    assert download.value.suggested_filename.endswith(".csv")
    marks = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert "ada" in marks
    assert "alan" in marks

    detail.get_by_role("button", name="Remove ada from 12CS1 Computer Science").click()
    expect(page.get_by_role("status")).to_contain_text("Removed ada from 12CS1 Computer Science.")
    expect(detail.locator("#members li")).to_have_count(1)
    expect(row.locator("td").nth(1)).to_have_text("1")


def test_renaming_a_class_and_changing_its_teacher(console, admin_page):
    first = console.users.add("mr.jones", "teacher")
    console.users.add("ms.patel", "teacher")
    console.users.enrol("13CS2", first, [])
    page = admin_page
    page.goto(console.url + "/admin/classes")
    page.get_by_role("button", name="Manage 13CS2").click()
    detail = page.locator("#class-detail")
    detail.get_by_label("Class name").fill("13CS2 Computer Science")
    detail.get_by_label("Teacher").select_option(label="Ms.Patel (ms.patel)")
    detail.get_by_role("button", name="Save class").click()
    expect(page.get_by_role("status")).to_contain_text("Saved 13CS2 Computer Science.")
    with console.api() as api:
        (school_class,) = api.get("/api/admin/classes").json()
    assert school_class["name"] == "13CS2 Computer Science"
    assert school_class["teacher"]["username"] == "ms.patel"


def test_a_duplicate_class_name_shows_the_servers_reason(console, admin_page):
    console.users.enrol("12CS1", None, [])
    page = admin_page
    page.goto(console.url + "/admin/classes")
    form = page.locator("#class-form")
    form.get_by_label("Class name").fill("12CS1")
    form.get_by_role("button", name="Add class").click()
    expect(form.get_by_role("alert")).to_have_text("A class called '12CS1' exists.")
    expect(page.locator("#classes-table tbody tr")).to_have_count(1)
