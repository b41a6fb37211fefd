"""Read a lessons folder (manifest.json + Markdown lesson files) into checked Structs.

Every problem is collected with its file and line before anything is raised, so an author fixes a
whole lesson in one pass rather than one error at a time.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import os
import re
import tomllib
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

import msgspec

from shared.lessons._tomlkeys import KeyLines
from shared.lessons.checks import CheckCompileError, compile_checks
from shared.lessons.errors import LessonFormatError, LessonProblem
from shared.lessons.model import (
    MAX_HINT_CHARS,
    MAX_HINTS,
    Activity,
    ActivityBlock,
    Block,
    ChoiceActivity,
    CodeActivity,
    CodeTest,
    Lesson,
    LessonMeta,
    LessonSet,
    TextActivity,
    TextBlock,
    is_slug,
)
from shared.lessons.outputs import attach_outputs
from shared.lessons.puzzles import (
    GapsActivity,
    ParsonsActivity,
    PredictActivity,
    TraceActivity,
    check_puzzle,
    prepare_puzzle,
)
from shared.lessons.specpoints import spec_points_problems

__all__ = [
    "ACTIVITY_FENCE_INFO",
    "FRONT_MATTER_FENCE",
    "MANIFEST_FILE",
    "MANIFEST_FORMAT",
    "load_lesson",
    "load_manifest",
    "parse_lesson",
    "validate_lessons",
]

MANIFEST_FILE = "manifest.json"
MANIFEST_FORMAT = 1
FRONT_MATTER_FENCE = "+++"
ACTIVITY_FENCE_INFO = "activity"
MAX_OPTIONS = 8
MIN_OPTIONS = 2

_ACTIVITY_TYPES: dict[str, type[Activity]] = {
    "code": CodeActivity,
    "choice": ChoiceActivity,
    "text": TextActivity,
    "parsons": ParsonsActivity,
    "gaps": GapsActivity,
    "predict": PredictActivity,
    "trace": TraceActivity,
}
# Optional in the Struct (so a pupil's copy can drop them) but required in a lesson file.
_TEACHER_FIELDS: dict[str, str] = {
    "code": "model_answer",
    "choice": "correct",
    "text": "mark_scheme",
    "parsons": "solution",
    "gaps": "answers",
}
_KIND_LIST = ", ".join(f'"{kind}"' for kind in _ACTIVITY_TYPES)
# A lesson entry in the manifest; `spec` (optional) names specification points (specpoints.py).
_ENTRY_FIELDS = ["id", "file", "spec"]
_FENCE = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})\s*(?P<info>[^\s`]*)[^`]*$")
_TOML_POSITION = re.compile(r"\s*\(at line (?P<line>\d+), column (?P<column>\d+)\)$")
_TOML_END = re.compile(r"\s*\(at end of document\)$")

Path_ = tuple[str | int, ...]
_StructT = TypeVar("_StructT", bound=msgspec.Struct)


def load_manifest(lessons_dir: str | os.PathLike[str]) -> LessonSet:
    """Load and check every lesson named by ``lessons_dir/manifest.json``.

    Raises LessonFormatError listing every problem found in the manifest and all its lesson files.
    """
    problems: list[LessonProblem] = []
    lesson_set = _load_set(Path(lessons_dir), problems)
    if problems or lesson_set is None:
        raise LessonFormatError(problems)
    return lesson_set


def validate_lessons(lessons_dir: str | os.PathLike[str]) -> list[LessonProblem]:
    """Every problem in the lessons folder, sorted by file and line; empty when it is all good."""
    problems: list[LessonProblem] = []
    _load_set(Path(lessons_dir), problems)
    return sorted(problems)


def load_lesson(path: str | os.PathLike[str]) -> Lesson:
    """Load one lesson file on its own (no manifest); raises LessonFormatError."""
    file_path = Path(path)
    problems: list[LessonProblem] = []
    try:
        raw = file_path.read_bytes()
    except OSError as error:
        raise LessonFormatError(
            [LessonProblem(str(file_path), 1, f"cannot read: {error.strerror}")]
        ) from None
    lesson = _parse_bytes(raw, str(file_path), file_path.name, problems)
    if problems or lesson is None:
        raise LessonFormatError(problems)
    return lesson


def parse_lesson(text: str, *, file: str = "<lesson>") -> Lesson:
    """Parse lesson Markdown held in memory; ``file`` names it in problems. Raises LessonFormatError."""
    problems: list[LessonProblem] = []
    lesson = _parse_bytes(text.encode("utf-8"), file, PurePosixPath(file).name, problems)
    if problems or lesson is None:
        raise LessonFormatError(problems)
    return lesson


# --- manifest --------------------------------------------------------------------------------------


def _load_set(lessons_dir: Path, problems: list[LessonProblem]) -> LessonSet | None:
    manifest_path = lessons_dir / MANIFEST_FILE
    manifest_name = str(manifest_path)

    def report(line: int, message: str) -> None:
        problems.append(LessonProblem(manifest_name, line, message))

    try:
        manifest_bytes = manifest_path.read_bytes()
    except OSError as error:
        report(1, f"cannot read the manifest: {error.strerror}")
        return None
    try:
        manifest_text = manifest_bytes.decode("utf-8")
        document = json.loads(manifest_text)
    except UnicodeDecodeError:
        report(1, "the manifest is not UTF-8 text")
        return None
    except json.JSONDecodeError as error:
        report(error.lineno, f"invalid JSON: {error.msg} (column {error.colno})")
        return None
    if not isinstance(document, dict):
        report(1, "the manifest must be a JSON object with `format`, `title` and `lessons`")
        return None

    def key_line(key: str) -> int:
        return _line_containing(manifest_text, json.dumps(key) + ":", 1) or 1

    for key in document:
        if key not in {"format", "title", "lessons"}:
            report(
                key_line(key), f"unknown field `{key}`{_did_you_mean(key, ['format', 'title', 'lessons'])}"
            )
    if document.get("format") != MANIFEST_FORMAT:
        report(key_line("format"), f"`format` must be {MANIFEST_FORMAT}")
    title = document.get("title")
    if not isinstance(title, str) or not title.strip():
        report(key_line("title"), "`title` must be a non-empty string")
    entries = document.get("lessons")
    if not isinstance(entries, list):
        report(key_line("lessons"), '`lessons` must be a list of {"id": ..., "file": ...} objects')
        return None

    lessons: list[Lesson] = []
    seen_ids: dict[str, int] = {}
    seen_files: dict[str, int] = {}
    seen_orders: dict[int, str] = {}
    for entry in entries:
        line = key_line("lessons")
        if not isinstance(entry, dict):
            report(line, "each entry of `lessons` must be an object with `id` and `file`")
            continue
        lesson_id, file_name = entry.get("id"), entry.get("file")
        if isinstance(lesson_id, str):
            seen_ids[lesson_id] = seen_ids.get(lesson_id, 0) + 1
            line = _line_containing(manifest_text, json.dumps(lesson_id), seen_ids[lesson_id]) or line
        file_line = line
        if isinstance(file_name, str):
            seen_files[file_name] = seen_files.get(file_name, 0) + 1
            found = _line_containing(manifest_text, json.dumps(file_name), seen_files[file_name])
            file_line = found or line
        for key in entry:
            if key not in _ENTRY_FIELDS:
                report(line, f"unknown field `{key}` in lesson entry{_did_you_mean(key, _ENTRY_FIELDS)}")
        spec_problems = spec_points_problems(entry["spec"]) if "spec" in entry else []
        for message in spec_problems:
            report(line, message)
        spec: list[str] = [] if spec_problems else list(entry.get("spec", []))
        if not isinstance(lesson_id, str) or not is_slug(lesson_id):
            report(line, f"lesson id {json.dumps(lesson_id)} must be a slug: lowercase letters, digits, '-'")
            lesson_id = None
        elif seen_ids[lesson_id] > 1:
            report(line, f"duplicate lesson id `{lesson_id}`")
            lesson_id = None
        if not isinstance(file_name, str) or not _is_plain_file_name(file_name):
            message = f"`file` {json.dumps(file_name)} must name a .md file inside the lessons folder"
            report(file_line, message)
            continue
        if seen_files[file_name] > 1:
            report(file_line, f"file `{file_name}` is listed twice")
            continue
        lesson_path = lessons_dir / file_name
        try:
            raw = lesson_path.read_bytes()
        except OSError:
            report(file_line, f"lesson file `{file_name}` does not exist")
            continue
        lesson = _parse_bytes(raw, str(lesson_path), file_name, problems)
        if lesson is None or lesson_id is None:
            continue
        if lesson.id != lesson_id:
            report(line, f"the manifest says `{lesson_id}` but {file_name} has id `{lesson.id}`")
            continue
        if lesson.order in seen_orders:
            problems.append(
                LessonProblem(
                    str(lesson_path),
                    _front_matter_line(raw, "order"),
                    f"order {lesson.order} is already used by lesson `{seen_orders[lesson.order]}`",
                )
            )
        seen_orders[lesson.order] = lesson.id
        lessons.append(msgspec.structs.replace(lesson, spec=spec) if spec else lesson)

    if problems or not isinstance(title, str):
        return None
    lessons.sort(key=lambda lesson: lesson.order)
    lessons, outputs_bytes = attach_outputs(lessons_dir, lessons, problems)
    if problems:
        return None
    digest = hashlib.sha256(manifest_bytes)
    for lesson in lessons:
        digest.update(lesson.version.encode("ascii"))
    digest.update(outputs_bytes)  # empty without predict activities: the version stays as it was
    return LessonSet(title=title, version=digest.hexdigest(), lessons=lessons)


def _is_plain_file_name(name: str) -> bool:
    return (
        name.endswith(".md")
        and "/" not in name
        and "\\" not in name
        and not name.startswith(".")
        and name == name.strip()
    )


def _line_containing(text: str, needle: str, occurrence: int) -> int | None:
    seen = 0
    for number, line in enumerate(text.splitlines(), start=1):
        seen += line.count(needle)
        if seen >= occurrence:
            return number
    return None


def _front_matter_line(raw: bytes, key: str) -> int:
    text = raw.decode("utf-8", errors="replace")
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return number
    return 1


def _did_you_mean(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean `{close[0]}`?)" if close else ""


# --- lesson files ----------------------------------------------------------------------------------


class _Reporter:
    """Turns positions inside one TOML block into file lines and records problems."""

    def __init__(self, file: str, problems: list[LessonProblem], first_line: int, keys: KeyLines) -> None:
        self.file = file
        self.problems = problems
        self.first_line = first_line  # 1-based file line of the block's first TOML line
        self.keys = keys
        self.count = 0

    def line(self, path: Path_) -> int:
        found = self.keys.line_of(path)
        return self.first_line + (found if found is not None else 0)

    def at(self, path: Path_, message: str) -> None:
        self.add(self.line(path), message)

    def add(self, line: int, message: str) -> None:
        self.count += 1
        self.problems.append(LessonProblem(self.file, line, message))

    def compile_checks(self, path: Path_, source: str, what: str) -> None:
        """Checks are judged outside the pupil's program, so they must fit that grammar (checks.py)."""
        try:
            compile_checks(source)
        except CheckCompileError as error:
            content = self.keys.content_line(path)
            if content is None:
                self.at(path, f"{what}, line {error.line}: {error.message}")
            else:
                self.add(self.first_line + content + error.line - 1, f"{what}: {error.message}")

    def compile_python(self, path: Path_, source: str, what: str) -> None:
        try:
            compile(source, what, "exec", dont_inherit=True)
        except SyntaxError as error:
            content = self.keys.content_line(path)
            base = self.first_line + (content if content is not None else 0)
            offset = (error.lineno or 1) - 1
            self.add(base + offset, f"{what} is not valid Python: {error.msg}")
        except ValueError as error:  # e.g. a NUL byte
            self.at(path, f"{what} is not valid Python: {error}")


