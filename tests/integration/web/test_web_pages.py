"""The console's pages and counters over HTTP (in-process app, real PostgreSQL): who gets which page,
the strict CSP with nothing inline, and the dashboard's counters endpoint."""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.postgres]

PASSWORD = "correct horse battery"
PAGES = ["/admin/", "/admin/users", "/admin/classes", "/admin/sessions", "/admin/audit", "/admin/lessons"]


def web_login(client, username: str) -> str:  # type: ignore[no-untyped-def]
    response = client.post(
        "/api/auth/login", json={"username": username, "password": PASSWORD, "client": "web"}
    )
    assert response.status_code == 200, response.text
    return response.json()["csrf_token"]


@pytest.mark.parametrize("path", PAGES)
def test_a_visitor_without_a_session_is_redirected_to_log_in(client, path):
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == f"/admin/login?next={path.rstrip('/') or '/admin'}"


def test_pages_carry_the_strict_csp_and_nothing_inline(client, users):
    users.add("head", "admin")
    csrf = web_login(client, "head")
    for path in [*PAGES, "/admin/login"]:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 200 if path != "/admin/login" else response.status_code == 302
        if response.status_code != 200:
            continue
        html = response.text
        assert "'unsafe-inline'" not in response.headers["content-security-policy"]
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert response.headers["cache-control"] == "no-store"
        assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == [], f"inline script on {path}"
        assert re.findall(r"\sstyle=", html) == [], f"style attribute on {path}"
        assert re.findall(r"\son[a-z]+=", html) == [], f"inline event handler on {path}"
        assert "<style" not in html
        assert f'<meta name="csrf-token" content="{csrf}">' in html


def test_the_login_page_is_served_without_a_session(client):
    response = client.get("/admin/login")
    assert response.status_code == 200
    assert 'id="login-form"' in response.text
    assert 'data-next="/admin/"' in response.text


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/admin/", "/api/admin/users", "/admin\\x"]
)
def test_after_login_the_console_only_goes_to_its_own_pages(client, users, target):
    users.add("head", "admin")
    web_login(client, "head")
    response = client.get("/admin/login", params={"next": target}, follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == "/admin/"


def test_a_logged_in_admin_visiting_the_login_page_goes_to_the_page_asked_for(client, users):
    users.add("head", "admin")
    web_login(client, "head")
    response = client.get("/admin/login", params={"next": "/admin/audit"}, follow_redirects=False)
    assert response.headers["location"] == "/admin/audit"


def test_a_teacher_gets_the_admins_only_page_with_status_403(client, users):
    users.add("mrs.khan", "teacher")
    web_login(client, "mrs.khan")
    response = client.get("/admin/users")
    assert response.status_code == 403
    assert "This console is for admins only" in response.text
    assert 'href="/admin/users"' not in response.text


def test_an_ended_session_is_sent_to_log_in_with_a_note(client, users):
    client.cookies.set("tlac_session", "not-a-real-session-token")
    response = client.get("/admin/users", follow_redirects=False)
    assert response.headers["location"] == "/admin/login?next=/admin/users&ended=1"
    assert "Your session has ended" in client.get("/admin/login?ended=1").text


def test_static_files_are_served_with_their_types(client):
    assert client.get("/admin/static/admin.css").headers["content-type"].startswith("text/css")
    script = client.get("/admin/static/common.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert client.get("/admin/static/../templates/login.html").status_code == 404


def test_the_counters_are_for_admins_only(client, users):
    users.add("mrs.khan", "teacher")
    assert client.get("/api/admin/metrics/counters").status_code == 401
    web_login(client, "mrs.khan")
    assert client.get("/api/admin/metrics/counters").status_code == 403


def test_the_counters_total_logins_and_requests(client, users):
    users.add("head", "admin")
    client.post("/api/auth/login", json={"username": "head", "password": "wrong password"})
    web_login(client, "head")
    counters = client.get("/api/admin/metrics/counters").json()
    assert counters["logins"]["failure"] >= 1
    assert counters["logins"]["success"] >= 1
    assert counters["http_requests"] >= 2
    assert counters["latency"]["count"] >= 2
    assert list(counters["latency"]["buckets"])[-1] == "+Inf"
    assert counters["latency"]["buckets"]["+Inf"] == counters["latency"]["count"]
