"""WCAG 2.1 AA in the admin console: axe-core's checks (tags wcag2a, wcag2aa, wcag21a, wcag21aa) on every
page and on the states a page can be in (dialogs, previews, messages, the phone menu), at desktop and
phone width.

axe-core is the version `scripts/provision.sh axe` pins and checksums into build/axe-core (or
$POST16_AXE_DIR). It goes into each document as a Playwright init script, which the console's CSP
does not apply to, so the pages run under their real CSP and the `console` fixture still fails the test
on any violation. A failure lists every violation: where, rule id, impact, target selector, summary.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from web_console_helpers import ADMIN, CSV, DESKTOP, PASSWORD, PHONE, REPORTER, Console, seed, service_missing

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[3]
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
  return {version: axe.version, violations: result.violations.map((rule) => ({
    id: rule.id, impact: rule.impact, help: rule.help,
    nodes: rule.nodes.map((node) => ({target: node.target.join(" "), summary: node.failureSummary})),
  }))};
}"""


def pinned_axe_version() -> str:
    found = re.search(r"^AXE_VERSION=(\S+)$", (REPO / "scripts/provision.sh").read_text(), re.MULTILINE)
    assert found, "scripts/provision.sh pins no AXE_VERSION"
    return found.group(1)


@pytest.fixture(scope="module")
def axe_script() -> Path:
    path = Path(os.environ.get("POST16_AXE_DIR") or REPO / "build" / "axe-core") / "axe.min.js"
    if not path.is_file():
        service_missing(f"axe-core at {path} (scripts/provision.sh axe)")
    return path


class AxeAudit:
    """Runs axe in a page at both widths and keeps every violation, so one run reports them all."""

    def __init__(self) -> None:
        self.violations: list[str] = []
        self.checked: list[str] = []

    def check(self, page: Any, state: str, widths: tuple[str, ...] = ("desktop", "phone")) -> None:
        for width in widths:
            page.set_viewport_size(DESKTOP if width == "desktop" else PHONE)
            self._run(page, f"{state} @ {width}")
        page.set_viewport_size(DESKTOP)

    def _run(self, page: Any, where: str) -> None:
        result = page.evaluate(RUN_AXE, AXE_TAGS)
        assert result["version"] == pinned_axe_version()
        self.checked.append(where)
        for rule in result["violations"]:
            for node in rule["nodes"]:
                summary = " ".join(node["summary"].split())
                self.violations.append(
                    f"{where}: {rule['id']} ({rule['impact']}) {rule['help']} | {node['target']} | {summary}"
                )

    def assert_clean(self) -> None:
        print(f"axe-core {pinned_axe_version()} checked: " + "; ".join(self.checked))
        assert not self.violations, f"{len(self.violations)} WCAG 2.1 AA violations:\n" + "\n".join(
            self.violations
        )


