"""The internal contract between the API and runner services (`post16-sandbox serve`).

Only the runner holds the Docker socket; the API sends it a run or a check and gets the same
`RunResult` / `CheckResult` a pupil sees. A check carries the activity's tests, expected values included:
they travel API → runner over the internal network and are judged on the runner host; they never enter
a container (docs/sandbox.md, "Why marks cannot be forged").

Every request names a `request_id`: a runner that sees the same id again answers with the first run's
result instead of running it twice. Every endpoint but `/health` needs `Authorization: Bearer <secret>`.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from shared.lessons.model import CodeTest
from shared.wire.run import MAX_CODE_CHARS, RunRequest

RUNNER_SECRET_MIN_CHARS = 32
RUNNER_MAX_TESTS = 50
RUNNER_MAX_BODY_BYTES = 16 * 1024 * 1024
REQUEST_ID_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"
OWNER_MAX_CHARS = 128
_WEAK_SECRETS = frozenset({"changeme", "change-me", "secret", "password", "post16", "runner", "example"})

RequestId = Annotated[str, msgspec.Meta(pattern=REQUEST_ID_PATTERN)]
Owner = Annotated[str, msgspec.Meta(min_length=1, max_length=OWNER_MAX_CHARS)]
RefusalCode = Literal["unauthorized", "busy", "no_engine", "bad_request", "not_found", "internal"]


def runner_secret_problem(secret: str | None) -> str | None:
    """Why `secret` may not protect a runner (None when it may): empty, short or a well-known word.
    One rule for both ends: the runner refuses to start with such a secret, and so does the API."""
    if not secret:
        return "is empty"
    if len(secret) < RUNNER_SECRET_MIN_CHARS:
        return f"is shorter than {RUNNER_SECRET_MIN_CHARS} characters"
    if secret.lower() in _WEAK_SECRETS or len(set(secret)) < 8:
        return "is a default or too simple"
    return None


class RunnerRun(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """`POST /run`: run a pupil's program; `owner` (the pupil) is who the fair share counts against."""

    request_id: RequestId
    owner: Owner
    request: RunRequest


class RunnerCheck(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """`POST /check`: mark `code` against a code activity's tests (hidden ones included)."""

    request_id: RequestId
    owner: Owner
    code: Annotated[str, msgspec.Meta(max_length=MAX_CODE_CHARS)]
    tests: Annotated[list[CodeTest], msgspec.Meta(max_length=RUNNER_MAX_TESTS)]
    max_score: Annotated[float, msgspec.Meta(ge=0, le=10_000)] = 1.0


class RunnerCapacity(msgspec.Struct, kw_only=True):
    """`GET /capacity`: how much this runner can take now. `free_slots` is running slots not in use;
    `queued` runs already wait for one. `usable` is false while no engine is reachable with the image."""

    runner_id: str
    usable: bool
    capacity: int
    running: int
    free_slots: int
    queued: int
    queue_size: int
    pool_size: int
    pool_ready: int
    engines: int
    message: str = ""


class RunnerRefusal(msgspec.Struct, kw_only=True):
    """The body of every 4xx/5xx a runner answers: `busy` (503, nothing ran: try another runner or
    later), `no_engine` (503, nothing ran: this runner has no usable Docker engine now), `bad_request`
    (400, the field is named), `unauthorized` (401)."""

    code: RefusalCode
    message: str
    retry_after_seconds: int | None = None


__all__ = [
    "REQUEST_ID_PATTERN",
    "RUNNER_MAX_BODY_BYTES",
    "RUNNER_MAX_TESTS",
    "RUNNER_SECRET_MIN_CHARS",
    "RefusalCode",
    "RunnerCapacity",
    "RunnerCheck",
    "RunnerRefusal",
    "RunnerRun",
    "runner_secret_problem",
]
