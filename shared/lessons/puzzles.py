"""Activity kinds marked from an answer key the pupil never receives: Parsons problems, fill-the-gaps
code, predict-the-output and trace tables (docs/lesson-format.md, "`parsons`", "`gaps`", "`predict`",
"`trace`").

Kept apart from model.py (which only lists them in the ``Activity`` union) so that the format, the
pupil's copy, the validator's checks and the marking rule of each kind read in one place. Like a
multiple-choice answer, an answer to either is marked by the server from its own copy of the lesson;
the pupil's copy keeps only what the pupil needs to answer: the shuffled lines, the code with its gaps.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable, Sequence
from typing import Literal

import msgspec

__all__ = [
    "GAP_PATTERN",
    "INDENT_WIDTH",
    "MAX_GAP_ANSWER",
    "MAX_INDENT",
    "MAX_PREDICTION",
    "GapsActivity",
    "ParsonsActivity",
    "PredictActivity",
    "Puzzle",
    "TraceActivity",
    "check_puzzle",
    "completed_code",
    "gap_numbers",
    "mark_gaps",
    "mark_parsons",
    "mark_predict",
    "mark_trace",
    "normalise_gap",
    "parsons_lines",
    "prepare_puzzle",
    "puzzle_feedback",
    "redact_puzzle",
    "solution_pairs",
    "traced_source",
]

INDENT_WIDTH = 4
"""Spaces per indentation level in a Parsons solution (and when an answer is shown as code)."""
MAX_INDENT = 8
MAX_GAP_ANSWER = 200
GAP_PATTERN = re.compile(r"\{\{(\d+)\}\}")
"""A gap in fill-the-gaps code: ``{{1}}``, ``{{2}}``, … numbered from 1 in reading order."""

Report = Callable[[tuple[str | int, ...], str], None]


class _PuzzleBase(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, tag_field="kind"):
    """The fields every activity has (as model._ActivityBase), for the kinds defined here."""

    id: str
    title: str
    prompt: str
    max_score: float = 1.0
    hints: list[str] = []

    @property
    def kind(self) -> Literal["parsons", "gaps", "predict", "trace"]:
        tag: Literal["parsons", "gaps", "predict", "trace"] = type(self).__struct_config__.tag  # type: ignore[assignment]
        return tag


class ParsonsActivity(_PuzzleBase, tag="parsons"):
    """Put the lines of a program in order, each at its indentation.

    The author writes ``solution`` (the program, indented with 4 spaces a level) and may add
    ``alternative_solutions`` (other right orders, of the same lines) and ``distractors`` (lines that
    belong in no solution). ``lines`` is made by the loader, never written: every line's text without
    its indentation, solution lines and distractors together, in a stable shuffled order. It is all a
    pupil's copy keeps; an answer names lines by their position in it.
    """

    solution: str | None = None
    alternative_solutions: list[str] = []
    distractors: list[str] = []
    partial_marks: bool = True
    lines: list[str] = []


class GapsActivity(_PuzzleBase, tag="gaps"):
    """Code with numbered gaps (``{{1}}``, ``{{2}}``, …) the pupil fills in.

    ``answers[i]`` lists the accepted answers for gap ``i + 1`` (teacher only); the first one is the one
    the validator puts in to check that the completed code is valid Python.
    """

    code: str
    answers: list[list[str]] | None = None


class PredictActivity(_PuzzleBase, tag="predict"):
    """Read a snippet (run with ``stdin``) and type the output it prints.

    ``expected_output`` is never written by the author: it is what the snippet really printed when
    ``post16-lessons record-outputs`` ran it, kept beside the lessons in ``outputs.json`` by the hash of
    the snippet and its input (outputs.py), and filled in when the lesson folder is loaded. Teacher only.
    """

    code: str
    stdin: str = ""
    expected_output: str | None = None


MAX_PREDICTION = 10_000


class TraceActivity(_PuzzleBase, tag="trace"):
    """Fill in a trace table for a short program.

    The author marks one simple statement with a ``# row`` comment and names the ``columns``: variables,
    and ``output`` for what the program printed. Each time the marked line has run, the table gets a
    row: each variable's value as ``str()`` shows it (blank before it has one) and, under ``output``,
    what was printed since the row before (lines joined by a space). ``rows`` (teacher only) and
    ``row_count`` are never written: ``post16-lessons record-outputs`` makes the table by running the
    program (:func:`traced_source`) and loading fills them in, as for predict-the-output.
    """

    code: str
    columns: list[str]
    stdin: str = ""
    row_count: int = 0
    rows: list[list[str]] | None = None


ROW_MARK = "# row"
OUTPUT_COLUMN = "output"
MAX_TRACE_ROWS = 30
_TRACE_PRELUDE = """\
import io as _post16_io, json as _post16_json, sys as _post16_sys
_post16_real_stdout, _post16_printed, _post16_rows = _post16_sys.stdout, _post16_io.StringIO(), []
_post16_sys.stdout = _post16_printed
def _post16_row(scope, columns={columns!r}):
    printed = _post16_printed.getvalue()
    _post16_printed.seek(0)
    _post16_printed.truncate()
    _post16_rows.append([
        " ".join(printed.split()) if name == "output" else (str(scope[name]) if name in scope else "")
        for name in columns
    ])
