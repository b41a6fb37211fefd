"""The pull feed serves an event only when every older writing transaction of the same database has
finished — so a cursor never jumps over an event that commits late — and a long transaction in
another database of the same PostgreSQL cluster never stalls it."""

from __future__ import annotations

import psycopg
from server_helpers import libpq, login, pull_all, push, save_op


def open_writer(database_url: str) -> psycopg.Connection:
    """A connection holding an open transaction that has written (so it owns a transaction id)."""
    connection = psycopg.connect(libpq(database_url))
    connection.execute("CREATE TEMP TABLE held (n int)")
    connection.execute("INSERT INTO held VALUES (1)")
    return connection


def answers(client, token: str) -> list[str]:  # type: ignore[no-untyped-def]
    items, _ = pull_all(client, token)
    return [item["state"]["code"] for item in items if item["type"] == "revision"]


def test_a_long_transaction_in_another_database_does_not_stall_pull(client, users, make_pg_url):
    users.add("alice")
    token = login(client, "alice")
    writer = open_writer(make_pg_url())
    try:
        push(client, token, [save_op({"code": "while another database is busy"})])
        assert answers(client, token) == ["while another database is busy"]
    finally:
        writer.close()


def test_an_older_open_transaction_in_the_same_database_holds_later_events_back(client, users, pg_url):
    users.add("bob")
    token = login(client, "bob")
    push(client, token, [save_op({"code": "before"})])
    writer = open_writer(pg_url)
    try:
        push(client, token, [save_op({"code": "after"})])
        assert answers(client, token) == ["before"]
    finally:
        writer.commit()
        writer.close()
    assert answers(client, token) == ["before", "after"]
