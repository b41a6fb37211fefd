"""A Python editor: line numbers, syntax highlighting (Pygments tokens), Tab as four spaces."""

from __future__ import annotations

from pygments.lexers import PythonLexer
from pygments.token import Comment, Keyword, Name, Number, Operator, String, Token

from desktop.ui.qt import (
    QColor,
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

_COLOURS = [
    (Keyword, "#7a3e9d", True),
    (Name.Builtin, "#1f6f8b", False),
    (Name.Function, "#1a5fb4", False),
    (Name.Class, "#1a5fb4", True),
    (String, "#2e7d32", False),
    (Number, "#b5651d", False),
    (Comment, "#6a737d", False),
    (Operator.Word, "#7a3e9d", True),
]


def _format_for(token: object) -> QTextCharFormat | None:
    for kind, colour, bold in _COLOURS:
        if token in kind:
            fmt = QTextCharFormat()
            fmt.setForeground(QColor(colour))
            if bold:
                fmt.setFontWeight(QFont.Weight.Bold)
            return fmt
    return None


class PythonHighlighter(QSyntaxHighlighter):
    def __init__(self, document) -> None:
        super().__init__(document)
        self._lexer = PythonLexer(stripnl=False, ensurenl=False)
        self._cache: dict[object, QTextCharFormat | None] = {}

    def highlightBlock(self, text: str) -> None:  # noqa: N802 - Qt API
        for start, token, value in self._lexer.get_tokens_unprocessed(text):
            if token is Token.Text:
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


class CodeEditor(QPlainTextEdit):
    run_requested = Signal()

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
        self.setAccessibleDescription("Python code. Ctrl+Enter runs it. Ctrl+Tab moves to the next control.")

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
        painter.fillRect(event.rect(), QColor("#eef1f4"))
        painter.setPen(QColor("#6a737d"))
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
        modifiers = event.modifiers()
        if (
            event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and modifiers & Qt.KeyboardModifier.ControlModifier
        ):
            self.run_requested.emit()
            return
        if event.key() == Qt.Key.Key_Tab and not modifiers:
            self.insertPlainText("    ")
            return
        if event.key() == Qt.Key.Key_Tab and modifiers & Qt.KeyboardModifier.ControlModifier:
            self.focusNextChild()
            return
        if event.key() == Qt.Key.Key_Backtab:
            self.focusPreviousChild()
            return
        super().keyPressEvent(event)
