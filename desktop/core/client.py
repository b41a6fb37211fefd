"""The HTTP client for the server API: one method per endpoint, wire types in and out.

Every request carries the protocol header; every failure becomes one of `desktop.core.errors`, so callers
branch on the type (offline, session expired, app outdated, refused for good) and show `str(error)`.
Pass `transport=httpx.MockTransport(...)` in tests.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

import msgspec

from desktop import __version__
from desktop.core.errors import (
    BadResponseError,
    OfflineError,
    ProtocolOutdatedError,
    RateLimitedError,
    RequestRefusedError,
    ServerError,
    SessionExpiredError,
)
from shared.errors import ErrorCode
from shared.lessons.model import Lesson, ManifestSummary
from shared.protocol import PROTOCOL_HEADER, PROTOCOL_VERSION
from shared.wire.activity import ActivityState, ActivityStateSave, RevisionList, RevisionRestore
from shared.wire.assignments import Assignment, AssignmentProgress, PupilAssignment
from shared.wire.auth import LoginRequest, LoginResponse, Me
from shared.wire.common import ErrorBody
from shared.wire.marks import Mark, MarkSet
from shared.wire.run import CheckResult, RunRequest, RunResult
from shared.wire.settings import SchoolSettings
from shared.wire.sync import Operation, PullResponse, PushRequest, PushResponse
from shared.wire.teaching import ClassProgress, TeacherClass

if TYPE_CHECKING:  # httpx and its client (an SSL context, the CA bundle) cost ~0.4 s at start-up: both
    import httpx  # are made at the first request, usually on the sync thread (docs/performance.md)

__all__ = ["ApiClient"]

T = TypeVar("T")

# The server's device-token header (server.domain.auth.throttle; docs/security.md).
DEVICE_HEADER = "X-Post16-Device"
USER_AGENT = f"post16-desktop/{__version__} (protocol {PROTOCOL_VERSION})"


class ApiClient:
    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 15.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._transport = transport
        self._timeout = timeout
        self._client: httpx.Client | None = None
        self._client_lock = threading.Lock()
        self._closed = False

    @property
    def _http(self) -> httpx.Client:
        """The HTTP client, made at the first request (whichever thread makes it)."""
        with self._client_lock:
            if self._client is None:
                import httpx

                self._client = httpx.Client(
                    base_url=self.base_url,
                    transport=self._transport,
                    timeout=httpx.Timeout(self._timeout, connect=min(self._timeout, 5.0)),
                    headers={PROTOCOL_HEADER: str(PROTOCOL_VERSION), "User-Agent": USER_AGENT},
                    follow_redirects=False,
                )
                if self._closed:
                    self._client.close()  # requests after close fail as they always did
            return self._client

    def close(self) -> None:
        with self._client_lock:
            self._closed = True
            if self._client is not None:
                self._client.close()

    # -- plumbing -------------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, Any] | None = None,
        auth: bool = True,
        timeout: float | None = None,
        extra_headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        headers: dict[str, str] = dict(extra_headers or {})
        if auth and self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        content: bytes | None = None
        if body is not None:
            content = msgspec.json.encode(body)
            headers["Content-Type"] = "application/json"
        kwargs: dict[str, Any] = {}
        if timeout is not None:
            kwargs["timeout"] = timeout
        import httpx  # loaded by `_http` at the first request; a dictionary look-up afterwards

        try:
            response = self._http.request(
                method, path, content=content, params=params, headers=headers, **kwargs
            )
        except httpx.TimeoutException as error:
            raise OfflineError("The server did not answer in time.") from error
        except httpx.TransportError as error:
            raise OfflineError(f"Cannot reach the server at {self.base_url}.") from error
        if response.status_code >= 400:
            raise _error_for(response)
        return response

    @staticmethod
    def _decode(response: httpx.Response, kind: type[T]) -> T:
        try:
            return msgspec.json.decode(response.content, type=kind)
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            raise BadResponseError(f"The server sent an answer this app cannot read ({error}).") from error

    # -- auth -----------------------------------------------------------------------------------

    def login(self, username: str, password: str, device_token: str | None = None) -> LoginResponse:
        """Log in; `device_token` (from an earlier login as this user on this computer) tells the server
        this is the user's own device, which other people's failed guesses never lock out."""
        response = self._request(
            "POST",
            "/api/auth/login",
            body=LoginRequest(username=username, password=password, client="desktop"),
            auth=False,
            extra_headers={DEVICE_HEADER: device_token} if device_token else None,
        )
        login = self._decode(response, LoginResponse)
        if not login.token:
            raise BadResponseError("The server did not send a session token for the desktop app.")
        self.token = login.token
        return login

    def logout(self) -> None:
        self._request("POST", "/api/auth/logout")
        self.token = None

    def me(self) -> Me:
        return self._decode(self._request("GET", "/api/auth/me"), Me)

    # -- the school's settings ------------------------------------------------------------------

    def school_settings(self) -> SchoolSettings:
        return self._decode(self._request("GET", "/api/settings"), SchoolSettings)

    # -- lessons --------------------------------------------------------------------------------

    def lessons(self) -> ManifestSummary:
        response = self._request("GET", "/api/lessons")
        try:
            raw = msgspec.json.decode(response.content)
        except msgspec.DecodeError as error:
            raise BadResponseError(f"The lesson list could not be read ({error}).") from error
        if isinstance(raw, dict):
            raw.setdefault("title", "Lessons")
            for lesson in raw.get("lessons", []) if isinstance(raw.get("lessons"), list) else []:
                if isinstance(lesson, dict):
                    lesson.setdefault("order", 0)
                    lesson.setdefault("estimated_minutes", 0)
        try:
            return msgspec.convert(raw, ManifestSummary)
        except msgspec.ValidationError as error:
            raise BadResponseError(f"The lesson list could not be read ({error}).") from error

    def lesson(self, lesson_id: str) -> Lesson:
        return self._decode(self._request("GET", f"/api/lessons/{lesson_id}"), Lesson)

    # -- activity state -------------------------------------------------------------------------

    def activity_state(self, lesson_id: str, activity_id: str) -> ActivityState | None:
        try:
            response = self._request("GET", f"/api/activity/state/{lesson_id}/{activity_id}")
        except RequestRefusedError as error:
            if error.status == 404:
                return None
            raise
        if response.status_code == 204 or not response.content or response.content == b"null":
            return None
        return self._decode(response, ActivityState)

    def save_activity_state(self, lesson_id: str, activity_id: str, body: ActivityStateSave) -> ActivityState:
        response = self._request("POST", f"/api/activity/state/{lesson_id}/{activity_id}", body=body)
        return self._decode(response, ActivityState)

    def revisions(self, lesson_id: str, activity_id: str, pupil_id: int | None = None) -> RevisionList:
        params = {"pupil_id": pupil_id} if pupil_id is not None else None
        response = self._request("GET", f"/api/activity/revisions/{lesson_id}/{activity_id}", params=params)
        return self._decode(response, RevisionList)

    def restore(self, lesson_id: str, activity_id: str, revision: int, op_id: UUID) -> ActivityState:
        response = self._request(
            "POST",
            f"/api/activity/restore/{lesson_id}/{activity_id}",
            body=RevisionRestore(revision=revision, op_id=op_id),
        )
        return self._decode(response, ActivityState)

    # -- sync -----------------------------------------------------------------------------------

    def push(self, device_id: str, operations: Sequence[Operation]) -> PushResponse:
        request = PushRequest(protocol=PROTOCOL_VERSION, device_id=device_id, operations=list(operations))
        return self._decode(self._request("POST", "/api/sync/push", body=request), PushResponse)

    def pull(self, cursor: str | None, limit: int = 500) -> PullResponse:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        return self._decode(self._request("GET", "/api/sync/pull", params=params), PullResponse)

    # -- marks and teaching ---------------------------------------------------------------------

    def marks(self) -> list[Mark]:
        return self._decode(self._request("GET", "/api/marks"), list[Mark])

    def set_mark(self, pupil_id: int, lesson_id: str, activity_id: str, body: MarkSet) -> Mark:
        response = self._request("POST", f"/api/marks/{pupil_id}/{lesson_id}/{activity_id}", body=body)
        return self._decode(response, Mark)

    def teacher_classes(self) -> list[TeacherClass]:
        return self._decode(self._request("GET", "/api/teacher/classes"), list[TeacherClass])

    def class_progress(self, class_id: int) -> ClassProgress:
        return self._decode(self._request("GET", f"/api/teacher/classes/{class_id}/progress"), ClassProgress)

    # -- assignments and the markbook ----------------------------------------------------------

    def assignments(self) -> list[PupilAssignment]:
        """A pupil's work set, with the server's receipts."""
        return self._decode(self._request("GET", "/api/assignments"), list[PupilAssignment])

    def class_assignments(self, class_id: int) -> list[Assignment]:
        return self._decode(
            self._request("GET", f"/api/teacher/classes/{class_id}/assignments"), list[Assignment]
        )

    def assignment_progress(self, assignment_id: UUID) -> AssignmentProgress:
        response = self._request("GET", f"/api/teacher/assignments/{assignment_id}")
        return self._decode(response, AssignmentProgress)

    def class_marks_csv(self, class_id: int) -> tuple[str, bytes]:
        """The class's marks for the markbook: (the server's file name, the CSV's bytes)."""
        return _attachment(self._request("GET", f"/api/teacher/classes/{class_id}/marks.csv"))

    def assignment_marks_csv(self, assignment_id: UUID) -> tuple[str, bytes]:
        return _attachment(self._request("GET", f"/api/teacher/assignments/{assignment_id}/marks.csv"))

    # -- Python (online only) -------------------------------------------------------------------

    def run_python(self, code: str, stdin: str = "") -> RunResult:
        response = self._request(
            "POST", "/api/python/run", body=RunRequest(code=code, stdin=stdin), timeout=60
        )
        return self._decode(response, RunResult)

    def check(self, lesson_id: str, activity_id: str, code: str) -> CheckResult:
        response = self._request(
            "POST", f"/api/python/check/{lesson_id}/{activity_id}", body={"code": code}, timeout=120
        )
        return self._decode(response, CheckResult)


