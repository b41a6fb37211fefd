"""The one place PySide6 is imported (a later Qt binding or version change touches only this file)."""

import sys

from PySide6.QtCore import (
    QAbstractListModel,
    QAbstractTableModel,
    QDateTime,
    QEvent,
    QEventLoop,
    QModelIndex,
    QObject,
    QPoint,
    QRect,
    QRunnable,
    QSettings,
    QSize,
    Qt,
    QThread,
    QThreadPool,
    QTimer,
    Signal,
    Slot,
    qVersion,
)
from PySide6.QtGui import (
    QAccessible,
    QAction,
    QColor,
    QFont,
    QFontInfo,
    QGuiApplication,
    QKeySequence,
    QPainter,
    QPalette,
    QShortcut,
    QSyntaxHighlighter,
    QTextCharFormat,
    QTextCursor,
    QTextFormat,
)
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QStatusBar,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTextEdit,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

__all__ = [
    "QAbstractButton",
    "QAbstractItemView",
    "QAbstractListModel",
    "QAbstractSpinBox",
    "QAbstractTableModel",
    "QAccessible",
    "QAction",
    "QApplication",
    "QButtonGroup",
    "QCheckBox",
    "QColor",
    "QComboBox",
    "QDateTime",
    "QDateTimeEdit",
    "QDialog",
    "QDialogButtonBox",
    "QDoubleSpinBox",
    "QEvent",
    "QEventLoop",
    "QFileDialog",
    "QFont",
    "QFontInfo",
    "QFormLayout",
    "QFrame",
    "QGuiApplication",
    "QHBoxLayout",
    "QHeaderView",
    "QKeySequence",
    "QLabel",
    "QLineEdit",
    "QListView",
    "QListWidget",
    "QListWidgetItem",
    "QMainWindow",
    "QMenu",
    "QMessageBox",
    "QModelIndex",
    "QObject",
    "QPainter",
    "QPalette",
    "QPlainTextEdit",
    "QPoint",
    "QProgressBar",
    "QPushButton",
    "QRadioButton",
    "QRect",
    "QRunnable",
    "QScrollArea",
    "QSettings",
    "QShortcut",
    "QSize",
    "QSizePolicy",
    "QSplitter",
    "QStackedWidget",
    "QStatusBar",
    "QSyntaxHighlighter",
    "QTabWidget",
    "QTableView",
    "QTableWidget",
    "QTableWidgetItem",
    "QTextCharFormat",
    "QTextCursor",
    "QTextEdit",
    "QTextFormat",
    "QThread",
    "QThreadPool",
    "QTimer",
    "QToolButton",
    "QTreeWidget",
    "QTreeWidgetItem",
    "QVBoxLayout",
    "QWidget",
    "Qt",
    "Signal",
    "Slot",
    "qt_version",
]


#: References added to None, True and False on CPython before 3.12 (see `_pin_singletons`).
PINNED_REFERENCES = 1 << 40


def _pin_singletons() -> None:
    """Keep None, True and False alive whatever PySide6's reference counting does to them.

    PySide6 6.12.0 (not 6.11.3) drops a reference it does not own on every `Signal.emit()` called from
    Python (to the True it returns) and on every empty QVariant handed back to Python (to None:
    `QModelIndex.data()` with nothing for that role, `QObject.property()` of an unset name,
    `QComboBox.currentData()` of an item without data): measured here, one reference per call. From
    CPython 3.12 these objects are immortal and nothing happens; on 3.11 (the app's floor) True starts
    with about 2,700 references in this app and None with about 13,000, so after that many calls the
    count reaches zero and the
    interpreter aborts ("Fatal Python error: none_dealloc" or "bool_dealloc"), often at quit, when the
    garbage collector runs (issue 16). Adding 2**40 references to each, once, before any thread starts,
    does on 3.11 what 3.12 does for every object of this kind: they can never be freed.
    tests/unit/desktop/test_desktop_quit.py makes each leaking call 200,000 times."""
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return
    import ctypes

    for singleton in (None, True, False):
        ctypes.c_ssize_t.from_address(id(singleton)).value += PINNED_REFERENCES


_pin_singletons()


def qt_version() -> str:
    """The Qt library's version at run time (shown in Help → About)."""
    return str(qVersion())
