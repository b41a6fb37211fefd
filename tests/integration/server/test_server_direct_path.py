"""The hot path's own connections (server.db.direct) when the database goes away and comes back."""

from __future__ import annotations

import time

from server_helpers import CODE, LESSON, app_client, bearer, database, login

SAVE = f"/api/activity/state/{LESSON}/{CODE}"


def maintenance_url(pg_url: str) -> str:
    return pg_url.rsplit("/", 1)[0] + "/postgres"


def end_every_session_of(pg_url: str) -> None:
    name = pg_url.rsplit("/", 1)[1]
    with database(maintenance_url(pg_url)) as connection:
        connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )


def test_saves_carry_on_after_the_database_ends_every_connection(client, users, pg_url):
    """A restore or a database restart kills every pooled connection at once: the next save must
    find a working one, not fail on the second dead one."""
    users.add("alice", "pupil")
    token = login(client, "alice")
    for number in range(3):
        saved = client.post(SAVE, headers=bearer(token), json={"state": {"code": f"print({number})"}})
        assert saved.status_code == 200, saved.text
    end_every_session_of(pg_url)
    saved = client.post(SAVE, headers=bearer(token), json={"state": {"code": "print('after')"}})
    assert saved.status_code == 200, saved.text
    assert client.get(SAVE, headers=bearer(token)).json()["state"] == {"code": "print('after')"}


def test_save_while_the_database_refuses_connections_is_a_503_then_works_again(make_settings, users, pg_url):
    users.add("alice", "pupil")
    name = pg_url.rsplit("/", 1)[1]
    with app_client(make_settings(POST16_DB_POOL_TIMEOUT="2")) as client:
        token = login(client, "alice")
        assert client.post(SAVE, headers=bearer(token), json={"state": {"code": "1"}}).status_code == 200
        with database(maintenance_url(pg_url)) as connection:
            connection.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        try:
            end_every_session_of(pg_url)
            refused = client.post(SAVE, headers=bearer(token), json={"state": {"code": "2"}})
            assert refused.status_code == 503, refused.text
            assert refused.headers["Retry-After"]
        finally:
            with database(maintenance_url(pg_url)) as connection:
                connection.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        deadline = time.monotonic() + 10  # a correctness bound: the pools reconnect by themselves
        status = 0
        while status != 200 and time.monotonic() < deadline:
            status = client.post(SAVE, headers=bearer(token), json={"state": {"code": "3"}}).status_code
        assert status == 200
