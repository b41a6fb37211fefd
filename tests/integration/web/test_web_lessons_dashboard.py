"""The Lessons and Dashboard pages in Chromium, and proof that the CSP listener the other tests rely on
does catch a violation."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

LESSONS = Path(__file__).resolve().parents[3] / "lessons"
LESSON_COUNT = len(json.loads((LESSONS / "manifest.json").read_text(encoding="utf-8"))["lessons"])


@pytest.fixture
def lessons_dir(tmp_path: Path) -> Path:
    copy = tmp_path / "lessons"
    shutil.copytree(LESSONS, copy)
    return copy


@pytest.fixture
def console_env(lessons_dir: Path) -> dict[str, str]:
    return {"POST16_LESSONS_DIR": str(lessons_dir)}


def test_a_broken_reload_shows_its_errors_and_keeps_the_loaded_lessons(console, admin_page, lessons_dir):
    page = admin_page
    page.goto(console.url + "/admin/lessons")
    manifest = page.locator("#manifest")
    expect(manifest).to_contain_text(f"Lessons{LESSON_COUNT}")
    version = manifest.locator("dd").first.inner_text()
    expect(page.get_by_text("The lesson files are valid")).to_be_visible()

    (lessons_dir / "manifest.json").write_text('{"format": 1, "title": "broken", "lessons": [{"id": "x"}]}')
    page.get_by_role("button", name="Reload lessons now").click()
    expect(page.get_by_role("status")).to_contain_text("the last good lessons are still in use")
    problems = page.locator("#errors li")
    expect(problems.first).to_be_visible()
    expect(page.locator("#errors-card")).to_contain_text("manifest.json")
    expect(manifest.locator("dd").first).to_have_text(version)

    page.goto(console.url + "/admin/")
    expect(page.locator("#lesson-warning")).to_contain_text("The last lesson reload was refused")


def test_dashboard_shows_headline_figures_and_draws_charts_from_two_readings(console, admin_page):
    console.users.add("pupil1", "pupil")
    with console.client() as client:
        client.post("/api/auth/login", json={"username": "pupil1", "password": "wrong password"})
    page = admin_page
    page.goto(console.url + "/admin/?refresh=5")
    expect(page.locator('[data-stat="pupils"]')).to_have_text("1")
    expect(page.locator('[data-stat="lessons"]')).to_have_text(str(LESSON_COUNT))
    expect(page.locator('[data-stat="sandbox"]')).to_have_text("Disabled")
    logins = page.locator("#chart-logins")
    expect(logins.locator(".bars li", has_text="Failed")).to_contain_text("1")
    expect(logins.locator(".bars li", has_text="Succeeded")).to_contain_text("1")
    chart = page.locator("#chart-requests svg[role=img]")
    expect(chart).to_be_visible(timeout=15_000)  # the first rate needs two readings, 5 s apart
    assert "Requests per second:" in (chart.get_attribute("aria-label") or "")
    expect(page.locator("#chart-latency svg path.line")).to_have_count(2)


def test_the_csp_listener_catches_an_inline_style(console, admin_page):
    page = admin_page
    page.evaluate("document.body.setAttribute('style', 'background: red')")
    page.wait_for_timeout(300)
    assert any("style-src" in text for text in console.csp_violations)
    console.csp_violations.clear()  # the violation was ours, on purpose


def test_admin_chooses_where_pupils_code_runs(console, admin_page):
    page = admin_page
    page.goto(console.url + "/admin/lessons")
    laptop = page.get_by_role("radio", name="On the laptop first")
    server_only = page.get_by_role("radio", name="On the server only")
    expect(laptop).to_be_checked()

    server_only.check()
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("status")).to_contain_text("runs on the server only")
    page.reload()
    expect(page.get_by_role("radio", name="On the server only")).to_be_checked()
    audit = page.request.get(console.url + "/api/admin/audit?action=setting.changed").json()
    assert [entry["details"]["to"] for entry in audit["items"]] == ["server_only"]
