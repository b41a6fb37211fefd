"""``post16-lessons``: validate, preview and scaffold lessons without touching code.

    post16-lessons validate [DIR]
    post16-lessons preview LESSON_FILE_OR_ID [--dir DIR] [--pupil] [-o OUT.html]
    post16-lessons new ID --title TITLE [DIR]
    post16-lessons curriculum [DIR]

DIR defaults to $POST16_LESSONS_DIR, else ./lessons.
"""

from __future__ import annotations

import argparse
import html
import os
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from shared.lessons.curriculum import curriculum_markdown
from shared.lessons.errors import LessonFormatError
from shared.lessons.loader import load_lesson, load_manifest, validate_lessons
from shared.lessons.model import Lesson
from shared.lessons.outputs import SnippetError, record_outputs
from shared.lessons.render import lesson_markdown
from shared.lessons.scaffold import ScaffoldError, add_lesson

__all__ = ["main", "render_html"]

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2


def _default_dir() -> str:
    return os.environ.get("POST16_LESSONS_DIR", "lessons")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="post16-lessons", description="Check, preview and create lessons.")
    commands = parser.add_subparsers(dest="command", required=True)

    validate = commands.add_parser(
        "validate", help="check every lesson; print FILE:LINE: message per problem"
    )
    validate.add_argument("dir", nargs="?", default=None, help="lessons folder (default: %(default)s)")

    preview = commands.add_parser("preview", help="render one lesson to HTML")
    preview.add_argument("lesson", help="a lesson file, or a lesson id from the manifest")
    preview.add_argument("--dir", default=None, help="lessons folder used to look up an id")
    preview.add_argument("--pupil", action="store_true", help="show what a pupil sees (no answers)")
    preview.add_argument("-o", "--output", help="write the HTML here instead of standard output")

    new = commands.add_parser("new", help="create a lesson from a template and add it to the manifest")
    new.add_argument("id", help="lesson id: lowercase letters, digits and '-'")
    new.add_argument("--title", required=True)
    new.add_argument("dir", nargs="?", default=None, help="lessons folder")

    curriculum = commands.add_parser(
        "curriculum", help="print the specification-point table (docs/curriculum.md) as Markdown"
    )
    curriculum.add_argument("dir", nargs="?", default=None, help="lessons folder")

    record = commands.add_parser(
        "record-outputs", help="run every predict-the-output snippet and record its output (outputs.json)"
    )
    record.add_argument("dir", nargs="?", default=None, help="lessons folder")

    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["new"]:
        # DIR may follow --title; plain parse_args cannot take a positional on both sides of an option.
        args = new.parse_intermixed_args(arguments[1:], argparse.Namespace(command="new"))
    else:
        args = parser.parse_args(arguments)
    if args.command == "validate":
        return _validate(Path(args.dir or _default_dir()))
    if args.command == "preview":
        return _preview(args.lesson, Path(args.dir or _default_dir()), args.pupil, args.output)
    if args.command == "curriculum":
        return _curriculum(Path(args.dir or _default_dir()))
    if args.command == "record-outputs":
        return _record_outputs(Path(args.dir or _default_dir()))
    return _new(Path(args.dir or _default_dir()), args.id, args.title)


def _validate(lessons_dir: Path) -> int:
    problems = validate_lessons(lessons_dir)
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        noun = "problem" if len(problems) == 1 else "problems"
        print(f"{len(problems)} {noun} in {lessons_dir}", file=sys.stderr)
        return EXIT_PROBLEMS
    lessons = load_manifest(lessons_dir).lessons
    kinds = Counter(activity.kind for lesson in lessons for activity in lesson.activities)
    detail = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
    counted = f"{_plural(len(lessons), 'lesson')}, {_plural(kinds.total(), 'activity', 'activities')}"
    print(f"{lessons_dir}: {counted} ({detail}): all valid")
    return EXIT_OK