def _parse_bytes(raw: bytes, file: str, source_file: str, problems: list[LessonProblem]) -> Lesson | None:
    before = len(problems)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        bad_line = raw[: error.start].count(b"\n") + 1
        problems.append(LessonProblem(file, bad_line, "the file is not UTF-8 text"))
        return None
    lines = text.removeprefix("\ufeff").replace("\r\n", "\n").split("\n")

    if not lines or lines[0].strip() != FRONT_MATTER_FENCE:
        problems.append(
            LessonProblem(
                file, 1, f"a lesson must start with front matter between `{FRONT_MATTER_FENCE}` lines"
            )
        )
        return None
    try:
        closing = next(i for i in range(1, len(lines)) if lines[i].strip() == FRONT_MATTER_FENCE)
    except StopIteration:
        problems.append(
            LessonProblem(file, 1, f"the front matter is never closed with `{FRONT_MATTER_FENCE}`")
        )
        return None
    meta = _parse_front_matter("\n".join(lines[1:closing]), file, problems, 2)

    blocks: list[Block] = []
    activities: list[Activity] = []
    activity_lines: dict[str, int] = {}
    markdown: list[str] = []

    def flush_markdown() -> None:
        chunk = "\n".join(markdown).strip("\n")
        if chunk.strip():
            blocks.append(TextBlock(markdown=chunk))
        markdown.clear()

    index = closing + 1
    while index < len(lines):
        line = lines[index]
        fence = _FENCE.match(line)
        if fence is None:
            markdown.append(line)
            index += 1
            continue
        end = _closing_fence(lines, index + 1, fence.group("fence"))
        if fence.group("info") != ACTIVITY_FENCE_INFO:
            stop = len(lines) if end is None else end + 1
            markdown.extend(lines[index:stop])
            index = stop
            continue
        if end is None:
            problems.append(LessonProblem(file, index + 1, "this activity block is never closed"))
            break
        flush_markdown()
        block_text = "\n".join(lines[index + 1 : end])
        activity = _parse_activity(block_text, file, problems, index + 2)
        if activity is not None:
            id_line = index + 2 + (KeyLines(block_text).line_of(("id",)) or 0)
            first_use = activity_lines.setdefault(activity.id, id_line)
            if first_use != id_line:
                message = f"duplicate activity id `{activity.id}` (first used on line {first_use})"
                problems.append(LessonProblem(file, id_line, message))
            else:
                activities.append(activity)
                blocks.append(ActivityBlock(activity_id=activity.id))
        index = end + 1
    flush_markdown()

    if meta is None or len(problems) > before:
        return None
    return Lesson(
        id=meta.id,
        title=meta.title,
        summary=meta.summary,
        order=meta.order,
        estimated_minutes=meta.estimated_minutes,
        objectives=meta.objectives,
        version=hashlib.sha256(raw).hexdigest(),
        source_file=source_file,
        blocks=blocks,
        activities=activities,
    )


