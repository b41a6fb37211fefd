"""The app says which version it is (for IT and for the server's protocol check), and installers can set
the machine-wide server address through the app itself."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from desktop import __version__
from desktop.core.client import USER_AGENT
from desktop.core.settings import load_settings, write_machine_config
from desktop.main import main
from shared.protocol import PROTOCOL_VERSION

REPO = Path(__file__).resolve().parents[3]


def test_version_matches_the_project_version() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert __version__ == project["version"]
    assert USER_AGENT.startswith(f"post16-desktop/{__version__} ")


def test_version_option_prints_app_and_protocol_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"post16-desktop {__version__} (protocol {PROTOCOL_VERSION})"


def test_configure_machine_writes_the_server_every_user_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    machine = tmp_path / "etc" / "post16" / "desktop.toml"
    machine.parent.mkdir(parents=True)
    machine.write_text('timeout_seconds = 20\nserver_url = "https://old.example"\n', encoding="utf-8")
    monkeypatch.setenv("POST16_DESKTOP_MACHINE_CONFIG", str(machine))
    monkeypatch.setenv("POST16_DESKTOP_CONFIG", str(tmp_path / "user.toml"))
    monkeypatch.delenv("POST16_SERVER_URL", raising=False)

    assert main(["--configure-machine", "--server", "https://lessons.school.example/"]) == 0

    settings = load_settings()
    assert settings.server_url == "https://lessons.school.example"
    assert settings.timeout_seconds == 20.0  # the file's other keys are kept
    assert settings.origins["server_url"] == str(machine)
    assert machine.stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("address", ["lessons.school.example", "ftp://lessons.example", 'https://a"b', ""])
def test_configure_machine_refuses_what_is_not_a_server_address(tmp_path: Path, address: str) -> None:
    machine = tmp_path / "desktop.toml"
    with pytest.raises(ValueError, match="not a server address"):
        write_machine_config(address, machine)
    assert not machine.exists()


def test_configure_machine_without_a_server_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--configure-machine"]) == 2
    assert "--configure-machine needs --server URL" in capsys.readouterr().err
