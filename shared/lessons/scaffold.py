"""Create a new lesson file from a template and list it in the manifest (``post16-lessons new``)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from shared.lessons.loader import MANIFEST_FILE, MANIFEST_FORMAT
from shared.lessons.model import is_slug

__all__ = ["ScaffoldError", "add_lesson", "lesson_template"]

_NUMBERED = re.compile(r"^(\d+)-")
_ORDER = re.compile(r"^order\s*=\s*(\d+)\s*$", re.MULTILINE)


class ScaffoldError(ValueError):
    """The lesson cannot be created: bad id, id or file already taken, unreadable manifest."""


def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def lesson_template(lesson_id: str, title: str, order: int) -> str:
    """A valid lesson with one activity of each kind, for an author to edit."""
    return f'''+++
id = "{lesson_id}"
title = {_toml_string(title)}
summary = "One sentence that tells pupils what this lesson is about."
order = {order}
estimated_minutes = 45
objectives = ["State what the pupil will be able to do", "Keep each objective short"]
+++

## Introduction

Write the explanation here in Markdown. Show worked examples in fenced code blocks:

```python
name = input("What is your name? ")
print("Hello,", name)
```

```activity
id = "first-code"
kind = "code"
title = "Say hello"
max_score = 2
prompt = """
Ask for a name with `input()` and print `Hello, ` followed by the name.
"""
starter = """
# write your program here
"""
model_answer = """
name = input()
print("Hello, " + name)
"""

[[tests]]
name = "greets Ada"
stdin = "Ada"
expected_stdout = "Hello, Ada"

[[tests]]
name = "greets Alan"
stdin = "Alan"
expected_stdout = "Hello, Alan"
```

```activity
id = "first-choice"
kind = "choice"
title = "Check your understanding"
prompt = "What type of value does `input()` return?"
options = ["int", "str", "float", "bool"]
correct = [1]
```

```activity
id = "first-text"
kind = "text"
title = "Explain"
max_score = 2
max_length = 600
prompt = "Explain why `input()` followed by `+ 1` fails."
mark_scheme = """
- 1 mark: `input()` always returns a string.
- 1 mark: Python cannot add a string and an integer without converting one of them.
"""
```
'''


def add_lesson(lessons_dir: str | os.PathLike[str], lesson_id: str, title: str) -> Path:
    """Write ``NN-<id>.md`` from the template and append it to the manifest; returns the new file.

    Creates the folder and a manifest when there is none. Refuses an id or file that already exists.
    """
    if not is_slug(lesson_id):
        raise ScaffoldError(f"`{lesson_id}` is not a valid id: use lowercase letters, digits and '-'")
    if not title.strip():
        raise ScaffoldError("the title must not be empty")
    folder = Path(lessons_dir)
    manifest_path = folder / MANIFEST_FILE
    manifest: dict[str, Any]
    if manifest_path.exists():
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            entries = manifest["lessons"]
            taken_ids = {entry["id"] for entry in entries}
            taken_files = [entry["file"] for entry in entries]
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ScaffoldError(f"{manifest_path} cannot be read ({error}): run `validate` first") from None
    else:
        manifest = {"format": MANIFEST_FORMAT, "title": "Lessons", "lessons": []}
        entries, taken_ids, taken_files = manifest["lessons"], set(), []
    if lesson_id in taken_ids:
        raise ScaffoldError(f"a lesson with id `{lesson_id}` already exists in {manifest_path}")

    numbers = [int(match.group(1)) for name in taken_files if (match := _NUMBERED.match(name))]
    number = max(numbers, default=0) + 1
    lesson_path = folder / f"{number:02d}-{lesson_id}.md"
    if lesson_path.exists():
        raise ScaffoldError(f"{lesson_path} already exists")
    order = max((_order_of(folder / name) for name in taken_files), default=0) + 1

    folder.mkdir(parents=True, exist_ok=True)
    with lesson_path.open("x", encoding="utf-8", newline="\n") as handle:
        handle.write(lesson_template(lesson_id, title, order))
    entries.append({"id": lesson_id, "file": lesson_path.name})
    manifest_path.write_text(manifest_json(manifest), encoding="utf-8")
    return lesson_path


def manifest_json(manifest: dict[str, Any]) -> str:
    """The manifest as JSON with one lesson per line, so a diff shows exactly which lesson changed."""
    lines = [f"    {json.dumps(entry, ensure_ascii=False)}" for entry in manifest["lessons"]]
    head = {key: value for key, value in manifest.items() if key != "lessons"}
    fields = [f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}" for key, value in head.items()]
    lessons = '  "lessons": [\n' + ",\n".join(lines) + "\n  ]" if lines else '  "lessons": []'
    return "{\n" + ",\n".join([*fields, lessons]) + "\n}\n"


def _order_of(path: Path) -> int:
    try:
        match = _ORDER.search(path.read_text(encoding="utf-8"))
    except OSError:
        return 0
    return int(match.group(1)) if match else 0
