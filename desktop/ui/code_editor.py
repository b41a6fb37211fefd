"""A Python editor: monospace, line numbers, syntax highlighting (Pygments tokens), indentation kept on
Enter and deepened after a colon, and an explicit editing mode so the keyboard can pass through it.

Tab belongs to whoever is using it. Reached with Tab (from the lesson or the previous control), the
editor is *not* editing: Tab and Shift+Tab move on, as in any form, and nothing changes. Enter (or any
character typed, or a click) starts editing; then Tab indents and Shift+Tab dedents, four spaces, the
way Thonny and IDLE do, and Backspace in the leading spaces removes one level. Escape stops editing,
so Tab moves on again. Ctrl+Tab / Ctrl+Shift+Tab always leave the editor. `editing_changed` tells the
activity, which shows the hint.

Pygments is imported when code is first lexed, not with this module: code highlighted at an earlier
start is highlighted from memory (`PythonHighlighter`), so the first lesson never loads it (start-up,
docs/performance.md)."""

from __future__ import annotations

from functools import lru_cache

from desktop.ui.palette import CODE_TOKENS, GUTTER_BACKGROUND, GUTTER_TEXT
from desktop.ui.qt import (
    QColor,
    QEvent,
    QFont,
    QPainter,
    QPlainTextEdit,
    QRect,
    QSize,
    QSyntaxHighlighter,
    Qt,
    QTextCharFormat,
    QTimer,
    QWidget,
    Signal,
)

__all__ = ["CodeEditor"]


#: The highlighting styles (colour, bold), in the order Pygments' token types are tried (`_token_kinds`).
#: A remembered highlighting stores each span's index in this list.
_STYLES = [
    (CODE_TOKENS["keyword"], True),
    (CODE_TOKENS["builtin"], False),
    (CODE_TOKENS["function"], False),
    (CODE_TOKENS["function"], True),
    (CODE_TOKENS["string"], False),
    (CODE_TOKENS["number"], False),
    (CODE_TOKENS["comment"], False),
    (CODE_TOKENS["keyword"], True),
]
#: The kind of rendering a highlighted text is remembered as (desktop/ui/markdown.py).
HIGHLIGHT_KIND = "python-highlight-1"
#: When code was highlighted from memory, the lexer is made this long after, while the pupil reads,
#: so that the first key typed does not wait for it.
LEXER_WARM_UP_MS = 3000

#: One line's highlighting: (start, length, index in _STYLES) for each coloured token.
Spans = list[tuple[int, int, int]]


@lru_cache(maxsize=1)
def _token_kinds() -> list[object]:
    from pygments.token import Comment, Keyword, Name, Number, Operator, String

    return [Keyword, Name.Builtin, Name.Function, Name.Class, String, Number, Comment, Operator.Word]


@lru_cache(maxsize=1)
def _lexer():  # type: ignore[no-untyped-def]
    """Pygments' Python lexer, compiled once (about 60 ms of CPU on these machines)."""
    from pygments.lexers import PythonLexer

    return PythonLexer(stripnl=False, ensurenl=False)


@lru_cache(maxsize=len(_STYLES))
def _format(style: int) -> QTextCharFormat:
    colour, bold = _STYLES[style]
    fmt = QTextCharFormat()
    fmt.setForeground(QColor(colour))
    if bold:
        fmt.setFontWeight(QFont.Weight.Bold)
    return fmt


_style_by_token: dict[object, int | None] = {}


def _style_of(token: object) -> int | None:
    if token not in _style_by_token:
        kinds = enumerate(_token_kinds())
        _style_by_token[token] = next((style for style, kind in kinds if token in kind), None)  # type: ignore[operator]
    return _style_by_token[token]


def _lex(text: str) -> Spans:
    from pygments.token import Token

    spans: Spans = []
    for start, token, value in _lexer().get_tokens_unprocessed(text):
        if token is Token.Text:
            continue
        style = _style_of(token)
        if style is not None:
            spans.append((start, len(value), style))
    return spans


def _encode(lines: list[Spans]) -> str:
    return "\n".join(" ".join(f"{start},{length},{style}" for start, length, style in line) for line in lines)


def _decode(rendering: str) -> list[Spans] | None:
    try:
        lines = [
            [(int(a), int(b), int(c)) for a, b, c in (span.split(",") for span in line.split())]
            for line in rendering.split("\n")
        ]
    except ValueError:
        return None
    if any(not 0 <= style < len(_STYLES) for line in lines for _start, _length, style in line):
        return None
    return lines