def _record_outputs(lessons_dir: Path) -> int:
    try:
        path, count = record_outputs(lessons_dir)
    except LessonFormatError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return EXIT_PROBLEMS
    except (SnippetError, OSError, ValueError) as error:
        print(error, file=sys.stderr)
        return EXIT_PROBLEMS
    print(f"{path}: the outputs of {_plural(count, 'snippet')}")
    return EXIT_OK


def _curriculum(lessons_dir: Path) -> int:
    try:
        lessons = load_manifest(lessons_dir)
    except LessonFormatError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return EXIT_PROBLEMS
    sys.stdout.write(curriculum_markdown(lessons))
    return EXIT_OK


def _plural(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else plural or singular + 's'}"


def _preview(target: str, lessons_dir: Path, pupil: bool, output: str | None) -> int:
    try:
        lesson = _find_lesson(target, lessons_dir)
    except LessonFormatError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return EXIT_PROBLEMS
    except KeyError:
        print(f"no lesson file or lesson id `{target}` in {lessons_dir}", file=sys.stderr)
        return EXIT_USAGE
    page = render_html(lesson.for_pupil() if pupil else lesson)
    if output is None:
        sys.stdout.write(page)
    else:
        Path(output).write_text(page, encoding="utf-8")
        print(f"wrote {output}")
    return EXIT_OK


def _find_lesson(target: str, lessons_dir: Path) -> Lesson:
    if Path(target).is_file():
        return load_lesson(target)
    return load_manifest(lessons_dir).lesson(target)


def _new(lessons_dir: Path, lesson_id: str, title: str) -> int:
    try:
        path = add_lesson(lessons_dir, lesson_id, title)
    except ScaffoldError as error:
        print(f"post16-lessons new: {error}", file=sys.stderr)
        return EXIT_PROBLEMS
    print(f"created {path} and added `{lesson_id}` to {lessons_dir / 'manifest.json'}")
    return EXIT_OK


_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font: 16px/1.55 system-ui, sans-serif; max-width: 48rem; margin: 2rem auto; padding: 0 1rem;
       color: #1d1d1f; }}
pre {{ padding: .75rem 1rem; overflow-x: auto; border-radius: 6px; background: #f6f8fa; }}
code {{ font-family: ui-monospace, Menlo, Consolas, monospace; font-size: .92em; }}
hr {{ margin: 2.5rem 0 1rem; border: 0; border-top: 3px solid #8c959f; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #d0d7de; padding: .25rem .5rem; }}
{pygments_css}
</style>
</head>
<body>
{body}
</body>
</html>
"""


def render_html(lesson: Lesson) -> str:
    """A standalone HTML page for the lesson, code highlighted when markdown-it-py and Pygments exist."""
    markdown = lesson_markdown(lesson)
    try:
        from markdown_it import MarkdownIt
    except ImportError:  # the bare shared install: readable, not pretty
        body = f"<pre>{html.escape(markdown)}</pre>"
        return _PAGE.format(title=html.escape(lesson.title), pygments_css="", body=body)
    renderer = MarkdownIt("commonmark", {"html": False, "highlight": _highlight}).enable("table")
    return _PAGE.format(
        title=html.escape(lesson.title), pygments_css=_pygments_css(), body=renderer.render(markdown)
    )


def _highlight(code: str, language: str, _attributes: str) -> str:
    try:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import get_lexer_by_name
        from pygments.util import ClassNotFound
    except ImportError:
        return ""
    try:
        lexer = get_lexer_by_name(language or "text")
    except ClassNotFound:
        return ""
    # Starting with <pre stops markdown-it wrapping the result in a second <pre><code>.
    spans = str(highlight(code, lexer, HtmlFormatter(nowrap=True)))
    return f'<pre class="highlight"><code>{spans}</code></pre>\n'


def _pygments_css() -> str:
    try:
        from pygments.formatters import HtmlFormatter
    except ImportError:
        return ""
    return str(HtmlFormatter().get_style_defs(".highlight"))


if __name__ == "__main__":
    sys.exit(main())