def _closing_fence(lines: list[str], start: int, opener: str) -> int | None:
    closing = re.compile(rf"^ {{0,3}}{re.escape(opener[0])}{{{len(opener)},}}\s*$")
    for index in range(start, len(lines)):
        if closing.match(lines[index]):
            return index
    return None


def _load_toml(
    text: str, file: str, problems: list[LessonProblem], first_line: int, what: str
) -> dict[str, Any] | None:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        line = first_line + max(text.count("\n"), 0)
        position = _TOML_POSITION.search(message)
        if position:
            line = first_line + int(position.group("line")) - 1
            message = f"{message[: position.start()]} (column {position.group('column')})"
        else:
            message = _TOML_END.sub(" (at the end of the block)", message)
        problems.append(LessonProblem(file, line, f"invalid TOML in the {what}: {message}"))
        return None


def _parse_front_matter(
    text: str, file: str, problems: list[LessonProblem], first_line: int
) -> LessonMeta | None:
    table = _load_toml(text, file, problems, first_line, "front matter")
    if table is None:
        return None
    report = _Reporter(file, problems, first_line, KeyLines(text))
    meta = _convert_table(table, LessonMeta, (), report)
    if meta is None:
        return None
    if not is_slug(meta.id):
        report.at(("id",), f"lesson id `{meta.id}` must be a slug: lowercase letters, digits and '-'")
    for name in ("title", "summary"):
        if not str(getattr(meta, name)).strip():
            report.at((name,), f"`{name}` must not be empty")
    if meta.order < 0:
        report.at(("order",), "`order` must be 0 or more")
    if meta.estimated_minutes <= 0:
        report.at(("estimated_minutes",), "`estimated_minutes` must be more than 0")
    return None if report.count else meta


