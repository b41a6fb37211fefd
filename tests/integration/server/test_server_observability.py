"""Metrics behind a token, liveness and readiness, security headers on every answer, and server errors
that tell the user a request id but never a stack trace."""

from __future__ import annotations

import re

import httpx
import pytest
from server_helpers import CODE, LESSON, METRICS_TOKEN, bearer, login, login_response, sql


def metric_value(text: str, name: str, labels: str = "") -> float:
    pattern = (
        rf"^{re.escape(name)}{{?{re.escape(labels)}.*?}}? ([0-9.e+-]+)$" if labels else rf"^{name} (\S+)$"
    )
    values = [float(m.group(1)) for m in re.finditer(pattern, text, re.MULTILINE)]
    return sum(values)


def test_metrics_without_the_token_are_refused(client):
    response = client.get("/api/metrics")
    assert response.status_code == 401
    assert "tlac_" not in response.text


def test_metrics_with_a_wrong_token_are_refused(client, users):
    users.add("alice", "pupil")
    assert client.get("/api/metrics", headers=bearer("not-the-token")).status_code == 401
    # A user's session token is not the metrics token either.
    assert client.get("/api/metrics", headers=bearer(login(client, "alice"))).status_code == 401


def test_metrics_with_the_token_count_requests_logins_and_saves(client, users):
    users.add("alice", "pupil")
    before = client.get("/api/metrics", headers=bearer(METRICS_TOKEN)).text
    login_response(client, "alice", "wrong password")
    token = login(client, "alice")
    saved = client.post(
        f"/api/activity/state/{LESSON}/{CODE}", headers=bearer(token), json={"state": {"code": "1"}}
    )
    assert saved.status_code == 200
    response = client.get("/api/metrics", headers=bearer(METRICS_TOKEN))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    after = response.text
    for name in (
        "tlac_http_requests_total",
        "tlac_http_request_duration_seconds",
        "tlac_auth_login_attempts_total",
        "tlac_activity_saves_total",
        "tlac_active_sessions",
        "tlac_db_pool_connections",
    ):
        assert name in after, name

    def grew(name: str, labels: str) -> bool:
        return metric_value(after, name, labels) > metric_value(before, name, labels)

    assert grew("tlac_auth_login_attempts_total", 'status="failure"')
    assert grew("tlac_auth_login_attempts_total", 'status="success"')
    assert grew("tlac_activity_saves_total", 'outcome="applied"')
    assert metric_value(after, "tlac_active_sessions") >= 1


def test_http_metrics_keep_their_labels_and_leave_out_health_and_metrics(client, users):
    """The series dashboards and alerts read: method, route template, status and app name, as
    Litestar's Prometheus middleware labelled them; health checks and scrapes are not counted."""
    users.add("alice", "pupil")
    token = login(client, "alice")
    save = 'app_name="post16",method="POST",path="/api/activity/state/{lesson_id}/{activity_id}"'
    before = client.get("/api/metrics", headers=bearer(METRICS_TOKEN)).text
    assert (
        client.post(
            f"/api/activity/state/{LESSON}/{CODE}", headers=bearer(token), json={"state": {"code": "1"}}
        ).status_code
        == 200
    )
    assert (
        client.post(
            f"/api/activity/state/{LESSON}/{CODE}", headers=bearer(token), json={"state": 5}
        ).status_code
        == 400
    )
    client.get("/api/health")
    after = client.get("/api/metrics", headers=bearer(METRICS_TOKEN)).text
    for status in ("200", "400"):
        labels = f'{save},status_code="{status}"'  # the exposition sorts labels by name
        assert metric_value(after, "tlac_http_requests_total", labels) == (
            metric_value(before, "tlac_http_requests_total", labels) + 1
        ), status
        assert metric_value(after, "tlac_http_request_duration_seconds_count", labels) == (
            metric_value(before, "tlac_http_request_duration_seconds_count", labels) + 1
        ), status
    assert 'path="/api/health"' not in after
    assert 'path="/api/metrics"' not in after


def test_health_answers_without_logging_in(client):
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_ready_reports_the_database_and_lessons(client):
    response = client.get("/api/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["lessons"] == "ok"


def assert_security_headers(response: httpx.Response) -> None:
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "'unsafe-inline'" not in csp
    assert "'unsafe-eval'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers.get_list("x-frame-options") == ["DENY"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"]
    assert response.headers["permissions-policy"]


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("get", "/api/health", {}),
        ("get", "/api/lessons", {}),  # 401
        ("get", "/api/no-such-endpoint", {}),  # 404, no route matched
        ("delete", "/api/health", {}),  # 405
        ("post", "/api/auth/login", {}),  # 400
        ("get", "/api/lessons", {"X-Post16-Protocol": "0"}),  # 426, answered by the middleware
        ("get", "/api/docs/openapi.json", {}),
        ("get", "/api/metrics", {}),
    ],
)
def test_every_answer_carries_the_security_headers(client, method, path, headers):
    response = getattr(client, method)(path, headers=headers)
    assert_security_headers(response)


def test_logged_in_answers_carry_the_security_headers_and_a_request_id(client, users):
    users.add("alice", "pupil")
    response = client.get("/api/lessons", headers=bearer(login(client, "alice")))
    assert response.status_code == 200
    assert_security_headers(response)
    assert response.headers["x-request-id"]


def test_server_error_tells_the_request_id_but_no_stack_trace(client, users, pg_url):
    users.add("alice", "pupil")
    token = login(client, "alice")
    sql(pg_url, "DROP TABLE marks CASCADE")  # the database breaks under the running server
    response = client.get("/api/marks", headers=bearer(token))
    assert response.status_code == 500
    body = response.json()
    assert body["code"] == "internal_error"
    assert body["request_id"] == response.headers["x-request-id"]
    for leak in ("Traceback", 'File "', "sqlalchemy", "psycopg", "marks", "SELECT"):
        assert leak not in response.text
    assert_security_headers(response)


@pytest.mark.slow
def test_server_error_is_logged_with_its_request_id(make_server, pg_url, users):
    users.add("alice", "pupil")
    server = make_server(pg_url, POST16_LOG_JSON="true")
    with httpx.Client(base_url=server.url) as http:
        token = login(http, "alice")
        sql(pg_url, "DROP TABLE marks CASCADE")
        response = http.get("/api/marks", headers=bearer(token))
    assert response.status_code == 500
    request_id = response.json()["request_id"]
    server.stop()
    log_text = server.log_path.read_text()
    [line] = [line for line in log_text.splitlines() if request_id in line and "unhandled error" in line]
    assert "Traceback" in line or "exception" in line