def test_every_console_page_and_state_passes_axe_wcag_21_aa(
    console: Console, admin_page: Any, axe_script: Path
) -> None:
    audit = AxeAudit()
    console.context.add_init_script(path=axe_script)
    seed(console)
    with console.api() as api:
        grace = api.get("/api/admin/users", params={"q": "grace.h"}).json()["items"][0]["id"]
        assert api.patch(f"/api/admin/users/{grace}", json={"disabled": True}).status_code == 200
    page = admin_page

    page.goto(console.url + "/admin/?refresh=5")
    expect(page.locator("#chart-requests svg")).to_be_visible(timeout=20_000)  # two readings, 5 s apart
    audit.check(page, "dashboard")

    page.goto(console.url + "/admin/users")
    expect(page.locator("#users-table tbody tr", has_text="grace.h")).to_contain_text("Disabled")
    audit.check(page, "users")
    page.get_by_role("button", name="Edit alan.t").click()
    expect(page.get_by_role("dialog")).to_be_visible()
    audit.check(page, "users, edit dialog")
    page.keyboard.press("Escape")
    page.locator("#create-form").get_by_role("button", name="Add person").click()
    expect(page.locator("#create-form .form-error")).to_be_visible()
    audit.check(page, "users, a form error", ("desktop",))
    form = page.locator("#create-form")
    form.get_by_label("Username").fill("new.teacher")
    form.get_by_label("First password").fill("a long first pw")
    form.get_by_role("button", name="Add person").click()
    expect(page.get_by_role("status")).to_contain_text("Added new.teacher")
    audit.check(page, "users, a message", ("desktop",))
    page.get_by_label("CSV file", exact=True).set_input_files(
        files=[
            {"name": "pupils.csv", "mimeType": "text/csv", "buffer": CSV.replace("ada.l", "ada.k").encode()}
        ]
    )
    page.get_by_role("button", name="Preview import").click()
    expect(page.locator("#import-errors tbody tr")).not_to_have_count(0)
    audit.check(page, "users, import preview")

    page.goto(console.url + "/admin/classes")
    expect(page.locator("#classes-table tbody tr")).not_to_have_count(0)
    audit.check(page, "classes")
    page.get_by_role("button", name="Manage 12CS1 Computer Science").click()
    page.get_by_role("button", name="Find").click()
    expect(page.locator("#pupil-results")).to_be_visible()
    audit.check(page, "classes, manage a class")

    page.goto(console.url + "/admin/assignments")
    expect(page.locator("#assignments-table tbody tr")).to_have_count(2)
    audit.check(page, "assignments")

    page.goto(console.url + "/admin/sessions")
    expect(page.locator("#sessions-table tbody tr")).not_to_have_count(0)
    audit.check(page, "sessions")

    page.goto(console.url + "/admin/audit")
    expect(page.locator("#audit-table tbody tr")).not_to_have_count(0)
    audit.check(page, "audit")
    page.get_by_role("button", name="Details").first.click()
    expect(page.get_by_role("dialog")).to_be_visible()
    audit.check(page, "audit, entry details")
    page.keyboard.press("Escape")

    page.goto(console.url + "/admin/lessons")
    expect(page.locator("#manifest")).to_contain_text("Version")
    audit.check(page, "lessons")
    page.get_by_role("button", name="Reload lessons now").click()
    expect(page.get_by_role("status")).not_to_be_empty()
    audit.check(page, "lessons, after a reload", ("desktop",))

    page.set_viewport_size(PHONE)
    page.get_by_role("button", name="Menu").click()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Users")).to_be_visible()
    audit.check(page, "the menu open", ("phone",))
    audit.assert_clean()


def test_login_admins_only_and_api_reference_pages_pass_axe_wcag_21_aa(
    console: Console, browser: Any, axe_script: Path
) -> None:
    audit = AxeAudit()
    console.users.add("mr.teacher", "teacher")
    context = browser.new_context(viewport=DESKTOP, locale="en-GB")
    context.add_init_script(REPORTER)
    context.add_init_script(path=axe_script)
    context.expose_binding("__post16Report", lambda _source, _kind, text: console.csp_violations.append(text))
    try:
        page = context.new_page()
        page.goto(console.url + "/api/docs")
        expect(page.get_by_role("navigation", name="Contents")).to_be_visible()
        audit.check(page, "API reference (/api/docs)")
        page.goto(console.url + "/admin/login")
        audit.check(page, "login")
        page.get_by_label("Username").fill(ADMIN)
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Log in").click()
        expect(page.locator("#login-error")).to_be_visible()
        audit.check(page, "login, wrong password")
        page.goto(console.url + "/admin/login?ended=1")
        expect(page.get_by_role("status")).to_be_visible()
        audit.check(page, "login, session ended")

        page.get_by_label("Username").fill("mr.teacher")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Admins only")
        audit.check(page, "admins only")
        page.goto(console.url + "/admin/login")
        expect(page.locator("#admins-only")).to_be_visible()
        audit.check(page, "login, as a teacher")
    finally:
        context.close()
    audit.assert_clean()
