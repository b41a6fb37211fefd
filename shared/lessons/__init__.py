"""The lesson format: Structs, loader and validator, marking rules and Markdown rendering.

Errors::

    ValueError
    ├── LessonFormatError   lesson files or manifest are broken; ``.problems`` lists every LessonProblem
    ├── CheckCompileError   a test's ``assert_code`` does not fit the checks grammar (``.line``)
    └── ScaffoldError       ``post16-lessons new`` cannot create the lesson

See docs/lesson-format.md for the file format.

Each name is imported from its module when first used (PEP 562): the desktop app starts with the
Structs of `shared.lessons.model` only, not the loader, the checks grammar or the snippet runner
(start-up, docs/performance.md; tests/unit/desktop/test_desktop_startup_imports.py).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    PROBE_SHIM_SOURCE: str
    from shared.lessons.checks import (
        CheckCompileError,
        CompiledChecks,
        Expectation,
        TestEvidence,
        TestVerdict,
        compile_checks,
        judge_test,
    )
    from shared.lessons.errors import LessonFormatError, LessonProblem
    from shared.lessons.loader import (
        MANIFEST_FILE,
        load_lesson,
        load_manifest,
        parse_lesson,
        validate_lessons,
    )
    from shared.lessons.marking import mark_choice, mark_code, normalise_output
    from shared.lessons.model import (
        SLUG_PATTERN,
        Activity,
        ActivityBlock,
        ActivityKind,
        ActivitySummary,
        Block,
        ChoiceActivity,
        CodeActivity,
        CodeTest,
        Lesson,
        LessonMeta,
        LessonSet,
        LessonSummary,
        ManifestSummary,
        TextActivity,
        TextBlock,
        is_slug,
    )
    from shared.lessons.outputs import OUTPUTS_FILE, SnippetError, record_outputs, run_snippet
    from shared.lessons.puzzles import (
        GapsActivity,
        ParsonsActivity,
        PredictActivity,
        TraceActivity,
        completed_code,
        mark_gaps,
        mark_parsons,
        mark_predict,
        mark_trace,
        puzzle_feedback,
    )
    from shared.lessons.render import activity_markdown, lesson_markdown
    from shared.lessons.scaffold import ScaffoldError, add_lesson

#: Where each public name lives, imported at its first use.
_LAZY: dict[str, str] = {
    "Activity": "shared.lessons.model",
    "ActivityBlock": "shared.lessons.model",
    "ActivityKind": "shared.lessons.model",
    "ActivitySummary": "shared.lessons.model",
    "Block": "shared.lessons.model",
    "CheckCompileError": "shared.lessons.checks",
    "ChoiceActivity": "shared.lessons.model",
    "CodeActivity": "shared.lessons.model",
    "CodeTest": "shared.lessons.model",
    "CompiledChecks": "shared.lessons.checks",
    "Expectation": "shared.lessons.checks",
    "GapsActivity": "shared.lessons.puzzles",
    "Lesson": "shared.lessons.model",
    "LessonFormatError": "shared.lessons.errors",
    "LessonMeta": "shared.lessons.model",
    "LessonProblem": "shared.lessons.errors",
    "LessonSet": "shared.lessons.model",
    "LessonSummary": "shared.lessons.model",
    "MANIFEST_FILE": "shared.lessons.loader",
    "ManifestSummary": "shared.lessons.model",
    "OUTPUTS_FILE": "shared.lessons.outputs",
    "ParsonsActivity": "shared.lessons.puzzles",
    "PredictActivity": "shared.lessons.puzzles",
    "SLUG_PATTERN": "shared.lessons.model",
    "ScaffoldError": "shared.lessons.scaffold",
    "SnippetError": "shared.lessons.outputs",
    "TestEvidence": "shared.lessons.checks",
    "TestVerdict": "shared.lessons.checks",
    "TextActivity": "shared.lessons.model",
    "TextBlock": "shared.lessons.model",
    "TraceActivity": "shared.lessons.puzzles",
    "activity_markdown": "shared.lessons.render",
    "add_lesson": "shared.lessons.scaffold",
    "compile_checks": "shared.lessons.checks",
    "completed_code": "shared.lessons.puzzles",
    "is_slug": "shared.lessons.model",
    "judge_test": "shared.lessons.checks",
    "lesson_markdown": "shared.lessons.render",
    "load_lesson": "shared.lessons.loader",
    "load_manifest": "shared.lessons.loader",
    "mark_choice": "shared.lessons.marking",
    "mark_code": "shared.lessons.marking",
    "mark_gaps": "shared.lessons.puzzles",
    "mark_parsons": "shared.lessons.puzzles",
    "mark_predict": "shared.lessons.puzzles",
    "mark_trace": "shared.lessons.puzzles",
    "normalise_output": "shared.lessons.marking",
    "parse_lesson": "shared.lessons.loader",
    "puzzle_feedback": "shared.lessons.puzzles",
    "record_outputs": "shared.lessons.outputs",
    "run_snippet": "shared.lessons.outputs",
    "validate_lessons": "shared.lessons.loader",
}


__all__ = [
    "MANIFEST_FILE",
    "OUTPUTS_FILE",
    "PROBE_SHIM_SOURCE",
    "SLUG_PATTERN",
    "Activity",
    "ActivityBlock",
    "ActivityKind",
    "ActivitySummary",
    "Block",
    "CheckCompileError",
    "ChoiceActivity",
    "CodeActivity",
    "CodeTest",
    "CompiledChecks",
    "Expectation",
    "GapsActivity",
    "Lesson",
    "LessonFormatError",
    "LessonMeta",
    "LessonProblem",
    "LessonSet",
    "LessonSummary",
    "ManifestSummary",
    "ParsonsActivity",
    "PredictActivity",
    "ScaffoldError",
    "SnippetError",
    "TestEvidence",
    "TestVerdict",
    "TextActivity",
    "TextBlock",
    "TraceActivity",
    "activity_markdown",
    "add_lesson",
    "compile_checks",
    "completed_code",
    "is_slug",
    "judge_test",
    "lesson_markdown",
    "load_lesson",
    "load_manifest",
    "mark_choice",
    "mark_code",
    "mark_gaps",
    "mark_parsons",
    "mark_predict",
    "mark_trace",
    "normalise_output",
    "parse_lesson",
    "puzzle_feedback",
    "record_outputs",
    "run_snippet",
    "validate_lessons",
]


def _probe_shim_source() -> str:
    from importlib import resources

    return resources.files(__name__).joinpath("probe_shim.py").read_text(encoding="utf-8")


def __getattr__(name: str) -> Any:
    """`PROBE_SHIM_SOURCE` is the source of the shim that runs beside the pupil's code in each test
    (see probe_shim.py); every other name is its module's."""
    if name == "PROBE_SHIM_SOURCE":
        value: Any = _probe_shim_source()
    elif name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # once: later uses are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
