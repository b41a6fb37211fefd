"""Turn a lesson into one Markdown document, e.g. for a preview or a printout.

Markdown to HTML is left to the caller (markdown-it-py on the server and desktop): shared/ stays on the
standard library and msgspec.
"""

from __future__ import annotations

import re

from shared.lessons.model import Activity, ActivityBlock, ChoiceActivity, CodeActivity, CodeTest, Lesson
from shared.lessons.puzzles import GapsActivity, ParsonsActivity, PredictActivity, TraceActivity

__all__ = ["activity_markdown", "fenced", "lesson_markdown"]


def fenced(text: str, info: str = "") -> str:
    """``text`` as a fenced code block whose fence is longer than any backtick run inside it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text.rstrip(chr(10))}\n{fence}"


def _score(value: float) -> str:
    shown = f"{value:g}"
    return f"{shown} mark" if value == 1 else f"{shown} marks"


def activity_markdown(activity: Activity, *, number: int | None = None) -> str:
    """The activity as Markdown; teacher-only parts appear when ``activity`` still has them."""
    label = f"Activity {number}: " if number is not None else ""
    parts = [
        f"### {label}{activity.title}",
        f"*{activity.kind} · {_score(activity.max_score)}*",
        activity.prompt,
    ]
    if isinstance(activity, CodeActivity):
        if activity.starter.strip():
            parts += ["**Starter code**", fenced(activity.starter, "python")]
        if activity.tests:
            parts.append("**Tests**")
            parts += [_test_markdown(test) for test in activity.tests]
        if activity.model_answer is not None:
            parts += ["**Model answer** (teacher only)", fenced(activity.model_answer, "python")]
    elif isinstance(activity, ChoiceActivity):
        correct = set(activity.correct or [])
        marker = "☐" if activity.multiple else "○"
        lines = []
        for index, option in enumerate(activity.options):
            tick = " ✔ *(correct)*" if index in correct else ""
            lines.append(f"- {marker} {option}{tick}")
        hint = "Choose all that apply." if activity.multiple else "Choose one."
        parts += [hint, "\n".join(lines)]
    elif isinstance(activity, ParsonsActivity):
        parts += ["*Put these lines in order, each at its indentation.*", fenced("\n".join(activity.lines))]
        if activity.solution is not None:
            parts += ["**Solution** (teacher only)", fenced(activity.solution, "python")]
            for alternative in activity.alternative_solutions:
                parts += ["**Also accepted** (teacher only)", fenced(alternative, "python")]
    elif isinstance(activity, GapsActivity):
        parts += ["*Fill in the numbered gaps.*", fenced(activity.code, "python")]
        if activity.answers is not None:
            accepted = [
                f"- gap {number}: " + " or ".join(f"`{answer}`" for answer in answers)
                for number, answers in enumerate(activity.answers, 1)
            ]
            parts += ["**Accepted answers** (teacher only)", "\n".join(accepted)]
    elif isinstance(activity, TraceActivity):
        parts += ["*Fill in the trace table for this program.*", fenced(activity.code, "python")]
        if activity.stdin:
            parts += ["*with this input:*", fenced(activity.stdin, "text")]
        header = "| " + " | ".join(activity.columns) + " |\n|" + " --- |" * len(activity.columns)
        rows = activity.rows or [[""] * len(activity.columns) for _ in range(activity.row_count)]
        body = "\n".join("| " + " | ".join(cell or " " for cell in row) + " |" for row in rows)
        label = "**Trace table** (teacher only; from a real run)" if activity.rows else "**Trace table**"
        parts += [label, header + "\n" + body]
    elif isinstance(activity, PredictActivity):
        parts += ["*What does this print?*", fenced(activity.code, "python")]
        if activity.stdin:
            parts += ["*with this input:*", fenced(activity.stdin, "text")]
        if activity.expected_output is not None:
            parts += ["**Output** (teacher only; from a real run)", fenced(activity.expected_output, "text")]
    else:
        parts.append(f"*Answer in at most {activity.max_length} characters.*")
        if activity.mark_scheme is not None:
            parts += ["**Mark scheme** (teacher only)", activity.mark_scheme]
    return "\n\n".join(part.strip("\n") for part in parts if part.strip())


def lesson_markdown(lesson: Lesson) -> str:
    """The whole lesson as Markdown: title, summary, text and numbered activities in file order."""
    parts = [f"# {lesson.title}", f"*{lesson.summary}* — about {lesson.estimated_minutes} minutes"]
    if lesson.objectives:
        parts.append("**You will learn to:**\n\n" + "\n".join(f"- {item}" for item in lesson.objectives))
    number = 0
    for block in lesson.blocks:
        if isinstance(block, ActivityBlock):
            number += 1
            parts.append("---\n\n" + activity_markdown(lesson.activity(block.activity_id), number=number))
        else:
            parts.append(block.markdown)
    return "\n\n".join(parts) + "\n"


def _test_markdown(test: CodeTest) -> str:
    """One test as a list item; a pupil's copy of a hidden test has nothing but its name."""
    details = [
        ("input", test.stdin, "text"),
        ("expected output", test.expected_stdout, "text"),
        ("then checks", test.assert_code, "python"),
    ]
    shown = [(label, text, info) for label, text, info in details if text]
    suffix = " (hidden from pupils)" if test.hidden else ""
    lines = [f"- *{test.name}*{suffix}"]
    lines += [f"  {label}:\n\n" + _indent(fenced(text, info)) for label, text, info in shown]
    return "\n\n".join(lines)


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" if line else "" for line in text.split("\n"))
