"""The per-user local database, as Anki's collection is: `Store` owns the one SQLite file, a connection
per thread, the one transaction helper, opening (migrations, recovery) and closing, and the meta table;
the work is done by its parts, one module each:

- `store.lessons` (`lessons.py`): the lesson list, cached content, archived answers;
- `store.outbox` (`outbox.py`): answers, checks and marks as queued operations; the server's answers;
- `store.pull` (`pull.py`): applying pulled changes under the cursor; answer versions;
- `store.marks` (`marks.py`): marks and the teacher grid's bulk read;
- `store.cache` (`cache.py`): server views kept for offline use.

Parts never import each other: one that must write another's rows in its own transaction (a teacher's
mark is queued and shown at once) calls that part's `*_in(conn, ...)` method through the store.

One SQLite file per (server, user), so another pupil on the same laptop never sends, sees or overwrites
someone else's queue (docs/architecture.md, invariant 6). WAL with `synchronous=FULL`:
`outbox.save_answer` returns only after the answer and its outbox operation are committed to disk in one
transaction, which is when the UI may say "saved". Rows are read as `sqlite3.Row` and mapped to the typed
records of `_records.py` by column name.

The schema is versioned (`PRAGMA user_version`) and migrated forward step by step on open (`_schema.py`).
A file SQLite cannot read is moved aside (its outbox salvaged when possible, `_recovery.py`) and a fresh
one is created; `recovered_from` then names the moved file so the UI can say so, and the next sync pulls
everything again.

Each thread gets its own connection (the sync engine runs off the UI thread).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from desktop.core.errors import StoreError, StoreFullError
from desktop.core.store._common import iso, parse
from desktop.core.store._recovery import (
    is_corruption,
    is_disk_full,
    make_private,
    move_aside,
    private_dir,
    restore_salvaged,
    salvage_outbox,
)
from desktop.core.store._schema import MIGRATIONS, SCHEMA_VERSION
from desktop.core.store.cache import CacheManager
from desktop.core.store.lessons import LessonManager
from desktop.core.store.marks import MarkManager
from desktop.core.store.outbox import OutboxManager
from desktop.core.store.pull import PullManager

__all__ = ["Store"]


class Store:
    """One user's local data. Open with `Store.open(path)`; every public method is thread-safe."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.recovered_from: Path | None = None
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        self._trace: Callable[[str], None] | None = None
        self.lessons = LessonManager(self)
        self.outbox = OutboxManager(self)
        self.pull = PullManager(self)
        self.marks = MarkManager(self)
        self.cache = CacheManager(self)

    # -- opening, closing, migrations ---------------------------------------------------------------

    @classmethod
    def open(cls, path: Path) -> Store:
        """Open (creating or migrating) the database; a damaged file is moved aside and replaced.
        The folder and the database files are private to this OS user (`make_private`)."""
        private_dir(path.parent)
        make_private(path)
        store = cls(path)
        try:
            store._prepare()
            make_private(path)  # the -wal and -shm files SQLite has just made
        except sqlite3.DatabaseError as error:
            if not is_corruption(error):
                store.close()
                raise StoreError(f"The local database {path} cannot be opened: {error}") from error
            store.close()
            salvaged = salvage_outbox(path)
            moved = move_aside(path)
            make_private(path)
            store = cls(path)
            store._prepare()
            make_private(path)
            if salvaged:
                with store._transaction() as conn:
                    restore_salvaged(conn, salvaged)
            store.recovered_from = moved
        return store

    def _prepare(self) -> None:
        db = self._connection()
        result = db.execute("PRAGMA quick_check").fetchone()
        if result is None or result["quick_check"] != "ok":
            raise sqlite3.DatabaseError(f"database disk image is malformed ({result})")
        version = self.schema_version()
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"The local database {self.path} was written by a newer version of the app "
                f"(schema {version}, this app knows {SCHEMA_VERSION}); please update the app."
            )
        for step in range(version, SCHEMA_VERSION):
            import sqlite_utils  # only to migrate: it costs ~0.3 s at start-up (docs/performance.md)

            with self._transaction() as conn:
                MIGRATIONS[step](sqlite_utils.Database(conn))
                conn.execute(f"PRAGMA user_version = {step + 1}")
        if self.get_meta("device_id") is None:
            self.set_meta("device_id", f"desktop-{uuid.uuid4().hex[:16]}")

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection (made on first use). For the store's parts; rows are `sqlite3.Row`."""
        if self._closed:
            raise StoreError("The local database is closed.")
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout = 10000")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._local.conn = conn
            if self._trace is not None:
                conn.set_trace_callback(self._trace)
            with self._lock:
                self._connections.append(conn)
        return conn

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """The one way the store writes: `BEGIN IMMEDIATE` … `COMMIT` (durable on return, WAL with
        `synchronous=FULL`), rolled back on any error; a full disk becomes `StoreFullError`."""
        conn = self._connection()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:  # SQLite rolls back by itself on some errors (a full disk)
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as error:
            if is_disk_full(error):
                raise StoreFullError(
                    "Not saved: the disk is full. Free some space; your answer is still on screen."
                ) from error
            raise

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for conn in self._connections:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._connections.clear()

    def schema_version(self) -> int:
        return int(self._connection().execute("PRAGMA user_version").fetchone()["user_version"])

    def trace_queries(self, callback: Callable[[str], None] | None) -> None:
        """Call `callback` with every SQL statement any of this store's connections runs (None stops):
        the benchmark and tests count queries with it."""
        self._trace = callback
        with self._lock:
            for conn in self._connections:
                conn.set_trace_callback(callback)

    # -- meta -----------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self._connection().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row["value"])

    def set_meta(self, key: str, value: str | None) -> None:
        with self._transaction() as conn:
            self.set_meta_in(conn, key, value)

    def set_meta_in(self, conn: sqlite3.Connection, key: str, value: str | None) -> None:
        """`set_meta` inside the caller's transaction (the pull cursor moves with the changes it covers)."""
        if value is None:
            conn.execute("DELETE FROM meta WHERE key = ?", (key,))
        else:
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    @property
    def device_id(self) -> str:
        return self.get_meta("device_id") or "desktop-unknown"

    @property
    def user_id(self) -> int | None:
        value = self.get_meta("user_id")
        return None if value is None else int(value)

    def last_sync(self) -> datetime | None:
        return parse(self.get_meta("last_sync"))

    def record_sync(self, moment: datetime) -> None:
        self.set_meta("last_sync", iso(moment))
