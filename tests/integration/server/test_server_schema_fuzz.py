"""Schemathesis against the OpenAPI schema of a real server process: whatever it sends, as a pupil, a
teacher or an admin, the server never answers 5xx."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from server_helpers import login

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
# Requests that would end the fuzzer's own session (the rest of the run would only see 401s).
SESSION_ENDING = r"^/api/auth/(logout|password)$|^/api/admin/(sessions|users/\{user_id\}/(sessions|password))"


# Known 500s, reported to the admin API's owner: an id beyond bigint in an admin path is a database
# error (those paths take FromPath[int]; server.domain.deps.PathId bounds it). Drop this once fixed.
@pytest.mark.slow
@pytest.mark.parametrize("role", ["pupil", "teacher", "admin"])
def test_no_generated_request_gets_a_server_error(make_server, pg_url, users, tmp_path, role):
    pupil = users.add("pupil", "pupil")
    teacher = users.add("teacher", "teacher")
    users.add("admin", "admin")
    users.enrol("12A", teacher, [pupil])
    server = make_server(
        pg_url,
        POST16_RATE_LIMITS="activity_save=0,python_run=0,mark_activity=0,default=0",
        POST16_LOGIN_USER_THRESHOLD="100000",
        POST16_LOGIN_IP_THRESHOLD="100000",
    )
    with httpx.Client(base_url=server.url) as http:
        token = login(http, role)
    result = subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            f"{server.url}/api/docs/openapi.json",
            "--checks",
            "not_a_server_error",
            "--header",
            f"Authorization: Bearer {token}",
            "--exclude-path-regex",
            # Non-admins get a 403 for every admin path: no need to spend the time budget there.
            SESSION_ENDING + ("" if role == "admin" else r"|^/api/admin/"),
            "--max-examples",
            "10",
            "--phases",
            "examples,coverage,fuzzing",
            "--seed",
            "1616",
            # One worker: hypothesis describes strategies with `ast`, and CPython 3.11.7's ast is not
            # thread-safe ("AST constructor recursion depth mismatch" at random operations).
            "--workers",
            "1",
            "--request-timeout",
            "30",
            "--suppress-health-check",
            "all",
            "--warnings",
            "off",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = result.stdout + result.stderr
    report = output[output.find("====") :][:8000]  # the failures and errors, each under its operation
    assert result.returncode == 0, report
    assert "No issues found" in output, report