def _parse_activity(text: str, file: str, problems: list[LessonProblem], first_line: int) -> Activity | None:
    table = _load_toml(text, file, problems, first_line, "activity")
    if table is None:
        return None
    report = _Reporter(file, problems, first_line, KeyLines(text))
    kind = table.pop("kind", None)
    if kind is None:
        report.add(first_line, f"the activity has no `kind` (one of {_KIND_LIST})")
        return None
    activity_type = _ACTIVITY_TYPES.get(kind) if isinstance(kind, str) else None
    if activity_type is None:
        hint = _did_you_mean(str(kind), list(_ACTIVITY_TYPES))
        report.at(("kind",), f"unknown activity kind `{kind}`: use one of {_KIND_LIST}{hint}")
        return None
    skip = {"tests"} if activity_type is CodeActivity else set()
    values = _convert_fields(table, activity_type, (), report, skip=skip)
    teacher_field = _TEACHER_FIELDS.get(kind)  # a predict activity's answer comes from a run, not a field
    if values is not None and teacher_field is not None and teacher_field not in table:
        report.add(first_line, f"missing required field `{teacher_field}`")
        values = None
    if activity_type is CodeActivity:
        tests = _convert_tests(table.get("tests", []), report)
        if values is not None and tests is not None:
            values["tests"] = tests
        else:
            values = None
    if values is None:
        return None
    activity: Activity = activity_type(**values)
    _check_activity(activity, report)
    if isinstance(activity, ParsonsActivity | GapsActivity | PredictActivity | TraceActivity):
        activity = prepare_puzzle(activity)
    return None if report.count else activity


