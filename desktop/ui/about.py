"""Help → About: the app's version and where it is pointed, for a pupil reading it out to IT."""

from __future__ import annotations

import html
import platform

from desktop import __version__
from desktop.core.settings import Settings, machine_config_path
from desktop.ui.qt import QMessageBox, QWidget, qt_version
from shared.protocol import PROTOCOL_VERSION

__all__ = ["about_text", "show_about"]


def about_text(settings: Settings, server_url: str | None, username: str | None) -> str:
    rows = [
        ("Version", f"{__version__} (sync protocol {PROTOCOL_VERSION})"),
        ("Server", server_url or settings.server_url or "not set"),
        ("Logged in as", username or "nobody"),
        ("Answers kept in", str(settings.data_dir)),
        ("Machine settings", str(machine_config_path())),
        ("Built with", f"Python {platform.python_version()}, Qt {qt_version()}"),
    ]
    cells = "".join(
        f"<tr><td><b>{html.escape(name)}</b>&nbsp;</td><td>{html.escape(value)}</td></tr>"
        for name, value in rows
    )
    return f"<h3>Post16 Lessons {html.escape(__version__)}</h3><table>{cells}</table>"


def show_about(parent: QWidget, settings: Settings, server_url: str | None, username: str | None) -> None:
    QMessageBox.about(parent, "About Post16 Lessons", about_text(settings, server_url, username))
