"""The lesson format: Structs, loader and validator, marking rules and Markdown rendering.

Errors::

    ValueError
    ├── LessonFormatError   lesson files or manifest are broken; ``.problems`` lists every LessonProblem
    ├── CheckCompileError   a test's ``assert_code`` does not fit the checks grammar (``.line``)
    └── ScaffoldError       ``post16-lessons new`` cannot create the lesson

See docs/lesson-format.md for the file format.
"""

from importlib import resources

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

PROBE_SHIM_SOURCE = resources.files(__name__).joinpath("probe_shim.py").read_text(encoding="utf-8")
"""The source of the shim that runs beside the pupil's code in each test (see probe_shim.py)."""

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