def _convert_tests(raw_tests: object, report: _Reporter) -> list[CodeTest] | None:
    if not isinstance(raw_tests, list):
        report.at(("tests",), "`tests` must be a list of tables: write each one under a [[tests]] line")
        return None
    tests: list[CodeTest] = []
    for index, raw in enumerate(raw_tests):
        path: Path_ = ("tests", index)
        if not isinstance(raw, dict):
            report.at(path, "each test must be a table with `name` and `expected_stdout` or `assert_code`")
            continue
        test = _convert_table(raw, CodeTest, path, report)
        if test is not None:
            tests.append(test)
    return tests if len(tests) == len(raw_tests) else None


def _convert_table(
    table: dict[str, Any], struct_type: type[_StructT], path: Path_, report: _Reporter
) -> _StructT | None:
    values = _convert_fields(table, struct_type, path, report)
    return None if values is None else struct_type(**values)


def _convert_fields(
    table: dict[str, Any],
    struct_type: type[msgspec.Struct],
    path: Path_,
    report: _Reporter,
    skip: set[str] | None = None,
) -> dict[str, Any] | None:
    """Check each field on its own so that every wrong field is reported, not just the first."""
    skip = skip or set()
    fields = {field.name: field for field in msgspec.structs.fields(struct_type)}
    ok = True
    for key in table:
        if key not in fields and key not in skip:
            report.at((*path, key), f"unknown field `{key}`{_did_you_mean(key, list(fields))}")
            ok = False
    values: dict[str, Any] = {}
    for name, field in fields.items():
        if name in skip:
            continue
        if name not in table:
            if field.required:
                report.at(path, f"missing required field `{name}`")
                ok = False
            continue
        try:
            values[name] = msgspec.convert(table[name], field.type)
        except msgspec.ValidationError as error:
            report.at((*path, name), f"`{name}`: {_plain_validation_message(error)}")
            ok = False
    return values if ok else None


