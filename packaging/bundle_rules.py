"""What the desktop bundle must leave out: read by the PyInstaller spec and by the packaging tests.

The desktop app talks HTTP to the server and never imports it (docs/architecture.md), but the development
environment PyInstaller runs in holds the server's packages too, and an optional import somewhere could
drag one in. So they are excluded by name here, and the test scans the built folder for them.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable

__all__ = [
    "EXCLUDED_MODULES",
    "PUPIL_STANDARD_LIBRARY",
    "QT_DROP_PATTERNS",
    "SERVER_PACKAGES",
    "drop_unwanted",
    "prune_orphans",
]

#: The server's dependencies (and ours): never in the desktop bundle.
SERVER_PACKAGES = (
    "server",
    "sandbox",
    "litestar",
    "sqlalchemy",
    "alembic",
    "psycopg",
    "psycopg_binary",
    "psycopg_c",
    "psycopg_pool",
    "docker",
    "uvicorn",
    "uvloop",
    "httptools",
    "watchfiles",
    "websockets",
    "argon2",
    "_argon2_cffi_bindings",
    "aiosqlite",
    "prometheus_client",
    "mako",
    "jinja2",
    "asyncpg",
)

#: Development tools and standard-library pieces the app never uses.
_DEVELOPMENT = (
    "pytest",
    "_pytest",
    "pytestqt",
    "hypothesis",
    "schemathesis",
    "playwright",
    "mypy",
    "mypyc",
    "PyInstaller",
    "pyinstrument",
    "faker",
    "IPython",
    "tkinter",
    "_tkinter",
    "turtle",
    "pydoc_data",
    "lib2to3",
    "unittest",
    "numpy",
    "yaml",
    "rich",
    "rich_click",
)

#: Qt's Python modules the app does not import (desktop/ui/qt.py is the one import point).
_UNUSED_QT = tuple(
    f"PySide6.{module}"
    for module in (
        "QtNetwork",
        "QtQml",
        "QtQuick",
        "QtQuickControls2",
        "QtQuickWidgets",
        "QtQuickTest",
        "QtOpenGL",
        "QtOpenGLWidgets",
        "QtSql",
        "QtTest",
        "QtXml",
        "QtSvg",
        "QtSvgWidgets",
        "QtDesigner",
        "QtHelp",
        "QtUiTools",
        "QtConcurrent",
        "QtPrintSupport",
        "QtLabsStyleKit",
        "QtQmlFeatures",
    )
)

EXCLUDED_MODULES = [*SERVER_PACKAGES, *_DEVELOPMENT, *_UNUSED_QT]

#: Standard-library modules an A-level pupil's program may import when it runs on the laptop through
#: the bundle (`--run-program`): PyInstaller only collects what the app imports, so these are named.
PUPIL_STANDARD_LIBRARY = [
    "array", "bisect", "calendar", "cmath", "collections", "copy", "csv", "dataclasses", "datetime",
    "decimal", "enum", "fractions", "functools", "hashlib", "heapq", "itertools", "json", "math",
    "operator", "os", "pathlib", "pprint", "queue", "random", "re", "secrets", "sqlite3", "statistics",
    "string", "struct", "sys", "textwrap", "time", "timeit", "typing",
]  # fmt: skip

#: Files (destination paths inside the bundle, `/` separated) to leave out of the collected Qt. Their
#: own dependencies go with them: PyInstaller resolves shared libraries after the spec filters the lists.
QT_DROP_PATTERNS: tuple[str, ...] = (
    # The UI is English only: Qt's own translations (7 MB) are never loaded.
    "PySide6/Qt/translations/*",
    # The GTK 3 theme drags in GTK, GDK, Cairo, Pango and ATK (about 20 MB); Qt's Fusion style is used.
    "PySide6/Qt/plugins/platformthemes/libqgtk3.so",
    # Embedded-device platforms and input drivers (no window system); xcb, wayland and offscreen stay.
    "PySide6/Qt/plugins/platforms/libqeglfs.so",
    "PySide6/Qt/plugins/platforms/libqlinuxfb.so",
    "PySide6/Qt/plugins/platforms/libqminimal.so",
    "PySide6/Qt/plugins/platforms/libqminimalegl.so",
    "PySide6/Qt/plugins/platforms/libqvnc.so",
    "PySide6/Qt/plugins/platforms/libqvkkhrdisplay.so",
    "PySide6/Qt/plugins/egldeviceintegrations/*",
    "PySide6/Qt/plugins/generic/*",
    # No SVG images in the UI (the window icon is a PNG).
    "PySide6/Qt/plugins/imageformats/libqsvg.*",
    "PySide6/Qt/plugins/iconengines/libqsvgicon.*",
    # Windows: the software OpenGL fallback (20 MB) is not needed by a widgets app.
    "PySide6/opengl32sw.dll",
    "PySide6/Qt/bin/opengl32sw.dll",
)


def drop_unwanted(
    entries: Iterable[tuple[str, str, str]], patterns: Iterable[str]
) -> list[tuple[str, str, str]]:
    """PyInstaller's TOC entries (dest, source, kind) minus those whose destination matches a pattern."""
    patterns = tuple(patterns)
    return [
        entry
        for entry in entries
        if not any(fnmatch.fnmatch(entry[0].replace("\\", "/"), pattern) for pattern in patterns)
    ]


def _is_shared_library(destination: str) -> bool:
    """A library that is in the bundle only because something links to it (not a plugin or module)."""
    name = destination.rsplit("/", 1)[-1]
    in_library_folder = "/" not in destination or destination.startswith("PySide6/Qt/lib/")
    return in_library_folder and ".so" in name and not name.startswith("libpython")


def prune_orphans(
    entries: Iterable[tuple[str, str, str]], needed_by: Callable[[str], Iterable[str]]
) -> list[tuple[str, str, str]]:
    """Linux: drop shared libraries no remaining module or plugin needs.

    PyInstaller resolves dependencies before the spec can drop a plugin, so the libraries only that
    plugin used (GTK for the GTK theme, ...) would stay behind. `needed_by(path)` names every library a
    file loads, directly or not (ldd's view); anything not named by a kept module or plugin goes.
    """
    entries = list(entries)
    libraries = {entry[0].rsplit("/", 1)[-1]: entry for entry in entries if _is_shared_library(entry[0])}
    pending = [source for destination, source, _kind in entries if not _is_shared_library(destination)]
    needed: set[str] = set()
    while pending:
        for name in needed_by(pending.pop()):
            base = name.rsplit("/", 1)[-1]
            if base in libraries and base not in needed:
                needed.add(base)
                pending.append(libraries[base][1])
    return [
        entry
        for entry in entries
        if not _is_shared_library(entry[0]) or entry[0].rsplit("/", 1)[-1] in needed
    ]
