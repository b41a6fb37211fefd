"""Specification points: which parts of the exam boards' content a lesson covers.

A manifest entry may name them (``"spec": ["AQA 4.2.3.1", "OCR 1.4.2 b"]``) so that a teacher can see
where the unit meets the specification they teach (docs/curriculum.md is generated from them). A point
is a board prefix and that board's own numbering, written as the specification writes it:

- ``AQA 4.2.3.1`` — AQA 7517 (A-level), section 4, up to four levels deep (``AQA 4.2``, ``AQA 4.2.3``);
- ``OCR 2.3.1 f`` — OCR H446, component 01 (``1.x``) or 02 (``2.x``), up to three levels and the
  lettered sub-point (``OCR 2.3``, ``OCR 2.3.1``, ``OCR 2.3.1 f``).

The check is about form, not about whether the number exists in a given edition of a specification:
a typo such as ``AQA 4..2`` or ``OCR 2.3.1f`` is caught, a plausible but wrong number is the author's.
"""

from __future__ import annotations

import re

__all__ = ["BOARDS", "spec_point_key", "spec_points_problems"]

BOARDS: dict[str, str] = {
    "AQA": "AQA 7517 A-level Computer Science",
    "OCR": "OCR H446 A-level Computer Science",
}
_POINT_FORMS: dict[str, tuple[re.Pattern[str], str]] = {
    "AQA": (re.compile(r"4\.[1-9]\d?(\.[1-9]\d?){0,2}"), "AQA 4.2.3.1"),
    "OCR": (re.compile(r"[12]\.[1-9]\d?(\.[1-9]\d?( [a-z])?)?"), "OCR 2.3.1 f"),
}


def spec_points_problems(value: object) -> list[str]:
    """What is wrong with a manifest entry's ``spec`` value; empty when it is a good list of points."""
    if not isinstance(value, list) or not value:
        return ['`spec` must be a non-empty list of specification points such as "AQA 4.2.3.1"']
    problems: list[str] = []
    seen: set[str] = set()
    for point in value:
        if not isinstance(point, str):
            problems.append(f"specification point {point!r} must be a string")
            continue
        problem = _point_problem(point)
        if problem is not None:
            problems.append(problem)
        elif point in seen:
            problems.append(f"specification point `{point}` is listed twice")
        seen.add(point)
    return problems


def spec_point_key(point: str) -> tuple[str, tuple[int, ...], str]:
    """Sorts points by board, then numerically (``4.1.1.9`` before ``4.1.1.10``), then sub-point letter."""
    board, _, rest = point.partition(" ")
    number, _, letter = rest.partition(" ")
    return board, tuple(int(part) for part in number.split(".")), letter


def _point_problem(point: str) -> str | None:
    board, _, number = point.partition(" ")
    if board not in _POINT_FORMS:
        known = " or ".join(f"`{name}` ({title})" for name, title in BOARDS.items())
        return f"specification point `{point}` must start with a known board: {known}"
    pattern, example = _POINT_FORMS[board]
    if pattern.fullmatch(number) is None:
        return f"specification point `{point}` is not a well-formed {board} point (like `{example}`)"
    return None
