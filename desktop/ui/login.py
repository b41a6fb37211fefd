"""The login dialog: server address and username are remembered; the password never is."""

from __future__ import annotations

from desktop.core.errors import DesktopError, OfflineError, RateLimitedError, SessionExpiredError
from desktop.core.session import Session, SessionManager
from desktop.ui.background import run_in_background
from desktop.ui.palette import ERROR_TEXT, WARNING_TEXT
from desktop.ui.qt import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

__all__ = ["LoginDialog", "login_error_text"]


def login_error_text(error: Exception) -> str:
    if isinstance(error, SessionExpiredError):
        return "Wrong username or password."
    if isinstance(error, OfflineError):
        return f"{error} Check the address and your connection."
    if isinstance(error, RateLimitedError):
        return f"Too many attempts. Try again in {error.retry_after:.0f} seconds."
    if isinstance(error, DesktopError):
        return str(error)
    return f"Could not log in: {error}"


class LoginDialog(QDialog):
    """Log in as a new session, or (`relogin_session`) as the same user whose session expired."""

    def __init__(
        self,
        manager: SessionManager,
        *,
        server_url: str = "",
        username: str = "",
        relogin_session: Session | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.manager = manager
        self.relogin_session = relogin_session
        self.session: Session | None = None
        self.setWindowTitle("Log in to Post16 Lessons")
        self.setAccessibleName("Log in")
        layout = QVBoxLayout(self)
        if relogin_session is not None:
            intro = QLabel("Your session has ended. Log in again to send the work waiting on this computer.")
            intro.setWordWrap(True)
            layout.addWidget(intro)
        form = QFormLayout()
        self.server = QLineEdit(server_url)
        self.server.setPlaceholderText("https://lessons.school.example")
        self.server.setAccessibleName("Server address")
        self.username = QLineEdit(username)
        self.username.setAccessibleName("Username")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setAccessibleName("Password")
        if relogin_session is not None:
            self.server.setReadOnly(True)
            self.username.setReadOnly(True)
        form.addRow("&Server:", self.server)
        form.addRow("&Username:", self.username)
        form.addRow("&Password:", self.password)
        layout.addLayout(form)
        self.security = QLabel("")
        self.security.setWordWrap(True)
        self.security.setStyleSheet(f"color: {WARNING_TEXT};")
        self.security.setAccessibleName("Connection security")
        layout.addWidget(self.security)
        self.server.textChanged.connect(self._check_security)
        self._check_security()
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {ERROR_TEXT};")
        self.error.setAccessibleName("Login problem")
        layout.addWidget(self.error)
        buttons = QDialogButtonBox()
        self.login_button = QPushButton("Log in")
        self.login_button.setDefault(True)
        self.login_button.setAccessibleName("Log in")
        buttons.addButton(self.login_button, QDialogButtonBox.ButtonRole.AcceptRole)
        cancel = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        cancel.setAccessibleName("Cancel")
        self.login_button.clicked.connect(self.attempt)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        (
            self.password if username and server_url else self.server if not server_url else self.username
        ).setFocus()

    def _check_security(self) -> None:
        """Say at once when the address is plain http:// that IT allowed (never silently)."""
        try:
            warning = self.manager.check_address(self.server.text()).warning
        except DesktopError:
            warning = None  # refused with the reason when the pupil tries to log in
        self.security.setText(f"⚠ {warning}" if warning else "")
        self.security.setVisible(bool(warning))

    def attempt(self) -> None:
        server, username, password = (
            self.server.text().strip(),
            self.username.text().strip(),
            self.password.text(),
        )
        if not server or not username or not password:
            self.error.setText("Enter the server address, your username and your password.")
            return
        self.login_button.setEnabled(False)
        self.error.setText("Logging in…")
        if self.relogin_session is not None:
            session = self.relogin_session
            run_in_background(
                lambda: self.manager.relogin(session, password), lambda _: self._done(session), self._failed
            )
        else:
            run_in_background(
                lambda: self.manager.login(server, username, password), self._done, self._failed
            )

    def _done(self, session: Session) -> None:
        self.session = session
        self.password.clear()
        self.accept()

    def _failed(self, error: Exception) -> None:
        self.login_button.setEnabled(True)
        self.password.selectAll()
        self.error.setText(login_error_text(error))
