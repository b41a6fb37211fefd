"""The `post16-sandbox` command: check the engine, run a file."""

import json
import os
import subprocess
import sys
from pathlib import Path

import docker
import pytest
from sandbox_helpers import ENGINE

pytestmark = [pytest.mark.docker]


def cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sandbox.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "POST16_SANDBOX_ENGINES": ENGINE, **env},
    )


def test_check_says_ok_when_the_engine_has_the_image(docker_api: docker.APIClient) -> None:
    done = cli("check")
    assert done.returncode == 0, done.stderr
    assert "ok:" in done.stdout


def test_check_fails_clearly_when_the_engine_is_unreachable(tmp_path: Path) -> None:
    done = cli("check", POST16_SANDBOX_ENGINES=f"unix://{tmp_path / 'none.sock'}")
    assert done.returncode == 1
    assert "not reachable" in done.stdout


def test_run_prints_the_result_as_json(docker_api: docker.APIClient, tmp_path: Path) -> None:
    program = tmp_path / "greet.py"
    program.write_text("print('hello', input())\n")
    stdin = tmp_path / "stdin.txt"
    stdin.write_text("Ada\n")
    done = cli("run", str(program), "--stdin", str(stdin), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "success"
    assert result["stdout"] == "hello Ada\n"


def test_run_exits_non_zero_and_shows_the_status_when_the_program_fails(
    docker_api: docker.APIClient, tmp_path: Path
) -> None:
    program = tmp_path / "bad.py"
    program.write_text("raise SystemExit(4)\n")
    done = cli("run", str(program))
    assert done.returncode == 1
    assert "[error (exit code 4)]" in done.stderr
