"""The per-user local database (`Store`) and the typed records it hands out.

`Store` (`_collection.py`) owns the connection and the transaction helper and hands the work to its
parts: `store.lessons`, `store.outbox`, `store.pull`, `store.marks`, `store.cache` (docs/desktop.md,
"The local store")."""

from desktop.core.store._collection import Store
from desktop.core.store._records import (
    AckSummary,
    Answer,
    ArchivedAnswer,
    ClassWork,
    LocalMark,
    PendingOperation,
    PullApplied,
    QueuedAssignment,
    Receipt,
    RejectedOperation,
    StoredRevision,
    TeacherRevision,
)
from desktop.core.store._recovery import make_private, private_dir
from desktop.core.store._schema import MIGRATIONS, SCHEMA_VERSION
from desktop.core.store.cache import CacheManager
from desktop.core.store.lessons import LessonManager
from desktop.core.store.marks import MarkManager
from desktop.core.store.outbox import OutboxManager
from desktop.core.store.pull import PullManager

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "AckSummary",
    "Answer",
    "ArchivedAnswer",
    "CacheManager",
    "ClassWork",
    "LessonManager",
    "LocalMark",
    "MarkManager",
    "OutboxManager",
    "PendingOperation",
    "PullApplied",
    "PullManager",
    "QueuedAssignment",
    "Receipt",
    "RejectedOperation",
    "Store",
    "StoredRevision",
    "TeacherRevision",
    "make_private",
    "private_dir",
]
