"""Lesson Markdown to the HTML subset Qt renders, with code highlighted by Pygments (inline styles).

What was rendered is remembered by its text (`load_rendered` / `take_rendered`): the main window keeps
it in the user's own store, so the next start shows the first lesson without loading markdown-it and
Pygments or compiling Pygments' Python lexer (about 0.3 s of CPU; docs/performance.md). Both are
imported when something not rendered before is shown. The code editors' highlighting is remembered
the same way, under its own kind (`remembered` / `remember`, desktop/ui/code_editor.py).
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

__all__ = [
    "RENDERER_VERSION",
    "forget_rendered",
    "load_rendered",
    "remember",
    "remembered",
    "render_markdown",
    "take_rendered",
]

#: Part of every remembered rendering's key: change it when the HTML produced changes.
RENDERER_VERSION = "1"
#: pre-wrap: a long line of example code wraps on a narrow window or at large text, instead of
#: widening the whole page past the window's edge.
_PRE_STYLE = "background:#f4f6f8; padding:8px; white-space: pre-wrap;"

_rendered: dict[str, str] = {}
_added: dict[str, str] = {}


def _highlight(code: str, language: str, _attrs: str) -> str:
    from pygments import highlight
    from pygments.lexers import PythonLexer, get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        lexer = get_lexer_by_name(language) if language else PythonLexer()
    except ClassNotFound:
        return f'<pre style="{_PRE_STYLE}">{html.escape(code)}</pre>'
    body = highlight(code, lexer, _formatter())
    return f'<pre style="{_PRE_STYLE} font-family: monospace;">{body.rstrip()}</pre>'


@lru_cache(maxsize=1)
def _formatter():  # type: ignore[no-untyped-def]
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter(noclasses=True, nowrap=True, style="friendly")


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    from markdown_it import MarkdownIt

    # "js-default" escapes raw HTML in lesson files: lesson text is content, never markup we trust.
    return MarkdownIt("js-default", {"highlight": _highlight}).enable("table")


def _key(text: str) -> str:
    return hashlib.sha256(f"{RENDERER_VERSION}\0{text}".encode()).hexdigest()[:32]


def render_markdown(text: str, *, remember: bool = True) -> str:
    """`remember=False` for what only teachers see (mark schemes): never kept, so a shared laptop's
    cache only ever holds what pupils are shown anyway."""
    key = _key(text)
    found = _rendered.get(key)
    if found is None:
        found = _parser().render(text)
        if remember:
            _rendered[key] = found
            _added[key] = found
    return found


def remembered(kind: str, text: str) -> str | None:
    """What was kept for `text` as `kind` (another renderer's output, e.g. code highlighting), if any."""
    return _rendered.get(_key(f"{kind}\0{text}"))


def remember(kind: str, text: str, rendering: str) -> None:
    """Keep another renderer's output for `text`, beside the Markdown renderings (and with them)."""
    key = _key(f"{kind}\0{text}")
    _rendered[key] = rendering
    _added[key] = rendering


def load_rendered(rendered: Mapping[str, str]) -> None:
    """Renderings kept from an earlier start (by key, as `take_rendered` gave them)."""
    _rendered.update(rendered)


def take_rendered() -> dict[str, str]:
    """What was rendered since the last call (to keep), by key."""
    added = dict(_added)
    _added.clear()
    return added


def forget_rendered() -> None:
    """At logout: nothing of this user's (a teacher's mark schemes) is kept for the next one."""
    _rendered.clear()
    _added.clear()
