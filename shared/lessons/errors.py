"""Problems found in lesson files.

LessonFormatError (ValueError)   raised by the loader; ``.problems`` lists every LessonProblem found
"""

from __future__ import annotations

import msgspec

__all__ = ["LessonFormatError", "LessonProblem"]


class LessonProblem(msgspec.Struct, frozen=True, order=True):
    """One mistake in a lesson file: where it is (1-based line) and what is wrong."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class LessonFormatError(ValueError):
    """The lessons could not be loaded; ``problems`` holds all of them, not just the first."""

    def __init__(self, problems: list[LessonProblem]) -> None:
        self.problems = sorted(problems)
        count = len(self.problems)
        first = str(self.problems[0]) if self.problems else "no details"
        more = f" (and {count - 1} more)" if count > 1 else ""
        super().__init__(f"{first}{more}")
