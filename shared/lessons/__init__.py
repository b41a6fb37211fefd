"""The lesson format: Structs, loader and validator, marking rules and Markdown rendering.

Errors::

    ValueError
    ├── LessonFormatError   lesson files or manifest are broken; ``.problems`` lists every LessonProblem
    └── ScaffoldError       ``post16-lessons new`` cannot create the lesson

See docs/lesson-format.md for the file format.
"""

from shared.lessons.errors import LessonFormatError, LessonProblem
from shared.lessons.loader import (
    MANIFEST_FILE,
    load_lesson,
    load_manifest,
    parse_lesson,
    validate_lessons,
)
from shared.lessons.marking import (
    TEST_FAILURE_EXIT_CODE,
    build_test_program,
    judge_run,
    mark_choice,
    mark_code,
    normalise_output,
)
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
from shared.lessons.render import activity_markdown, lesson_markdown
from shared.lessons.scaffold import ScaffoldError, add_lesson

__all__ = [
    "MANIFEST_FILE",
    "SLUG_PATTERN",
    "TEST_FAILURE_EXIT_CODE",
    "Activity",
    "ActivityBlock",
    "ActivityKind",
    "ActivitySummary",
    "Block",
    "ChoiceActivity",
    "CodeActivity",
    "CodeTest",
    "Lesson",
    "LessonFormatError",
    "LessonMeta",
    "LessonProblem",
    "LessonSet",
    "LessonSummary",
    "ManifestSummary",
    "ScaffoldError",
    "TextActivity",
    "TextBlock",
    "activity_markdown",
    "add_lesson",
    "build_test_program",
    "is_slug",
    "judge_run",
    "lesson_markdown",
    "load_lesson",
    "load_manifest",
    "mark_choice",
    "mark_code",
    "normalise_output",
    "parse_lesson",
    "validate_lessons",
]
