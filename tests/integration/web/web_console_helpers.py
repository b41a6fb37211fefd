"""Shared by the admin console's browser tests: Chromium settings, the page reporter, and `Console`
(a real server, a browser context and API clients)."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
ADMIN = "head"
PASSWORD = "correct horse battery"  # tests/conftest.py UserFactory.PASSWORD
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

# Runs before any page script, in every document; the binding outlives navigations.
REPORTER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__post16Report("csp", `${event.violatedDirective} blocked ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile || document.location.pathname}:${event.lineNumber}`);
});
"""


def service_missing(what: str) -> None:
    """Fail under CI (a browser test that cannot run there is a failure), skip on a bare dev machine."""
    if IN_CI:
        pytest.fail(f"{what} is not available; `make test` should have installed it", pytrace=False)
    pytest.skip(f"{what} is not available (run `make provision`)")


@dataclass
class Console:
    """A real server with an admin, and a browser context whose pages report CSP violations."""

    url: str
    context: Any
    users: Any
    password: str = PASSWORD
    csp_violations: list[str] = field(default_factory=list)
    script_errors: list[str] = field(default_factory=list)

    def new_page(self) -> Any:
        page = self.context.new_page()
        page.on("pageerror", lambda error: self.script_errors.append(f"{page.url}: {error}"))
        page.on("console", self._console_message)
        page.on("dialog", lambda dialog: dialog.accept())
        return page

    def _console_message(self, message: Any) -> None:
        text = message.text
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            self.csp_violations.append(text)

    def client(self, user_agent: str | None = None) -> httpx.Client:
        headers = {"User-Agent": user_agent} if user_agent else None
        return httpx.Client(base_url=self.url, timeout=60, headers=headers)

    @contextlib.contextmanager
    def api(
        self, username: str = ADMIN, password: str = PASSWORD, user_agent: str | None = None
    ) -> Iterator[httpx.Client]:
        """An API client logged in as a desktop client (bearer token)."""
        with self.client(user_agent) as client:
            response = client.post(
                "/api/auth/login", json={"username": username, "password": password, "client": "desktop"}
            )
            assert response.status_code == 200, response.text
            client.headers["Authorization"] = f"Bearer {response.json()['token']}"
            yield client

    def log_in(
        self, page: Any, username: str = ADMIN, password: str = PASSWORD, path: str = "/admin/"
    ) -> None:
        page.goto(self.url + path)
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()


# A school's worth of people for the pages that show them (layout and accessibility tests).
CSV = (
    "username,display_name,password,class\n"
    "ada.l,Ada Lovelace,analytical-1843,\n"
    "alan.t,Alan Turing,enigma-bombe-1,\n"
    "grace.h,Grace Hopper,cobol-compiler,\n"
    "Bad Name!,Nobody,whatever-long,\n"
    "tim.bl,Tim Berners-Lee,world-wide-web,13CS2\n"
)


def seed(console: Console) -> None:
    """A school's worth of data: staff, pupils, classes, sessions, a few failed logins."""
    with console.api() as api:
        teachers = [
            api.post(
                "/api/admin/users",
                json={"username": u, "display_name": n, "role": "teacher", "password": "teacher-pass-1"},
            ).json()["id"]
            for u, n in (("mrs.khan", "Mrs Aisha Khan"), ("mr.jones", "Mr Owen Jones"))
        ]
        for index, (name, teacher) in enumerate(
            (("12CS1 Computer Science", 0), ("13CS2 Computer Science", 1))
        ):
            created = api.post("/api/admin/classes", json={"name": name, "teacher_id": teachers[teacher]})
            assert created.status_code == 201, created.text
            if index == 1:
                api.post("/api/admin/classes", json={"name": "13CS2", "teacher_id": teachers[1]})
        report = api.post("/api/admin/users/import", content=CSV, headers={"Content-Type": "text/csv"}).json()
        assert len(report["created"]) == 4, report
        pupils = [u["id"] for u in api.get("/api/admin/users", params={"role": "pupil"}).json()["items"]]
        first = api.get("/api/admin/classes").json()[0]["id"]
        api.post(f"/api/admin/classes/{first}/pupils", json={"pupil_ids": pupils[:3]})
    with console.client() as client:
        for username in ("ada.l", "alan.t", "grace.h"):
            client.post(
                "/api/auth/login",
                json={"username": username, "password": "wrong-password", "client": "desktop"},
            )
    for username, password in (
        ("ada.l", "analytical-1843"),
        ("alan.t", "enigma-bombe-1"),
        ("mrs.khan", "teacher-pass-1"),
    ):
        with console.api(username, password) as api:
            api.get("/api/lessons")
    with console.api("mrs.khan", "teacher-pass-1") as api:  # work set from her laptop, as the app does
        soon = datetime.now(UTC) + timedelta(days=3)
        for lesson, title, activities in (
            ("selection", "Selection homework", []),
            ("iteration", "Loops: the first three", ["sum-of-multiples", "countdown", "loop-count"]),
        ):
            pushed = api.post(
                "/api/sync/push",
                json={
                    "protocol": 1,
                    "device_id": "khan-laptop",
                    "operations": [
                        {
                            "op_id": str(uuid.uuid4()),
                            "kind": "assignment.set",
                            "lesson_id": lesson,
                            "payload": {
                                "assignment_id": str(uuid.uuid4()),
                                "class_id": first,
                                "due_at": soon.isoformat(),
                                "title": title,
                                "activity_ids": activities,
                            },
                            "client_time": datetime.now(UTC).isoformat(),
                        }
                    ],
                },
            )
            assert pushed.json()["results"][0]["outcome"] == "applied", pushed.text