def _plain_validation_message(error: msgspec.ValidationError) -> str:
    return re.sub(r" - at `\$[^`]*`$", "", str(error))


def _check_activity(activity: Activity, report: _Reporter) -> None:
    if not is_slug(activity.id):
        report.at(("id",), f"activity id `{activity.id}` must be a slug: lowercase letters, digits and '-'")
    for name in ("title", "prompt"):
        if not str(getattr(activity, name)).strip():
            report.at((name,), f"`{name}` must not be empty")
    if not (math.isfinite(activity.max_score) and activity.max_score > 0):
        report.at(("max_score",), "`max_score` must be a number more than 0")
    if len(activity.hints) > MAX_HINTS:
        report.at(("hints",), f"at most {MAX_HINTS} hints (this activity has {len(activity.hints)})")
    for index, hint in enumerate(activity.hints):
        if not hint.strip():
            report.at(("hints", index), "a hint must not be empty")
        elif len(hint) > MAX_HINT_CHARS:
            report.at(("hints", index), f"a hint is at most {MAX_HINT_CHARS} characters ({len(hint)} here)")
    if isinstance(activity, CodeActivity):
        _check_code(activity, report)
    elif isinstance(activity, ChoiceActivity):
        _check_choice(activity, report)
    elif isinstance(activity, ParsonsActivity | GapsActivity | PredictActivity | TraceActivity):
        check_puzzle(activity, report.at)
    else:
        _check_text(activity, report)


def _check_code(activity: CodeActivity, report: _Reporter) -> None:
    if activity.model_answer is not None:
        report.compile_python(("model_answer",), activity.model_answer, "model_answer")
    for index, wrong in enumerate(activity.wrong_answers):
        report.compile_python(("wrong_answers", index), wrong, f"wrong_answers[{index}]")
    if activity.wrong_answers and not activity.tests:
        report.at(("wrong_answers",), "`wrong_answers` only make sense with tests that can fail them")
    names: set[str] = set()
    for index, test in enumerate(activity.tests):
        path: Path_ = ("tests", index)
        if not test.name.strip():
            report.at((*path, "name"), "a test's `name` must not be empty")
        elif test.name in names:
            report.at((*path, "name"), f"duplicate test name `{test.name}`")
        names.add(test.name)
        if test.expected_stdout is None and test.assert_code is None:
            report.at(path, f"test `{test.name}` needs `expected_stdout`, `assert_code` or both")
        if test.assert_code is not None:
            report.compile_checks((*path, "assert_code"), test.assert_code, f"assert_code of `{test.name}`")


def _check_choice(activity: ChoiceActivity, report: _Reporter) -> None:
    count = len(activity.options)
    if not MIN_OPTIONS <= count <= MAX_OPTIONS:
        report.at(("options",), f"a choice needs {MIN_OPTIONS} to {MAX_OPTIONS} options, not {count}")
    for index, option in enumerate(activity.options):
        if not option.strip():
            report.at(("options", index), f"option {index} is empty")
    if len(set(activity.options)) != count:
        report.at(("options",), "two options have the same text")
    correct = activity.correct or []
    if not correct:
        report.at(("correct",), "`correct` must list at least one option index (counting from 0)")
    for index in correct:
        if not 0 <= index < count:
            report.at(("correct",), f"`correct` index {index} is out of range: options are 0 to {count - 1}")
    if len(set(correct)) != len(correct):
        report.at(("correct",), "`correct` lists the same index twice")
    if not activity.multiple and len(correct) > 1:
        report.at(("correct",), "`correct` has several answers: set `multiple = true` or keep one")


def _check_text(activity: TextActivity, report: _Reporter) -> None:
    if activity.max_length <= 0:
        report.at(("max_length",), "`max_length` must be more than 0")
    if activity.mark_scheme is not None and not activity.mark_scheme.strip():
        report.at(("mark_scheme",), "`mark_scheme` must not be empty")
