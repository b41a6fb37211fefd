"""`docker compose config` accepts the production stack alone and with monitoring, in a copy of the
repository's deployment files with the secrets and .env an installer would create."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from ops_helpers import REPO

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _compose() -> tuple[list[str], int]:
    """The compose command and its major version: the Docker CLI plugin, else a docker-compose binary
    (Debian's docker-compose package is v1)."""
    candidates = [["docker", "compose"], ["docker-compose"]]
    for command in candidates:
        if not shutil.which(command[0]):
            continue
        result = subprocess.run([*command, "version"], capture_output=True, text=True, check=False)
        match = re.search(r"version v?(\d+)\.", result.stdout)
        if result.returncode == 0 and match:
            return command, int(match.group(1))
    message = "no Docker Compose (plugin or docker-compose); scripts/provision.sh installs docker-compose"
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture
def deployment(tmp_path: Path) -> Path:
    """What an installer has: the compose files, deploy/, a .env and the secret files."""
    for name in ("compose.yml", "compose.monitoring.yml", ".env.example"):
        shutil.copy(REPO / name, tmp_path / name)
    shutil.copytree(REPO / "deploy", tmp_path / "deploy")
    (tmp_path / ".env").write_text(
        (REPO / ".env.example").read_text(encoding="utf-8")
        + "\nPOST16_METRICS_TOKEN=0123456789abcdef0123456789abcdef\n",
        encoding="utf-8",
    )
    secrets = tmp_path / "secrets"
    secrets.mkdir(mode=0o700)
    for name, value in (
        ("db_password", "a-long-random-database-password"),
        ("metrics_token", "0123456789abcdef0123456789abcdef"),
        ("grafana_admin_password", "a-long-random-grafana-password"),
    ):
        (secrets / name).write_text(value + "\n", encoding="utf-8")
    return tmp_path


def _config(deployment: Path, *files: str) -> dict[str, object]:
    command, major = _compose()
    if major < 2:
        # Compose v1 predates the top-level `name:` key (v2 reads it); the rest of the files must pass.
        for name in files:
            path = deployment / name
            path.write_text(
                re.sub(r"(?m)^name: .*\n", "", path.read_text(encoding="utf-8")), encoding="utf-8"
            )
    arguments = [item for name in files for item in ("-f", name)]
    result = subprocess.run(
        [*command, *arguments, "config"],
        cwd=deployment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "COMPOSE_PROJECT_NAME": "post16"},
    )
    assert result.returncode == 0, result.stderr
    loaded = yaml.safe_load(result.stdout)
    assert isinstance(loaded, dict)
    return loaded


def test_compose_accepts_the_production_stack(deployment):
    config = _config(deployment, "compose.yml")
    assert set(config["services"]) == {"db", "api", "caddy"}  # type: ignore[call-overload]


def test_compose_accepts_the_stack_with_monitoring(deployment):
    config = _config(deployment, "compose.yml", "compose.monitoring.yml")
    services = config["services"]
    assert set(services) == {"db", "api", "caddy", "prometheus", "grafana"}  # type: ignore[call-overload]
    prometheus = services["prometheus"]  # type: ignore[index]
    assert "backend" in prometheus["networks"]  # it must reach api:8000 on the internal network
    assert any(
        str(secret.get("source", secret)) == "metrics_token"
        if isinstance(secret, dict)
        else secret == "metrics_token"
        for secret in prometheus["secrets"]
    )
    for service in ("prometheus", "grafana"):
        for port in services[service]["ports"]:  # type: ignore[index]
            host_ip = port.get("host_ip") if isinstance(port, dict) else str(port).split(":")[0]
            assert host_ip == "127.0.0.1", f"{service} must not listen beyond the host's loopback"