"""
_TRACE_EPILOGUE = """
_post16_sys.stdout = _post16_real_stdout
print(_post16_json.dumps(_post16_rows))
"""


def _marked_line(code: str) -> int | None:
    marked = [i for i, line in enumerate(code.split("\n")) if line.rstrip().endswith(ROW_MARK)]
    return marked[0] if len(marked) == 1 else None


def traced_source(activity: TraceActivity) -> str:
    """The program with a row recorded after each run of its ``# row`` line; it prints the table as JSON
    on its last line. Only for the author's program (trusted lesson content)."""
    lines = activity.code.split("\n")
    index = _marked_line(activity.code)
    if index is None:
        raise ValueError(f"activity `{activity.id}` needs exactly one line marked `{ROW_MARK}`")
    indent = lines[index][: len(lines[index]) - len(lines[index].lstrip())]
    lines.insert(index + 1, f"{indent}_post16_row({{**globals(), **locals()}})")
    return _TRACE_PRELUDE.format(columns=activity.columns) + "\n".join(lines) + _TRACE_EPILOGUE


def mark_trace(activity: TraceActivity, cells: Sequence[Sequence[str]]) -> float:
    """``max_score`` shared equally between the table's cells; a cell earns its share when its text equals
    the real run's after :func:`normalise_gap` (spaces around and inside collapsed).
    Raises ValueError for a pupil's copy or a table of the wrong shape."""
    if activity.rows is None:
        raise ValueError(f"activity `{activity.id}` has no recorded table: mark it with the teacher's copy")
    if len(cells) != len(activity.rows) or any(len(row) != len(activity.columns) for row in cells):
        raise ValueError(f"activity `{activity.id}` has {len(activity.rows)} rows of {len(activity.columns)}")
    total = len(activity.rows) * len(activity.columns)
    right = sum(
        1
        for row, expected in zip(cells, activity.rows, strict=True)
        for cell, value in zip(row, expected, strict=True)
        if normalise_gap(cell) == normalise_gap(value)
    )
    return round(activity.max_score * right / total, 2)


