"""Everything the desktop core raises, so the UI can turn each one into a plain message.

DesktopError
├── StoreError                  the local database could not do what was asked
│   ├── StoreFullError          the disk is full: nothing was written
│   └── CorruptStoreError       the file is damaged (opening it moves it aside instead of raising)
└── SyncError                   talking to the server failed
    ├── OfflineError            no connection, timeout, server gone mid-request     (transient)
    ├── ServerError             5xx                                                 (transient)
    ├── BadResponseError        the answer was not what the contract says (garbage JSON)  (transient)
    ├── RateLimitedError        429; `retry_after` seconds                          (transient)
    ├── SessionExpiredError     401: keep the queue, ask the user to log in again
    ├── ProtocolOutdatedError   426: this app is too old for the server, update it
    └── RequestRefusedError     any other 4xx: refused for good (`code`, `detail`, `field`)
"""

from __future__ import annotations

__all__ = [
    "BadResponseError",
    "CorruptStoreError",
    "DesktopError",
    "OfflineError",
    "ProtocolOutdatedError",
    "RateLimitedError",
    "RequestRefusedError",
    "ServerError",
    "SessionExpiredError",
    "StoreError",
    "StoreFullError",
    "SyncError",
]


class DesktopError(Exception):
    """Base class; `str(error)` is a sentence a pupil or teacher can read."""


class StoreError(DesktopError):
    pass


class StoreFullError(StoreError):
    pass


class CorruptStoreError(StoreError):
    pass


class SyncError(DesktopError):
    #: True when trying again later may succeed (network, 5xx, 429, garbage answers).
    transient = False


class OfflineError(SyncError):
    transient = True


class ServerError(SyncError):
    transient = True

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class BadResponseError(SyncError):
    transient = True


class RateLimitedError(SyncError):
    transient = True

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SessionExpiredError(SyncError):
    pass


class ProtocolOutdatedError(SyncError):
    pass


class RequestRefusedError(SyncError):
    def __init__(self, message: str, *, status: int, code: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.field = field
