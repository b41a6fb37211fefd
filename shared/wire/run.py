"""Running Python in the sandbox: what a client sends (`RunRequest`) and what comes back (`RunResult`,
or `CheckResult` when a code activity's tests mark the program).

Sizes are capped here, so a bad upload is refused with the field named before anything reaches Docker.
The caps hold both when a body is decoded (msgspec raises `ValidationError` with the path, e.g.
`$.files[1].name`) and when a Struct is built in Python (`ValueError` naming the field).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

import msgspec

MAX_CODE_CHARS = 64 * 1024
MAX_STDIN_CHARS = 64 * 1024
MAX_FILES = 8
MAX_FILE_CHARS = 64 * 1024
MAX_FILES_TOTAL_CHARS = 256 * 1024
MAX_FILE_NAME_CHARS = 64
# The program itself is written to this name in the work folder, so an upload may not take it.
PROGRAM_FILE_NAME = "main.py"
FILE_NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$"
_FILE_NAME_RE = re.compile(FILE_NAME_PATTERN)

RunStatus = Literal["success", "error", "timeout", "memory", "output_limit", "unavailable"]
RUN_STATUSES: tuple[RunStatus, ...] = ("success", "error", "timeout", "memory", "output_limit", "unavailable")


def file_name_problem(name: str) -> str | None:
    """Why `name` is not acceptable as an uploaded file name, or None when it is.

    Only a plain name in the work folder is allowed: no directories, no `..`, no hidden files, no NUL
    or other control characters, so no upload can point outside the work folder or over the program."""
    if not name:
        return "must not be empty"
    if len(name) > MAX_FILE_NAME_CHARS:
        return f"must be at most {MAX_FILE_NAME_CHARS} characters"
    if "\x00" in name:
        return "must not contain a NUL character"
    if "/" in name or "\\" in name:
        return "must be a plain file name without '/' or '\\'"
    if name in {".", ".."} or ".." in name:
        return "must not contain '..'"
    if not _FILE_NAME_RE.fullmatch(name):
        return "may use only letters, digits, '_', '-' and '.', and must not start with '.' or '-'"
    if name == PROGRAM_FILE_NAME:
        return f"must not be {PROGRAM_FILE_NAME!r} (the program itself is saved under that name)"
    return None


class RunFile(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A small text file placed in the program's work folder before it starts."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_FILE_NAME_CHARS)]
    content: Annotated[str, msgspec.Meta(max_length=MAX_FILE_CHARS)] = ""

    def __post_init__(self) -> None:
        problem = file_name_problem(self.name)
        if problem is not None:
            raise ValueError(f"file name {self.name[:80]!r}: `name` {problem}")
        if len(self.content) > MAX_FILE_CHARS:
            raise ValueError(f"`content` of file {self.name!r} is longer than {MAX_FILE_CHARS} characters")


class RunRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Body of `POST /api/python/run`: a program, what it reads on stdin, and optional files."""

    code: Annotated[str, msgspec.Meta(max_length=MAX_CODE_CHARS)]
    stdin: Annotated[str, msgspec.Meta(max_length=MAX_STDIN_CHARS)] = ""
    files: Annotated[list[RunFile], msgspec.Meta(max_length=MAX_FILES)] = []

    def __post_init__(self) -> None:
        if len(self.code) > MAX_CODE_CHARS:
            raise ValueError(f"`code` is longer than {MAX_CODE_CHARS} characters")
        if len(self.stdin) > MAX_STDIN_CHARS:
            raise ValueError(f"`stdin` is longer than {MAX_STDIN_CHARS} characters")
        if len(self.files) > MAX_FILES:
            raise ValueError(f"`files` holds {len(self.files)} files; at most {MAX_FILES} are allowed")
        names = [file.name for file in self.files]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"`files` names {duplicates[0]!r} more than once")
        total = sum(len(file.content) for file in self.files)
        if total > MAX_FILES_TOTAL_CHARS:
            raise ValueError(f"`files` hold {total} characters in all; at most {MAX_FILES_TOTAL_CHARS}")


class RunResult(msgspec.Struct, kw_only=True):
    """What happened to one run.

    `status`: `success` (exit code 0), `error` (non-zero exit or an exception), `timeout` (killed at the
    wall-clock limit), `memory` (out of memory), `output_limit` (printed more than the cap, then stopped),
    `unavailable` (the sandbox could not run it: Docker down or overloaded; `message` says why).
    Output past the cap is cut and the matching `*_truncated` flag is set."""

    status: RunStatus
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    duration_ms: float = 0.0
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    message: str = ""


class TestOutcome(msgspec.Struct, kw_only=True):
    """One auto-marking test: passed or not, and a message a pupil can act on."""

    __test__ = False  # not a pytest test class

    name: str
    passed: bool
    message: str = ""
    stdout: str = ""
    duration_ms: float = 0.0


class CheckResult(msgspec.Struct, kw_only=True):
    """The automatic mark of a code activity: `score` is passed/total scaled to `max_score`.

    `run_status` is the status of the single sandbox run that executed every test; when it is not
    `success` (e.g. `unavailable`), `message` explains and the score is 0."""

    score: float
    max_score: float
    tests: list[TestOutcome]
    run_status: RunStatus
    message: str = ""


__all__ = [
    "FILE_NAME_PATTERN",
    "MAX_CODE_CHARS",
    "MAX_FILES",
    "MAX_FILES_TOTAL_CHARS",
    "MAX_FILE_CHARS",
    "MAX_FILE_NAME_CHARS",
    "MAX_STDIN_CHARS",
    "PROGRAM_FILE_NAME",
    "RUN_STATUSES",
    "CheckResult",
    "RunFile",
    "RunRequest",
    "RunResult",
    "RunStatus",
    "TestOutcome",
    "file_name_problem",
]
