"""Small valid lesson files that tests change one thing in."""

from __future__ import annotations

from pathlib import Path

LESSONS_DIR = Path(__file__).resolve().parents[3] / "lessons"


def lesson_text(lesson_id: str = "sample", *, order: int = 1, activities: str | None = None) -> str:
    """A small valid lesson; ``activities`` replaces its activity blocks."""
    if activities is None:
        activities = CODE_ACTIVITY + "\n" + CHOICE_ACTIVITY + "\n" + TEXT_ACTIVITY
    return (
        "+++\n"
        f'id = "{lesson_id}"\n'
        'title = "Sample lesson"\n'
        'summary = "A lesson for tests."\n'
        f"order = {order}\n"
        "estimated_minutes = 30\n"
        "+++\n"
        "\n"
        "## Some text\n"
        "\n"
        "Explanation.\n"
        "\n" + activities
    )


CODE_ACTIVITY = '''```activity
id = "add"
kind = "code"
title = "Add"
max_score = 2
prompt = "Write `add(a, b)`."
starter = """
def add(a, b):
    return 0
"""
model_answer = """
def add(a, b):
    return a + b
"""

[[tests]]
name = "adds"
assert_code = "assert add(2, 3) == 5"

[[tests]]
name = "secret"
stdin = "x"
expected_stdout = ""
assert_code = "assert add(-1, 1) == 0"
hidden = true
```
'''

CHOICE_ACTIVITY = """```activity
id = "pick"
kind = "choice"
title = "Pick"
prompt = "Which?"
options = ["a", "b", "c"]
correct = [1]
```
"""

TEXT_ACTIVITY = """```activity
id = "explain"
kind = "text"
title = "Explain"
prompt = "Why?"
mark_scheme = "Because."
max_length = 300
```
"""


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line of the ``occurrence``-th line containing ``needle``."""
    matches = [number for number, line in enumerate(text.splitlines(), start=1) if needle in line]
    return matches[occurrence - 1]
