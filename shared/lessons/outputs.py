"""The real outputs of predict-the-output snippets and trace-table programs, kept beside the lessons in
``outputs.json``.

An author who typed the expected output by hand could get it wrong, and then every pupil who predicted
right would be marked wrong. So the author never writes it: ``post16-lessons record-outputs DIR`` runs
each snippet (the author's own code, trusted like a model answer) in a fresh ``python3 -I`` in an empty
folder with the activity's ``stdin`` and records what it printed, keyed by the sha256 of the snippet and
its input. Loading the folder fills each activity's ``expected_output`` from that file, and
``post16-lessons validate`` reports a snippet with no recorded output (new or edited since): an edited
snippet can never be marked against an old output. The file is part of ``LessonSet.version``.
tests/integration/sandbox checks that the real sandbox prints the same.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import msgspec

from shared.lessons.errors import LessonProblem
from shared.lessons.model import Lesson
from shared.lessons.puzzles import MAX_TRACE_ROWS, PredictActivity, TraceActivity, traced_source

Recorded = PredictActivity | TraceActivity

__all__ = [
    "OUTPUTS_FILE",
    "OUTPUTS_FORMAT",
    "SnippetError",
    "attach_outputs",
    "record_outputs",
    "run_snippet",
    "snippet_key",
    "trace_rows",
]

OUTPUTS_FILE = "outputs.json"
OUTPUTS_FORMAT = 1
RUN_TIMEOUT_SECONDS = 10


class SnippetError(ValueError):
    """A predict-the-output snippet failed when run (an error, or no end within the time limit)."""


class _OutputsFile(msgspec.Struct, forbid_unknown_fields=True):
    format: int
    outputs: dict[str, str]


def snippet_key(activity: Recorded) -> str:
    """The key of a snippet's output: sha256 over its code and input (editing either needs a new run),
    and for a trace table its columns too."""
    if isinstance(activity, TraceActivity):
        key = ["trace", activity.code, activity.stdin, *activity.columns]
        return hashlib.sha256(msgspec.json.encode(key)).hexdigest()
    return hashlib.sha256(msgspec.json.encode([activity.code, activity.stdin])).hexdigest()


def attach_outputs(
    lessons_dir: Path, lessons: list[Lesson], problems: list[LessonProblem]
) -> tuple[list[Lesson], bytes]:
    """The lessons with each predict activity's ``expected_output`` filled in, and the file's bytes.
    A snippet with no recorded output is a problem (at its activity's ``id`` line)."""
    path = lessons_dir / OUTPUTS_FILE
    predicts = [(lesson, a) for lesson in lessons for a in lesson.activities if isinstance(a, Recorded)]
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raw = b""
    except OSError as error:
        problems.append(LessonProblem(str(path), 1, f"cannot read: {error.strerror}"))
        return lessons, b""
    outputs: dict[str, str] = {}
    if raw:
        try:
            recorded = msgspec.json.decode(raw, type=_OutputsFile)
        except msgspec.DecodeError as error:
            problems.append(LessonProblem(str(path), 1, f"not a valid outputs file: {error}"))
            return lessons, raw
        if recorded.format != OUTPUTS_FORMAT:
            problems.append(LessonProblem(str(path), 1, f"`format` must be {OUTPUTS_FORMAT}"))
        outputs = recorded.outputs
    missing = [(lesson, activity) for lesson, activity in predicts if snippet_key(activity) not in outputs]
    for lesson, activity in missing:
        problems.append(
            LessonProblem(
                str(lessons_dir / lesson.source_file),
                _id_line(lessons_dir / lesson.source_file, activity.id),
                f"{activity.kind} activity `{activity.id}` has no recorded output (new or edited code): "
                f"run `post16-lessons record-outputs {lessons_dir}`",
            )
        )
    if missing or not predicts:
        return lessons, raw
    filled = [
        msgspec.structs.replace(
            lesson,
            activities=[
                _filled(a, outputs[snippet_key(a)]) if isinstance(a, Recorded) else a
                for a in lesson.activities
            ],
        )
        for lesson in lessons
    ]
    return filled, raw


def _filled(activity: Recorded, output: str) -> Recorded:
    if isinstance(activity, TraceActivity):
        rows = json.loads(output)
        return msgspec.structs.replace(activity, rows=rows, row_count=len(rows))
    return msgspec.structs.replace(activity, expected_output=output)


def trace_rows(printed: str) -> list[list[str]]:
    """The table a traced run printed (its last line); raises SnippetError when it is not one."""
    try:
        rows = msgspec.json.decode((printed.strip().splitlines() or [""])[-1], type=list[list[str]])
    except msgspec.DecodeError:
        raise SnippetError("the traced run printed no table") from None
    if not 1 <= len(rows) <= MAX_TRACE_ROWS:
        raise SnippetError(
            f"the `# row` line ran {len(rows)} times: a table needs 1 to {MAX_TRACE_ROWS} rows"
        )
    return rows


def _id_line(lesson_path: Path, activity_id: str) -> int:
    try:
        lines = lesson_path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return 1
    wanted = {f'id = "{activity_id}"', f"id = '{activity_id}'"}
    return next((number for number, line in enumerate(lines, 1) if line.strip() in wanted), 1)


def run_snippet(code: str, stdin: str = "") -> str:
    """What ``code`` prints with ``stdin`` as input, run in a fresh ``python3 -I`` in an empty folder.
    Only for the author's snippets (trusted lesson content), never for a pupil's code.
    Raises SnippetError when it fails or runs too long."""
    with tempfile.TemporaryDirectory(prefix="post16-snippet-") as work:
        script = Path(work) / "snippet.py"
        script.write_text(code, encoding="utf-8")
        try:
            finished = subprocess.run(  # noqa: S603 - the lesson author's snippet, as for model answers
                [sys.executable, "-I", str(script)],
                input=stdin,
                capture_output=True,
                text=True,
                cwd=work,
                timeout=RUN_TIMEOUT_SECONDS,
                env={"PATH": os.environ.get("PATH", ""), "PYTHONIOENCODING": "utf-8"},
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise SnippetError(f"the snippet ran longer than {RUN_TIMEOUT_SECONDS} s") from None
    if finished.returncode != 0:
        last = (finished.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise SnippetError(f"the snippet failed: {last}")
    return finished.stdout


def _record(activity: Recorded) -> str:
    if isinstance(activity, TraceActivity):
        return json.dumps(trace_rows(run_snippet(traced_source(activity), activity.stdin)))
    return run_snippet(activity.code, activity.stdin)


def record_outputs(lessons_dir: Path) -> tuple[Path, int]:
    """Run every predict snippet named by the manifest and write ``outputs.json`` (only current
    snippets, so stale outputs go). Returns the file and how many snippets it holds.
    Raises LessonFormatError for a broken lesson and SnippetError (naming the activity) for a failing run."""
    from shared.lessons.loader import MANIFEST_FILE, load_lesson

    manifest = json.loads((lessons_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
    outputs: dict[str, str] = {}
    for entry in manifest.get("lessons", []):
        lesson = load_lesson(lessons_dir / str(entry["file"]))
        for activity in lesson.activities:
            if isinstance(activity, Recorded):
                try:
                    outputs[snippet_key(activity)] = _record(activity)
                except SnippetError as error:
                    raise SnippetError(f"{lesson.source_file}: `{activity.id}`: {error}") from None
    path = lessons_dir / OUTPUTS_FILE
    body = {"format": OUTPUTS_FORMAT, "outputs": dict(sorted(outputs.items()))}
    path.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path, len(outputs)