class PythonHighlighter(QSyntaxHighlighter):
    """Pygments' tokens, each line on its own. Code loaded into the editor (a starter, a saved answer)
    is highlighted from what was remembered for the same text at an earlier start, if anything, so the
    first lesson needs neither Pygments nor its lexer (start-up, docs/performance.md); what is typed is
    lexed."""

    def __init__(self, document) -> None:
        super().__init__(document)
        #: The loaded text's lines, with their highlighting (remembered, or lexed once).
        self._known: dict[str, Spans] = {}
        #: The loaded text and its lines while they are lexed for the first time, to remember them.
        self._to_remember: tuple[str, list[str]] | None = None
        self._lines_to_remember: set[str] = set()

    def load(self, text: str) -> None:
        """`text` is about to be the editor's text: use what was remembered for it, else remember it."""
        from desktop.ui.markdown import remembered

        lines = text.split("\n")
        found = remembered(HIGHLIGHT_KIND, text)
        spans = _decode(found) if found is not None else None
        if spans is not None and len(spans) == len(lines):
            self._known = dict(zip(lines, spans, strict=True))
            self._to_remember = None
            _warm_up_later()
        else:
            self._known = {}
            self._to_remember = (text, lines)
        self._lines_to_remember = set(lines) if self._to_remember is not None else set()

    def highlightBlock(self, text: str) -> None:  # noqa: N802 - Qt API
        spans = self._known.get(text)
        if spans is None:
            spans = _lex(text)
            if text in self._lines_to_remember:
                self._known[text] = spans
                self._lines_to_remember.discard(text)
                if not self._lines_to_remember:
                    self._remember()
        for start, length, style in spans:
            self.setFormat(start, length, _format(style))

    def _remember(self) -> None:
        """Every line of the loaded text is lexed: keep its highlighting for the next start."""
        from desktop.ui.markdown import remember

        if self._to_remember is not None:
            text, lines = self._to_remember
            remember(HIGHLIGHT_KIND, text, _encode([self._known[line] for line in lines]))
            self._to_remember = None


_warm_up_scheduled = False


def _warm_up_later() -> None:
    global _warm_up_scheduled  # noqa: PLW0603 - once per process
    if not _warm_up_scheduled:
        _warm_up_scheduled = True
        QTimer.singleShot(LEXER_WARM_UP_MS, _lexer)


class _LineNumberArea(QWidget):
    def __init__(self, editor: CodeEditor) -> None:
        super().__init__(editor)
        self.editor = editor

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(self.editor.line_number_width(), 0)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.editor.paint_line_numbers(event)


INDENT = "    "


