"""A Python editor: monospace, line numbers, syntax highlighting (Pygments tokens), indentation kept on
Enter and deepened after a colon, and an explicit editing mode so the keyboard can pass through it.

Tab belongs to whoever is using it. Reached with Tab (from the lesson or the previous control), the
editor is *not* editing: Tab and Shift+Tab move on, as in any form, and nothing changes. Enter (or any
character typed, or a click) starts editing; then Tab indents and Shift+Tab dedents, four spaces, the
way Thonny and IDLE do, and Backspace in the leading spaces removes one level. Escape stops editing,
so Tab moves on again. Ctrl+Tab / Ctrl+Shift+Tab always leave the editor. `editing_changed` tells the
activity, which shows the hint.

Pygments is imported by the first editor made, not with this module: a lesson without code (and a
teacher's start) never loads it (start-up, docs/performance.md)."""

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
    QWidget,
    Signal,
)

__all__ = ["CodeEditor"]


@lru_cache(maxsize=1)
def _colours() -> list[tuple[object, str, bool]]:
    from pygments.token import Comment, Keyword, Name, Number, Operator, String

    return [
        (Keyword, CODE_TOKENS["keyword"], True),
        (Name.Builtin, CODE_TOKENS["builtin"], False),
        (Name.Function, CODE_TOKENS["function"], False),
        (Name.Class, CODE_TOKENS["function"], True),
        (String, CODE_TOKENS["string"], False),
        (Number, CODE_TOKENS["number"], False),
        (Comment, CODE_TOKENS["comment"], False),
        (Operator.Word, CODE_TOKENS["keyword"], True),
    ]


def _format_for(token: object) -> QTextCharFormat | None:
    for kind, colour, bold in _colours():
        if token in kind:
            fmt = QTextCharFormat()
            fmt.setForeground(QColor(colour))
            if bold:
                fmt.setFontWeight(QFont.Weight.Bold)
            return fmt
    return None


class PythonHighlighter(QSyntaxHighlighter):
    def __init__(self, document) -> None:
        from pygments.lexers import PythonLexer
        from pygments.token import Token

        super().__init__(document)
        self._lexer = PythonLexer(stripnl=False, ensurenl=False)
        self._plain_text = Token.Text
        self._cache: dict[object, QTextCharFormat | None] = {}

    def highlightBlock(self, text: str) -> None:  # noqa: N802 - Qt API
        for start, token, value in self._lexer.get_tokens_unprocessed(text):
            if token is self._plain_text:
                continue
            if token not in self._cache:
                self._cache[token] = _format_for(token)
            fmt = self._cache[token]
            if fmt is not None:
                self.setFormat(start, len(value), fmt)


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