def _check_trace(activity: TraceActivity, report: Report) -> None:
    if activity.rows is not None or activity.row_count:
        report(("rows",), "the table comes from running the program: do not write `rows` or `row_count`")
    if not activity.columns:
        report(("columns",), "a trace table needs at least one column")
    for name in activity.columns:
        if name != OUTPUT_COLUMN and not name.isidentifier():
            report(("columns",), f"column `{name}` must be a variable name or `{OUTPUT_COLUMN}`")
    if len(set(activity.columns)) != len(activity.columns):
        report(("columns",), "two columns have the same name")
    index = _marked_line(activity.code)
    if index is None:
        report(
            ("code",), f"mark exactly one line of `code` with `{ROW_MARK}` (a row is recorded after it runs)"
        )
        return
    statement = activity.code.split("\n")[index].rstrip()[: -len(ROW_MARK)].rstrip()
    if not statement.strip() or statement.endswith(":"):
        report(("code",), f"the `{ROW_MARK}` line must be a simple statement, not a line that opens a block")
        return
    try:
        compile(activity.code, "code", "exec", dont_inherit=True)
        compile(traced_source(activity), "code", "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as error:
        report(("code",), f"`code` is not valid Python: {getattr(error, 'msg', error)}")


def mark_predict(activity: PredictActivity, prediction: str) -> float:
    """``max_score`` when the prediction equals the snippet's real output, both compared as code output
    is (trailing spaces on each line and trailing blank lines ignored), otherwise 0.
    Raises ValueError for a pupil's copy or a snippet whose output was never recorded."""
    if activity.expected_output is None:
        raise ValueError(f"activity `{activity.id}` has no recorded output: mark it with the teacher's copy")
    return (
        activity.max_score
        if _normalise_output(prediction) == _normalise_output(activity.expected_output)
        else 0.0
    )


def _normalise_output(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def _check_predict(activity: PredictActivity, report: Report) -> None:
    if activity.expected_output is not None:
        report(("expected_output",), "`expected_output` comes from running the snippet: do not write it")
    if not activity.code.strip():
        report(("code",), "`code` must not be empty")
        return
    try:
        compile(activity.code, "code", "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as error:
        report(("code",), f"`code` is not valid Python: {getattr(error, 'msg', error)}")


# --- Parsons ---------------------------------------------------------------------------------------


def _split_program(program: str) -> list[tuple[str, int]]:
    """(text, indentation level) of each non-blank line; spaces that are not a whole level count down."""
    pairs = []
    for line in program.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            continue
        spaces = len(line) - len(line.lstrip(" "))
        pairs.append((line.strip(), spaces // INDENT_WIDTH))
    return pairs


def solution_pairs(activity: ParsonsActivity) -> list[list[tuple[str, int]]]:
    """Every accepted solution as (line text, indentation level) pairs; empty on a pupil's copy."""
    if activity.solution is None:
        return []
    return [_split_program(program) for program in [activity.solution, *activity.alternative_solutions]]


def parsons_lines(activity: ParsonsActivity) -> list[str]:
    """The blocks a pupil arranges: the solution's lines and the distractors, shuffled in an order that
    depends only on the activity (so every laptop and the server agree) and is never the solution's."""
    texts = [text for text, _ in _split_program(activity.solution or "")]
    texts += [line.strip() for line in activity.distractors if line.strip()]
    seed = hashlib.sha256("\n".join([activity.id, *texts]).encode()).digest()
    shuffled = list(texts)
    random.Random(seed).shuffle(shuffled)  # noqa: S311 - a presentation order, not a secret
    if shuffled == texts and len(set(texts)) > 1:
        shuffled = shuffled[1:] + shuffled[:1]
    return shuffled


def _common_subsequence(first: Sequence[object], second: Sequence[object]) -> int:
    previous = [0] * (len(second) + 1)
    for item in first:
        current = [0]
        for index, other in enumerate(second):
            current.append(previous[index] + 1 if item == other else max(previous[index + 1], current[index]))
        previous = current
    return previous[-1]


def mark_parsons(activity: ParsonsActivity, order: Sequence[int], indents: Sequence[int]) -> float:
    """Score for an arrangement: ``order`` names lines by their index in ``activity.lines``, ``indents``
    gives each placed line's indentation level.

    Full marks when the arranged program (text and indentation of every line) equals one accepted
    solution. Otherwise, with ``partial_marks``, ``max_score × L / max(placed lines, solution lines)``
    for the accepted solution that gives most, where L is the longest run of lines, not necessarily
    next to each other, that appear in the same order and at the same indentation in both (the longest
    common subsequence); a distractor placed or a line left out lowers it. Without, 0.
    Raises ValueError for a pupil's copy or an index out of range.
    """
    solutions = solution_pairs(activity)
    if not solutions:
        raise ValueError(f"activity `{activity.id}` has no solution: mark it with the teacher's copy")
    if len(order) != len(indents):
        raise ValueError("`order` and `indents` must have the same length")
    if len(set(order)) != len(order):
        raise ValueError("a line is placed twice")
    for index in order:
        if not 0 <= index < len(activity.lines):
            raise ValueError(f"line {index} does not exist in activity `{activity.id}`")
    answer = [(activity.lines[index], level) for index, level in zip(order, indents, strict=True)]
    if any(answer == solution for solution in solutions):
        return activity.max_score
    if not activity.partial_marks:
        return 0.0
    best = max(
        _common_subsequence(answer, solution) / max(len(answer), len(solution)) for solution in solutions
    )
    return round(activity.max_score * best, 2)


def _check_parsons(activity: ParsonsActivity, report: Report) -> None:
    if activity.lines:
        report(("lines",), "`lines` is made from `solution` and `distractors`: do not write it")
    if activity.solution is None:
        return
    texts = [text for text, _ in _split_program(activity.solution)]
    if len(texts) < 2:
        report(("solution",), "a Parsons problem needs a `solution` of at least 2 lines")
    _check_program(activity.solution, ("solution",), "solution", report)
    for index, program in enumerate(activity.alternative_solutions):
        path: tuple[str | int, ...] = ("alternative_solutions", index)
        _check_program(program, path, f"alternative_solutions[{index}]", report)
        if sorted(text for text, _ in _split_program(program)) != sorted(texts):
            report(path, f"alternative_solutions[{index}] must use exactly the lines of `solution`")
    for index, line in enumerate(activity.distractors):
        if not line.strip() or "\n" in line.strip():
            report(("distractors", index), f"distractor {index} must be one non-empty line")
        elif line.strip() in texts:
            report(("distractors", index), f"distractor {index} is also a line of the solution")


def _check_program(program: str, path: tuple[str | int, ...], what: str, report: Report) -> None:
    for number, line in enumerate(program.split("\n"), 1):
        spaces = len(line) - len(line.lstrip(" "))
        if line.strip() and (line.startswith("\t") or spaces % INDENT_WIDTH):
            report(path, f"{what}, line {number}: indent with {INDENT_WIDTH} spaces a level")
        elif spaces // INDENT_WIDTH > MAX_INDENT:
            report(path, f"{what}, line {number}: more than {MAX_INDENT} levels of indentation")
    try:
        compile(program, what, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as error:
        report(path, f"{what} is not valid Python: {getattr(error, 'msg', error)}")


# --- fill the gaps ---------------------------------------------------------------------------------


def gap_numbers(code: str) -> list[int]:
    """The gap numbers in ``code``, in reading order."""
    return [int(number) for number in GAP_PATTERN.findall(code)]


def completed_code(activity: GapsActivity, filled: Sequence[str]) -> str:
    """The code with gap ``n`` replaced by ``filled[n - 1]`` (a gap with no text stays empty)."""

    def fill(match: re.Match[str]) -> str:
        index = int(match.group(1)) - 1
        return filled[index] if 0 <= index < len(filled) else ""

    return GAP_PATTERN.sub(fill, activity.code)


def normalise_gap(text: str) -> str:
    """A gap's text as compared: surrounding whitespace dropped, inner runs of whitespace as one space."""
    return " ".join(text.split())


def mark_gaps(activity: GapsActivity, filled: Sequence[str]) -> float:
    """Score for filled gaps: ``max_score`` shared equally between the gaps; a gap earns its share when
    its text equals one of its accepted answers after :func:`normalise_gap`.
    Raises ValueError for a pupil's copy or the wrong number of gaps."""
    if activity.answers is None:
        raise ValueError(f"activity `{activity.id}` has no answers: mark it with the teacher's copy")
    if len(filled) != len(activity.answers):
        raise ValueError(f"activity `{activity.id}` has {len(activity.answers)} gaps, not {len(filled)}")
    right = sum(
        1
        for text, accepted in zip(filled, activity.answers, strict=True)
        if normalise_gap(text) in {normalise_gap(answer) for answer in accepted}
    )
    return round(activity.max_score * right / len(activity.answers), 2)


def _check_gaps(activity: GapsActivity, report: Report) -> None:
    numbers = gap_numbers(activity.code)
    if not numbers:
        report(("code",), "fill-the-gaps `code` needs at least one gap, written {{1}}")
        return
    if numbers != list(range(1, len(numbers) + 1)):
        report(("code",), "gaps must be numbered {{1}}, {{2}}, … once each, in reading order")
        return
    if activity.answers is None:
        return
    if len(activity.answers) != len(numbers):
        report(("answers",), f"`answers` has {len(activity.answers)} lists for {len(numbers)} gaps")
        return
    for index, accepted in enumerate(activity.answers):
        if not accepted or not all(normalise_gap(answer) for answer in accepted):
            report(("answers",), f"gap {index + 1} needs at least one non-empty accepted answer")
            return
        if any(len(answer) > MAX_GAP_ANSWER for answer in accepted):
            report(("answers",), f"gap {index + 1}: an answer longer than {MAX_GAP_ANSWER} characters")
    completed = completed_code(activity, [accepted[0] for accepted in activity.answers])
    try:
        compile(completed, "answers", "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as error:
        report(("code",), f"the code with the first accepted answers is not valid Python: {error}")


# --- both ------------------------------------------------------------------------------------------


Puzzle = ParsonsActivity | GapsActivity | PredictActivity | TraceActivity


def check_puzzle(activity: Puzzle, report: Report) -> None:
    """The validator's checks of one activity of these kinds (the loader's common checks come first)."""
    if isinstance(activity, ParsonsActivity):
        _check_parsons(activity, report)
    elif isinstance(activity, GapsActivity):
        _check_gaps(activity, report)
    elif isinstance(activity, PredictActivity):
        _check_predict(activity, report)
    else:
        _check_trace(activity, report)


def prepare_puzzle(activity: Puzzle) -> Puzzle:
    """What the loader stores: a Parsons problem gets its shuffled ``lines``."""
    if isinstance(activity, ParsonsActivity):
        return msgspec.structs.replace(activity, lines=parsons_lines(activity))
    return activity


def redact_puzzle(activity: Puzzle) -> Puzzle:
    """The pupil's copy: the shuffled lines, the code with its gaps, the snippet; nothing of the answers."""
    if isinstance(activity, ParsonsActivity):
        return msgspec.structs.replace(activity, solution=None, alternative_solutions=[], distractors=[])
    if isinstance(activity, GapsActivity):
        return msgspec.structs.replace(activity, answers=None)
    if isinstance(activity, TraceActivity):
        return msgspec.structs.replace(activity, rows=None)
    return msgspec.structs.replace(activity, expected_output=None)


def puzzle_feedback(activity: Puzzle, score: float) -> str:
    """Plain words that say how the answer did, never what the right answer is."""
    source = {
        "parsons": "the solution",
        "gaps": "the accepted answers",
        "predict": "the snippet's real output",
        "trace": "a real run of the program",
    }[activity.kind]
    if score >= activity.max_score:
        return f"Right. Marked automatically against {source}."
    if score > 0:
        return f"Partly right. Marked automatically against {source}."
    return f"Not right this time. Marked automatically against {source}."
