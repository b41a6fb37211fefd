"""Recently checked sessions, kept in the server process so most requests need not ask the database.

Every authenticated request looked up its session (one SELECT joining users): a quarter of a save's
server time (docs/performance.md). The cache keeps what that lookup returned for at most `ttl` seconds.

Revocation stays immediate in practice: on PostgreSQL a trigger (migration 0002) sends
`NOTIFY post16_auth, '<user id>'` when a session is revoked or changed, or a user is changed or removed,
and each process LISTENs and forgets that user's sessions. In the process that made the change the
cache is emptied as its transaction commits (`watch_orm_sessions`), so a logout or a revocation holds
for the very next request there; other processes follow within the notification's delivery time
(milliseconds), and never later than `ttl`. Three rules keep it safe:
- no listener, no cache: while the listening connection is down every lookup goes to the database, and
  the cache is emptied when it comes back (notifications may have been missed);
- an entry read from the database is kept only if no notification arrived while it was being read
  (the generation check), so a lookup racing a revocation cannot store the revoked session;
- only live sessions are kept; unknown tokens are never cached (an attacker cannot fill the cache
  with guesses), and the cache holds at most `max_entries` sessions, the oldest dropped first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import datetime

import psycopg
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

log = logging.getLogger("post16.auth")
CHANNEL = "post16_auth"


@dataclass(frozen=True, slots=True)
class CachedSession:
    """What the session lookup returns; `cached_at` is on the monotonic clock."""

    session_id: int
    user_id: int
    username: str
    display_name: str
    role: str
    csrf_token: str
    expires_at: datetime
    last_seen_at: datetime
    idle_timeout: int
    cached_at: float


class SessionCache:
    def __init__(self, ttl: float = 10.0, max_entries: int = 20_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.generation = 0
        self.listening = False
        self._entries: dict[str, CachedSession] = {}
        self._by_user: dict[int, set[str]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, token_digest: str) -> CachedSession | None:
        if not self.listening:
            return None
        entry = self._entries.get(token_digest)
        if entry is not None and time.monotonic() - entry.cached_at > self.ttl:
            self._drop(token_digest)
            return None
        return entry

    def put(self, token_digest: str, entry: CachedSession, generation: int) -> None:
        """Keep `entry`, read from the database when `self.generation` was `generation`."""
        if not self.listening or generation != self.generation:
            return
        self._drop(token_digest)
        while len(self._entries) >= self.max_entries:
            self._drop(next(iter(self._entries)))
        self._entries[token_digest] = entry
        self._by_user.setdefault(entry.user_id, set()).add(token_digest)

    def forget_user(self, user_id: int) -> None:
        self.generation += 1
        for token_digest in self._by_user.pop(user_id, set()):
            self._entries.pop(token_digest, None)

    def clear(self) -> None:
        self.generation += 1
        self._entries.clear()
        self._by_user.clear()

    def notified(self, payload: str) -> None:
        if payload.isdigit():
            self.forget_user(int(payload))
        else:  # "*" (a table was truncated) or anything unexpected: forget everything
            self.clear()

    def _drop(self, token_digest: str) -> None:
        entry = self._entries.pop(token_digest, None)
        if entry is not None:
            digests = self._by_user.get(entry.user_id)
            if digests is not None:
                digests.discard(token_digest)
                if not digests:
                    del self._by_user[entry.user_id]

    async def listen(self, conninfo: str, retry_seconds: float = 2.0) -> None:
        """Follow the notifications until cancelled (the app's lifespan runs this as a task);
        reconnect after a failure, with the cache off meanwhile."""
        while True:
            try:
                connection = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
                async with connection:
                    await connection.execute(f"LISTEN {CHANNEL}")
                    self.clear()
                    self.listening = True
                    log.info("session cache on (listening for %s)", CHANNEL)
                    async for notification in connection.notifies():
                        self.notified(notification.payload)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning(
                    "session cache off: %s; retrying in %.0f s", error.__class__.__name__, retry_seconds
                )
            finally:
                self.listening = False
                self.clear()
            await asyncio.sleep(retry_seconds)


AUTH_TABLES = frozenset({"users", "user_sessions"})
# Execution option for an UPDATE of users or sessions that shortens nobody's session (the once-a-minute
# `last_seen_at` touch): it must not empty the cache.
AUTH_NEUTRAL = "post16_auth_neutral"
_CHANGED = "post16_auth_changed"  # in session.info: the user ids changed, or ALL_USERS
ALL_USERS = "*"
_watching = False


def watch_orm_sessions() -> None:
    """Forget cached sessions when a transaction that changed users or sessions commits, in the ORM
    session's own process (its `info["sessions"]`): the users whose rows were flushed, or everybody
    after a bulk UPDATE/DELETE whose rows are not known here. Registered once per process, on every
    ORM session, so new code that revokes sessions is covered without remembering to call anything."""
    global _watching  # noqa: PLW0603 - one registration per process
    if _watching:
        return
    _watching = True
    event.listen(Session, "do_orm_execute", _statement_executed)
    event.listen(Session, "after_flush", _flushed)
    event.listen(Session, "after_commit", _committed)
    event.listen(Session, "after_rollback", _rolled_back)


def _statement_executed(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete) or state.execution_options.get(AUTH_NEUTRAL):
        return
    if getattr(getattr(state.statement, "table", None), "name", None) in AUTH_TABLES:
        state.session.info[_CHANGED] = ALL_USERS


def _flushed(session: Session, _context: object) -> None:
    changed = session.info.get(_CHANGED)
    if changed == ALL_USERS:
        return
    users: set[int] = set(changed or ())
    for item in (*session.dirty, *session.deleted):
        table = getattr(item, "__tablename__", None)
        if table == "users":
            users.add(item.id)
        elif table == "user_sessions":
            users.add(item.user_id)
    if users:
        session.info[_CHANGED] = users


def _committed(session: Session) -> None:
    changed = session.info.pop(_CHANGED, None)
    cache = session.info.get("sessions")
    if changed is None or not isinstance(cache, SessionCache):
        return
    if changed == ALL_USERS:
        cache.clear()
    else:
        for user_id in changed:
            cache.forget_user(user_id)


def _rolled_back(session: Session) -> None:
    session.info.pop(_CHANGED, None)


async def stop(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


__all__ = ["AUTH_NEUTRAL", "CHANNEL", "CachedSession", "SessionCache", "stop", "watch_orm_sessions"]
