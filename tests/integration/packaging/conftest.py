"""Packaging fixtures: the installer build (cached under build/installer-cache, keyed on its inputs) and
the .deb unpacked into a scratch root with `dpkg -x`, as IT's laptops would have it under /."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[3]
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

#: Lines for the end-of-run summary: the sizes IT (and docs/performance.md) care about.
_REPORT: list[str] = []


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _missing(what: str) -> None:
    """Fail under CI (where nothing may skip), skip on a developer machine without the tool."""
    message = f"{what} is needed to build the Linux installer"
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def packaging_build() -> ModuleType:
    return _load("post16_packaging_build", REPO / "packaging" / "build.py")


@pytest.fixture(scope="session")
def bundle_rules() -> ModuleType:
    return _load("post16_bundle_rules", REPO / "packaging" / "bundle_rules.py")


@pytest.fixture(scope="session")
def installer(packaging_build: ModuleType):  # type: ignore[no-untyped-def]
    """The current build: made now if the inputs changed since the cached one (the first run builds)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("the .deb is built on Linux; Windows and macOS installers are built in CI")
    for tool in ("dpkg-deb", "dpkg"):
        if shutil.which(tool) is None:
            _missing(tool)
    result = packaging_build.build(REPO / "build" / "installer-cache")
    _REPORT.append(result.summary())
    return result


@pytest.fixture(scope="session")
def installed_root(installer, tmp_path_factory: pytest.TempPathFactory) -> Path:  # type: ignore[no-untyped-def]
    """The .deb's files under a scratch root (`dpkg -x`) and its control files under root/DEBIAN."""
    root = tmp_path_factory.mktemp("deb-root")
    subprocess.run(["dpkg-deb", "-x", str(installer.deb), str(root)], check=True)
    subprocess.run(["dpkg-deb", "-e", str(installer.deb), str(root / "DEBIAN")], check=True)
    # As under a real /opt: every user can reach the app. The suite runs as root, and the app runs
    # pupils' programs as `nobody` then (desktop/core/local_runner.py), with the app as their Python.
    for folder in (root, *root.parents):
        if str(folder) in ("/", "/tmp"):
            continue
        folder.chmod(folder.stat().st_mode | 0o011)
    return root


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if _REPORT:
        terminalreporter.section("desktop installers")
        for text in _REPORT:
            terminalreporter.write_line(text)
