"""A whole class logging in at once: password checks run off the event loop, a bounded number at a
time, and a login waiting for its turn holds no database connection — so every login succeeds even
with a small connection pool, and the server keeps answering other requests meanwhile."""

from __future__ import annotations

import concurrent.futures

import httpx
import pytest
from server_helpers import PASSWORD


@pytest.mark.slow
def test_a_class_logging_in_together_all_get_in_with_a_small_pool(make_server, pg_url, users):
    names = [f"pupil{n}" for n in range(16)]
    for name in names:
        users.add(name)
    server = make_server(pg_url, POST16_DB_POOL_SIZE="2", POST16_DB_MAX_OVERFLOW="0")

    def log_in(name: str) -> int:
        response = httpx.post(
            f"{server.url}/api/auth/login",
            json={"username": name, "password": PASSWORD, "client": "desktop"},
            timeout=120,
        )
        return response.status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(names) + 1) as pool:
        logins = [pool.submit(log_in, name) for name in names]
        health = pool.submit(lambda: httpx.get(f"{server.url}/api/health", timeout=120).status_code)
        assert health.result() == 200
        assert [login.result() for login in logins] == [200] * len(names)
