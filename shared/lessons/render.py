"""Turn a lesson into one Markdown document, e.g. for a preview or a printout.

Markdown to HTML is left to the caller (markdown-it-py on the server and desktop): shared/ stays on the
standard library and msgspec.
"""

from __future__ import annotations

import re

from shared.lessons.model import Activity, ActivityBlock, ChoiceActivity, CodeActivity, CodeTest, Lesson

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
            for test in activity.tests:
                parts.append(_test_markdown(test))
        if activity.model_answer is not None:
            parts += ["**Model answer** (teacher only)", fenced(activity.model_answer, "python")]
            checks = [t for t in activity.tests if t.assert_code]
            if checks:
                code = "\n\n".join(f"# {t.name}\n{t.assert_code}" for t in checks)
                parts += ["**Test checks** (teacher only)", fenced(code, "python")]
    elif isinstance(activity, ChoiceActivity):
        correct = set(activity.correct or [])
        marker = "☐" if activity.multiple else "○"
        lines = []
        for index, option in enumerate(activity.options):
            tick = " ✔ *(correct)*" if index in correct else ""
            lines.append(f"- {marker} {option}{tick}")
        hint = "Choose all that apply." if activity.multiple else "Choose one."
        parts += [hint, "\n".join(lines)]
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
            parts.append(activity_markdown(lesson.activity(block.activity_id), number=number))
        else:
            parts.append(block.markdown)
    return "\n\n".join(parts) + "\n"


def _test_markdown(test: CodeTest) -> str:
    if test.hidden:
        return f"- *{test.name}* (hidden)"
    lines = [f"- *{test.name}*"]
    if test.stdin:
        lines.append("  input:\n\n" + _indent(fenced(test.stdin, "text")))
    if test.expected_stdout is not None:
        lines.append("  expected output:\n\n" + _indent(fenced(test.expected_stdout, "text")))
    return "\n".join(lines)


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" if line else "" for line in text.split("\n"))