def _attachment(response: httpx.Response) -> tuple[str, bytes]:
    """A download's file name (from Content-Disposition, reduced to a plain name) and its bytes."""
    disposition = response.headers.get("Content-Disposition", "")
    name = disposition.partition("filename=")[2].strip().strip('"')
    plain = "".join(c for c in name if c.isalnum() or c in "-_.") or "marks.csv"
    return plain.lstrip("."), response.content


def _retry_after(response: httpx.Response, body: ErrorBody | None) -> float:
    header = response.headers.get("Retry-After")
    if header:
        try:
            value = float(header)
            if math.isfinite(value) and value >= 0:
                return value
        except ValueError:
            pass
    if body is not None and body.retry_after is not None:
        return float(body.retry_after)
    return 30.0


def _error_for(response: httpx.Response) -> Exception:
    body: ErrorBody | None
    try:
        body = msgspec.json.decode(response.content, type=ErrorBody)
    except (msgspec.DecodeError, msgspec.ValidationError):
        body = None
    status = response.status_code
    detail = body.detail if body else (response.reason_phrase or f"HTTP {status}")
    code = body.code if body else ""
    if status == 426 or code == ErrorCode.PROTOCOL_OUTDATED:
        return ProtocolOutdatedError(
            f"This version of Post16 Lessons ({__version__}) is too old for the school's server. "
            "Please update the app; your unsent answers are kept."
        )
    if status == 401:
        return SessionExpiredError(
            detail if code != ErrorCode.UNAUTHENTICATED else "Your session has ended. Please log in again."
        )
    if status == 429:
        seconds = _retry_after(response, body)
        return RateLimitedError(f"The server is busy; trying again in {math.ceil(seconds)} s.", seconds)
    if status >= 500:
        return ServerError(f"The server had a problem ({status}). Trying again later.", status)
    return RequestRefusedError(
        detail, status=status, code=code or "bad_request", field=body.field if body else None
    )
