"""The Sessions page in Chromium: revoking a desktop session makes its bearer token stop working."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.postgres]


def test_revoking_one_session_rejects_its_token_and_leaves_the_others(console, admin_page):
    console.users.add("pupil1", "pupil")
    with (
        console.api("pupil1", user_agent="Post16Desktop/1.0 laptop-A") as laptop,
        console.api("pupil1", user_agent="Post16Desktop/1.0 laptop-B") as other_laptop,
    ):
        assert laptop.get("/api/auth/me").status_code == 200
        page = admin_page
        page.goto(console.url + "/admin/sessions")
        page.get_by_label("Show only username").fill("pupil1")
        rows = page.locator("#sessions-table tbody tr")
        expect(rows).to_have_count(2)
        expect(page.locator("#sessions-count")).to_have_text("2 active sessions of 1 person.")
        expect(rows.filter(has_text="laptop-A")).to_have_count(1)
        rows.filter(has_text="laptop-A").get_by_role("button", name="Revoke session").click()
        expect(page.get_by_role("status")).to_contain_text("Revoked pupil1's desktop app session.")
        expect(rows).to_have_count(1)
        expect(rows).to_contain_text("laptop-B")

        refused = laptop.get("/api/auth/me")
        assert refused.status_code == 401
        assert refused.json()["detail"] == "your session has ended: log in again"
        assert other_laptop.get("/api/auth/me").status_code == 200


def test_revoking_all_of_a_users_sessions_logs_them_out_everywhere(console, admin_page):
    console.users.add("pupil2", "pupil")
    with console.api("pupil2") as laptop, console.api("pupil2") as phone:
        page = admin_page
        page.goto(console.url + "/admin/sessions")
        row = page.locator("#sessions-table tbody tr", has_text="pupil2").first
        row.get_by_role("button", name="Revoke every session of pupil2").click()  # confirm() is accepted
        expect(page.get_by_role("status")).to_contain_text("Revoked 2 sessions of pupil2.")
        expect(page.locator("#sessions-table tbody tr", has_text="pupil2")).to_have_count(0)
        assert laptop.get("/api/auth/me").status_code == 401
        assert phone.get("/api/auth/me").status_code == 401
    expect(page.locator("#sessions-table tbody tr", has_text="head")).to_have_count(1)
