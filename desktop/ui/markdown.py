"""Lesson Markdown to the HTML subset Qt renders, with code highlighted by Pygments (inline styles)."""

from __future__ import annotations

import html
from functools import lru_cache

from markdown_it import MarkdownIt
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer, get_lexer_by_name
from pygments.util import ClassNotFound

__all__ = ["render_markdown"]

_formatter = HtmlFormatter(noclasses=True, nowrap=True, style="friendly")
#: pre-wrap: a long line of example code wraps on a narrow window or at large text, instead of
#: widening the whole page past the window's edge.
_PRE_STYLE = "background:#f4f6f8; padding:8px; white-space: pre-wrap;"


def _highlight(code: str, language: str, _attrs: str) -> str:
    try:
        lexer = get_lexer_by_name(language) if language else PythonLexer()
    except ClassNotFound:
        return f'<pre style="{_PRE_STYLE}">{html.escape(code)}</pre>'
    body = highlight(code, lexer, _formatter)
    return f'<pre style="{_PRE_STYLE} font-family: monospace;">{body.rstrip()}</pre>'


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # "js-default" escapes raw HTML in lesson files: lesson text is content, never markup we trust.
    return MarkdownIt("js-default", {"highlight": _highlight}).enable("table")


def render_markdown(text: str) -> str:
    return _parser().render(text)
