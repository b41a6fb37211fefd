"""Plain http:// sends the password and the bearer token readable on the school network: the app
accepts it only for this computer itself, or for the one address IT allowed, and then says so."""

from __future__ import annotations

from pathlib import Path

import pytest
from desktop_fakes import PASSWORD, FakeServer
from desktop_windows import USERS

from desktop.core.client import ApiClient
from desktop.core.credentials import TokenVault
from desktop.core.engine import SyncEngine
from desktop.core.errors import DesktopError
from desktop.core.session import Session, SessionManager, store_path
from desktop.core.settings import Settings, check_server_url, load_settings, write_machine_config
from desktop.core.store import Store
from desktop.main import main

SCHOOL_HTTP = "http://lessons.school.example"


@pytest.fixture
def config_env(tmp_path: Path) -> dict[str, str]:
    return {
        "HOME": str(tmp_path),
        "POST16_DESKTOP_MACHINE_CONFIG": str(tmp_path / "machine.toml"),
        "POST16_DESKTOP_CONFIG": str(tmp_path / "user.toml"),
    }


@pytest.mark.parametrize(
    "url",
    ["https://lessons.school.example", "http://localhost:8000", "http://127.0.0.1:9", "http://[::1]:8000"],
)
def test_https_and_this_computer_are_accepted_without_a_warning(url: str) -> None:
    address = check_server_url(url + "/")
    assert address.url == url
    assert address.warning is None


def test_plain_http_to_a_school_server_is_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match=r"not encrypted \(http://\)") as refused:
        check_server_url(SCHOOL_HTTP)
    assert "https://" in str(refused.value)
    assert "--allow-insecure-http" in str(refused.value)


def test_login_to_plain_http_fails_before_the_password_is_sent(settings: Settings, vault: TokenVault) -> None:
    server = FakeServer()
    manager = SessionManager(settings, transport=server.transport(), vault=vault)
    with pytest.raises(DesktopError, match="not encrypted"):
        manager.login(SCHOOL_HTTP, "pupil", PASSWORD)
    assert server.requests == []


def test_it_can_allow_one_http_address_for_the_machine_with_a_warning(
    config_env: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in config_env.items():
        monkeypatch.setenv(name, value)
    assert main(["--configure-machine", "--server", SCHOOL_HTTP]) == 1
    assert "not encrypted" in capsys.readouterr().err
    assert not Path(config_env["POST16_DESKTOP_MACHINE_CONFIG"]).exists()

    assert main(["--configure-machine", "--server", SCHOOL_HTTP, "--allow-insecure-http"]) == 0
    assert "warning: plain http:// allowed" in capsys.readouterr().err
    settings = load_settings(env=config_env)
    assert settings.insecure_http_allowed_for == SCHOOL_HTTP
    allowed = check_server_url(SCHOOL_HTTP, settings.insecure_http_allowed_for)
    assert allowed.warning is not None
    assert "Not encrypted" in allowed.warning
    with pytest.raises(ValueError, match="not encrypted"):
        check_server_url("http://elsewhere.example", settings.insecure_http_allowed_for)


def test_only_the_machine_wide_config_can_allow_http(config_env: dict[str, str]) -> None:
    user = Path(config_env["POST16_DESKTOP_CONFIG"])
    user.write_text(f'server_url = "{SCHOOL_HTTP}"\nallow_insecure_http = true\n', encoding="utf-8")
    settings = load_settings(env=config_env)
    assert settings.insecure_http_allowed_for is None
    assert any("can only be set by IT" in problem for problem in settings.problems)


def test_write_machine_config_refuses_http_unless_allowed(tmp_path: Path) -> None:
    machine = tmp_path / "desktop.toml"
    with pytest.raises(ValueError, match="not encrypted"):
        write_machine_config(SCHOOL_HTTP, machine)
    assert not machine.exists()
    write_machine_config("http://localhost:8000", machine)  # this computer: fine
    assert 'server_url = "http://localhost:8000"' in machine.read_text(encoding="utf-8")


@pytest.mark.qt
def test_login_dialog_refuses_http_and_warns_about_an_allowed_one(qtbot, tmp_path: Path) -> None:
    from desktop.ui.login import LoginDialog

    plain = Settings(data_dir=tmp_path / "a")
    dialog = LoginDialog(SessionManager(plain), server_url=SCHOOL_HTTP, username="pupil")
    qtbot.addWidget(dialog)
    dialog.password.setText(PASSWORD)
    dialog.login_button.click()
    qtbot.waitUntil(lambda: "not encrypted" in dialog.error.text())
    assert dialog.session is None
    assert dialog.security.isHidden()

    allowed = Settings(data_dir=tmp_path / "b", insecure_http_allowed_for=SCHOOL_HTTP)
    warned = LoginDialog(SessionManager(allowed), server_url=SCHOOL_HTTP, username="pupil")
    qtbot.addWidget(warned)
    assert not warned.security.isHidden()
    assert "Not encrypted" in warned.security.text()
    warned.server.setText("https://lessons.school.example")
    assert warned.security.isHidden()


@pytest.mark.qt
def test_main_window_shows_not_encrypted_while_connected_over_allowed_http(qtbot, tmp_path: Path) -> None:
    from desktop.ui.main_window import MainWindow

    settings = Settings(data_dir=tmp_path, insecure_http_allowed_for=SCHOOL_HTTP)
    user = USERS["pupil"]
    store = Store.open(store_path(tmp_path, SCHOOL_HTTP, "pupil"))
    store.set_meta("user_id", str(user.id))
    client = ApiClient(SCHOOL_HTTP, token="not-a-real-token")
    session = Session(SCHOOL_HTTP, user, client, store, SyncEngine(store, client), verified=False)
    window = MainWindow(SessionManager(settings), session, settings, start_sync=False)
    qtbot.addWidget(window)
    window.show()
    try:
        assert window.status_bar.insecure.isVisible()
        assert "Not encrypted" in window.status_bar.insecure.toolTip()
    finally:
        window.shutdown()
        session.close()
