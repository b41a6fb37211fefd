"""Starting the GUI: the Qt application, fonts, log in (or resume), the main window."""

from __future__ import annotations

import dataclasses
import sys

from desktop.core.session import SessionManager
from desktop.core.settings import Settings
from desktop.ui.background import wait_for_background
from desktop.ui.login import LoginDialog
from desktop.ui.main_window import MainWindow
from desktop.ui.qt import QApplication, QGuiApplication, Qt

__all__ = ["configure_high_dpi", "run_gui"]


def configure_high_dpi() -> None:
    """Fractional scale factors (125 %, 150 %) used as they are, not rounded: Qt reads this policy only
    when the application object is created, so it must be set before."""
    if QGuiApplication.instance() is None:
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)


def _application(settings: Settings) -> QApplication:
    configure_high_dpi()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Post16 Lessons")
    app.setOrganizationName("Post16")
    app.setApplicationDisplayName("Post16 Lessons")
    # The system font (and its size) is the base; the user's scale multiplies it (Ctrl++ / Ctrl+-).
    font = app.font()
    base = font.pointSizeF()
    font.setPointSizeF(base * settings.font_scale)
    app.setFont(font)
    app.setProperty("post16_base_point_size", base)
    return app


def run_gui(settings: Settings) -> int:
    app = _application(settings)
    manager = SessionManager(settings)
    for problem in settings.problems:
        print(f"post16-desktop: {problem}", file=sys.stderr)
    while True:
        session = None
        if settings.server_url and settings.username:
            try:
                # What this computer holds first (no request before the first lesson is on screen);
                # the first sync checks the token. Else the usual resume, which asks the server.
                session = manager.open_cached(settings.server_url, settings.username) or manager.resume(
                    settings.server_url, settings.username
                )
            except Exception as error:  # a broken token store must not stop the app: ask to log in
                print(f"post16-desktop: could not resume the session: {error}", file=sys.stderr)
        if session is None:
            dialog = LoginDialog(
                manager, server_url=settings.server_url or "", username=settings.username or ""
            )
            if dialog.exec() != LoginDialog.DialogCode.Accepted or dialog.session is None:
                return 0
            session = dialog.session
        window = MainWindow(
            manager, session, settings, base_point_size=float(app.property("post16_base_point_size"))
        )
        for problem in settings.problems:
            window.notifications.notify("warning", f"Settings: {problem}")
        window.show()
        if window.lesson_model.rowCount():
            window.open_lesson(0)
        code = app.exec()
        window.shutdown()
        wait_for_background(5000)
        if not window.logged_out_by_user:
            session.close()
            return int(code)
        window.deleteLater()  # already emptied and hidden by the logout, before the dialog below
        # Logged out: offer the login dialog again (another pupil may use this laptop next).
        settings = manager.settings = dataclasses.replace(settings, username=None)