class CodeEditor(QPlainTextEdit):
    run_requested = Signal()
    editing_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        font = QFont("DejaVu Sans Mono")
        font.setStyleHint(QFont.StyleHint.Monospace)
        font.setPointSizeF(self.font().pointSizeF())
        self.setFont(font)
        self.setProperty("post16_monospace", True)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setTabChangesFocus(False)
        self._numbers = _LineNumberArea(self)
        self._highlighter = PythonHighlighter(self.document())
        self.blockCountChanged.connect(self._update_margin)
        self.updateRequest.connect(self._update_numbers)
        self._update_margin()
        self.setAccessibleName("Code editor")
        self.editing = False
        self._describe()

    def setPlainText(self, text: str) -> None:  # noqa: N802 - Qt API
        self._highlighter.load(text)
        super().setPlainText(text)

    def _describe(self) -> None:
        if self.editing:
            hint = "Editing: Tab indents. Esc stops editing, then Tab moves on. Ctrl+Enter runs the code."
        else:
            hint = "Enter to edit the code, Tab to move on. Ctrl+Enter runs the code."
        self.setAccessibleDescription(f"Python code. {hint}")
        self.setToolTip(hint)

    def set_editing(self, editing: bool) -> None:
        if editing != self.editing:
            self.editing = editing
            self._describe()
            self.editing_changed.emit(editing)

    def focusInEvent(self, event) -> None:  # noqa: N802 - Qt API
        reason = event.reason()
        if reason in (Qt.FocusReason.TabFocusReason, Qt.FocusReason.BacktabFocusReason):
            self.set_editing(False)
        elif reason == Qt.FocusReason.MouseFocusReason:
            self.set_editing(True)
        super().focusInEvent(event)

    def focusOutEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.reason() not in (Qt.FocusReason.ActiveWindowFocusReason, Qt.FocusReason.PopupFocusReason):
            self.set_editing(False)
        super().focusOutEvent(event)

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._update_margin()

    def line_number_width(self) -> int:
        digits = max(2, len(str(self.blockCount())))
        return 12 + self.fontMetrics().horizontalAdvance("9") * digits

    def _update_margin(self, _count: int = 0) -> None:
        self.setViewportMargins(self.line_number_width(), 0, 0, 0)

    def _update_numbers(self, rect: QRect, dy: int) -> None:
        if dy:
            self._numbers.scroll(0, dy)
        else:
            self._numbers.update(0, rect.y(), self._numbers.width(), rect.height())

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        area = self.contentsRect()
        self._numbers.setGeometry(QRect(area.left(), area.top(), self.line_number_width(), area.height()))

    def paint_line_numbers(self, event) -> None:
        painter = QPainter(self._numbers)
        painter.fillRect(event.rect(), QColor(GUTTER_BACKGROUND))
        painter.setPen(QColor(GUTTER_TEXT))
        block = self.firstVisibleBlock()
        number = block.blockNumber()
        top = round(self.blockBoundingGeometry(block).translated(self.contentOffset()).top())
        bottom = top + round(self.blockBoundingRect(block).height())
        height = self.fontMetrics().height()
        while block.isValid() and top <= event.rect().bottom():
            if block.isVisible() and bottom >= event.rect().top():
                painter.drawText(
                    0, top, self._numbers.width() - 6, height, Qt.AlignmentFlag.AlignRight, str(number + 1)
                )
            block = block.next()
            top = bottom
            bottom = top + round(self.blockBoundingRect(block).height())
            number += 1
        painter.end()

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt API
        key, modifiers = event.key(), event.modifiers()
        control = bool(modifiers & Qt.KeyboardModifier.ControlModifier)
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and control:
            self.run_requested.emit()
            return
        if key == Qt.Key.Key_Tab and control:
            self.leave(forward=True)
            return
        if key == Qt.Key.Key_Backtab and control:
            self.leave(forward=False)
            return
        if not self.editing:
            if key == Qt.Key.Key_Tab:
                self.leave(forward=True)
                return
            if key == Qt.Key.Key_Backtab:
                self.leave(forward=False)
                return
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not modifiers:
                self.set_editing(True)
                return
            if key == Qt.Key.Key_Escape:
                event.ignore()
                return
            if event.text() and event.text().isprintable() and not control:
                self.set_editing(True)  # typing is editing; the character goes in below
            else:
                super().keyPressEvent(event)  # arrows, Page Down, Ctrl+C: reading, not editing
                return
        if key == Qt.Key.Key_Escape:
            self.set_editing(False)
            return
        if key == Qt.Key.Key_Tab and not modifiers:
            self._indent()
            return
        if key == Qt.Key.Key_Backtab:
            self._dedent()
            return
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not modifiers:
            self._new_line()
            return
        if key == Qt.Key.Key_Backspace and not modifiers and self._backspace_indent():
            return
        super().keyPressEvent(event)

    def _backspace_indent(self) -> bool:
        """Backspace in a line's leading spaces removes one indentation level, as Python editors do."""
        cursor = self.textCursor()
        if cursor.hasSelection():
            return False
        before = cursor.block().text()[: cursor.positionInBlock()]
        if not before or before.strip(" "):
            return False
        remove = len(before) % len(INDENT) or len(INDENT)
        cursor.beginEditBlock()
        for _ in range(remove):
            cursor.deletePreviousChar()
        cursor.endEditBlock()
        self.setTextCursor(cursor)
        return True

    def leave(self, *, forward: bool) -> None:
        """Move focus to the next (or previous) control; QPlainTextEdit refuses while it takes Tab."""
        self.set_editing(False)
        self.setTabChangesFocus(True)
        try:
            self.focusNextPrevChild(forward)
        finally:
            self.setTabChangesFocus(False)

    # -- indentation ------------------------------------------------------------------------------

    def _new_line(self) -> None:
        """Keep the line's indentation; one level deeper after a line ending in a colon."""
        cursor = self.textCursor()
        line = cursor.block().text()[: cursor.positionInBlock()]
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        code = line.split("#", 1)[0].rstrip()
        if code.endswith(":"):
            indent += INDENT
        cursor.insertText("\n" + indent)
        self.setTextCursor(cursor)

    def _indent(self) -> None:
        cursor = self.textCursor()
        if not cursor.hasSelection():
            cursor.insertText(INDENT)
            return
        self._for_selected_lines(lambda block_cursor, _text: block_cursor.insertText(INDENT))

    def _dedent(self) -> None:
        def remove(block_cursor, text: str) -> None:
            spaces = len(text) - len(text.lstrip(" "))
            for _ in range(min(len(INDENT), spaces)):
                block_cursor.deleteChar()

        self._for_selected_lines(remove)

    def _for_selected_lines(self, change) -> None:
        cursor = self.textCursor()
        document = self.document()
        first = document.findBlock(cursor.selectionStart())
        last = document.findBlock(cursor.selectionEnd())
        if cursor.hasSelection() and last.position() == cursor.selectionEnd() and last != first:
            last = last.previous()  # a selection ending at a line's start leaves that line alone
        cursor.beginEditBlock()
        block = first
        while block.isValid():
            line_cursor = self.textCursor()
            line_cursor.setPosition(block.position())
            change(line_cursor, block.text())
            if block == last:
                break
            block = block.next()
        cursor.endEditBlock()
