"""The Linux installer as IT would use it: the PyInstaller bundle inside a .deb, unpacked with `dpkg -x`,
the server address set at install time by the package's own postinst, and the frozen app's `--self-test`
run offscreen against a real server on PostgreSQL.

The build is cached under build/installer-cache keyed on a hash of its inputs, so only the first run
(or one after a change to desktop/, shared/, packaging/ or the lock file) pays for PyInstaller.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path

import pytest
from PyInstaller.archive.readers import pkg_archive_contents

from desktop import __version__
from shared.protocol import PROTOCOL_VERSION

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]

PASSWORD = "correct horse battery"  # UserFactory.PASSWORD
SIZE_TARGET_BYTES = 150_000_000
APP = Path("opt/post16-desktop/post16-desktop")
MACHINE_CONFIG = Path("etc/post16/desktop.toml")


def _clean_env(home: Path, **extra: str) -> dict[str, str]:
    """A laptop's environment: no POST16_* from the test run, no virtualenv, a fresh home."""
    dropped = {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("POST16_") and k not in dropped}
    home.mkdir(parents=True, exist_ok=True)
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        QT_QPA_PLATFORM="offscreen",
    )
    env.update(extra)
    return env


def _run_app(root: Path, home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    machine = {"POST16_DESKTOP_MACHINE_CONFIG": str(root / MACHINE_CONFIG)}
    return subprocess.run(
        [str(root / APP), *args],
        env=_clean_env(home, **machine, **env),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _postinst(root: Path, home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The package's postinst as `dpkg -i` runs it, rooted in the scratch tree (dpkg's DPKG_ROOT)."""
    return subprocess.run(
        [str(root / "DEBIAN" / "postinst"), "configure"],
        env=_clean_env(home, DPKG_ROOT=str(root), **env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def pristine_machine_config(installed_root: Path) -> Path:
    """The unpacked conffile, put back as shipped after a test that configures the machine."""
    path = installed_root / MACHINE_CONFIG
    shipped = path.read_bytes()
    yield path
    path.write_bytes(shipped)


def test_frozen_app_from_the_deb_passes_its_self_test_against_a_real_server(
    installed_root: Path, pristine_machine_config: Path, pg_url: str, make_server, users, tmp_path: Path
) -> None:
    users.add("selftest", "pupil")
    server = make_server(pg_url)
    configured = _postinst(installed_root, tmp_path / "root-home", POST16_SERVER_URL=server.url + "/")
    assert configured.returncode == 0, configured.stdout + configured.stderr
    assert f'server_url = "{server.url}"' in pristine_machine_config.read_text(encoding="utf-8")

    # No --server: the address comes from the machine-wide config the install wrote.
    result = _run_app(
        installed_root,
        tmp_path / "pupil-home",
        "--self-test",
        POST16_USERNAME="selftest",
        POST16_PASSWORD=PASSWORD,
    )
    print(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"logged in to {server.url} as selftest (pupil)" in result.stdout
    assert "synced: server received it" in result.stdout
    assert "ran a program on this computer with input" in result.stdout
    assert "lesson view load" in result.stdout


def test_frozen_self_test_with_a_wrong_password_exits_1_and_says_why(
    installed_root: Path, pg_url: str, make_server, users, tmp_path: Path
) -> None:
    users.add("selftest", "pupil")
    server = make_server(pg_url)
    result = _run_app(
        installed_root,
        tmp_path / "home",
        "--self-test",
        "--server",
        server.url,
        POST16_USERNAME="selftest",
        POST16_PASSWORD="not the password",
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"FAILED to log in to {server.url}" in result.stdout


def test_frozen_app_prints_its_version(installed_root: Path, tmp_path: Path) -> None:
    result = _run_app(installed_root, tmp_path / "home", "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"post16-desktop {__version__} (protocol {PROTOCOL_VERSION})"


def test_install_with_a_bad_server_address_still_installs_and_says_so(
    installed_root: Path, pristine_machine_config: Path, tmp_path: Path
) -> None:
    shipped = pristine_machine_config.read_text(encoding="utf-8")
    result = _postinst(installed_root, tmp_path / "home", POST16_SERVER_URL="lessons.school.example")
    assert result.returncode == 0, result.stderr
    assert "POST16_SERVER_URL=lessons.school.example was not accepted" in result.stderr
    assert pristine_machine_config.read_text(encoding="utf-8") == shipped


def _dpkg(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Real dpkg on a scratch root with its own database; maintainer scripts run on the host with
    DPKG_ROOT set (dpkg's --force-script-chrootless), the system libraries it depends on being the host's."""
    return subprocess.run(
        ["dpkg", f"--root={root}", "--force-script-chrootless", "--force-depends", *args],
        env={**_clean_env(root / "home"), **env},
        stdin=subprocess.DEVNULL,  # a conffile question would fail here instead of waiting
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_dpkg_install_sets_the_server_reinstall_keeps_it_and_purge_removes_it(
    installer, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    for folder in ("info", "updates", "triggers"):
        (root / "var/lib/dpkg" / folder).mkdir(parents=True)
    (root / "var/lib/dpkg/status").touch()
    config = root / MACHINE_CONFIG
    server = 'server_url = "https://lessons.school.example"'

    installed = _dpkg(root, "-i", str(installer.deb), POST16_SERVER_URL="https://lessons.school.example")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert server in config.read_text(encoding="utf-8")

    # The term's update: the same command without POST16_SERVER_URL, no questions, the server kept.
    updated = _dpkg(root, "-i", str(installer.deb))
    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert server in config.read_text(encoding="utf-8")

    removed = _dpkg(root, "-r", "post16-desktop")
    assert removed.returncode == 0, removed.stderr
    assert not (root / APP).exists()
    assert server in config.read_text(encoding="utf-8")

    purged = _dpkg(root, "-P", "post16-desktop")
    assert purged.returncode == 0, purged.stderr
    assert not config.parent.exists()


def test_deb_installs_wrappers_menu_entry_icon_and_machine_config(installed_root: Path, installer) -> None:
    control = dict(
        line.split(": ", 1)
        for line in (installed_root / "DEBIAN" / "control").read_text(encoding="utf-8").splitlines()
        if ": " in line and not line.startswith(" ")
    )
    assert control["Package"] == "post16-desktop"
    assert control["Version"] == __version__
    assert installer.deb.name == f"post16-desktop_{__version__}_{control['Architecture']}.deb"
    assert (installed_root / "DEBIAN" / "conffiles").read_text().split() == ["/etc/post16/desktop.toml"]
    shipped_config = (installed_root / MACHINE_CONFIG).read_text(encoding="utf-8")
    assert "POST16_SERVER_URL" in shipped_config
    for wrapper in ("post16-desktop", "post16-desktop-configure"):
        mode = (installed_root / "usr" / "bin" / wrapper).stat().st_mode
        assert mode & stat.S_IXOTH, wrapper
    assert (installed_root / APP).stat().st_mode & stat.S_IXOTH
    entry = (installed_root / "usr/share/applications/post16-desktop.desktop").read_text(encoding="utf-8")
    assert "Exec=post16-desktop\n" in entry
    assert "Icon=post16-desktop\n" in entry
    icon = installed_root / "usr/share/icons/hicolor/256x256/apps/post16-desktop.png"
    assert icon.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (installed_root / "usr/share/doc/post16-desktop/README.installing.md").is_file()


def test_bundle_holds_no_server_packages(installer, bundle_rules) -> None:
    forbidden = set(bundle_rules.SERVER_PACKAGES)
    bundled_names: set[str] = set()
    for _dirpath, dirs, files in os.walk(installer.bundle):
        for name in [*dirs, *files]:
            bundled_names.add(name.split(".")[0].split("-")[0])
    modules = {name.split(".")[0] for name in pkg_archive_contents(str(installer.bundle / "post16-desktop"))}
    assert not forbidden & bundled_names, sorted(forbidden & bundled_names)
    assert not forbidden & modules, sorted(forbidden & modules)
    # What the desktop does need is there.
    assert {"desktop", "shared", "httpx", "msgspec", "keyring", "sqlite_utils", "markdown_it"} <= modules
    assert {"PySide6", "shiboken6"} <= bundled_names


def test_bundle_leaves_out_unused_qt_and_development_files(installer) -> None:
    internal = installer.bundle / "_internal"
    files = [p.relative_to(internal).as_posix() for p in internal.rglob("*")]
    assert not [f for f in files if f.startswith("PySide6/Qt/translations/")]
    assert not [f for f in files if "platformthemes/libqgtk3" in f or f.startswith("libgtk-3")]
    assert not [f for f in files if f.endswith((".pyi", ".h")) or "/tests/" in f or "/include/" in f]
    for unused in ("QtNetwork", "QtQml", "QtQuick", "QtSql", "QtTest"):
        assert not (internal / "PySide6" / f"{unused}.abi3.so").exists(), unused


def test_bundle_is_smaller_than_150_mb(installer) -> None:
    print(installer.summary())
    assert installer.bundle_bytes < SIZE_TARGET_BYTES, installer.summary()


def _libraries_from_the_system(bundle: Path) -> dict[str, str]:
    """Each library that an ELF file in the bundle needs (readelf's NEEDED) and the bundle does not
    carry, with the host file the dynamic linker would load for it (`ldconfig -p`)."""
    files = [
        p
        for p in bundle.rglob("*")
        if p.is_file() and not p.is_symlink() and p.read_bytes()[:4] == b"\x7fELF"
    ]
    dynamic = subprocess.run(["readelf", "-d", *map(str, files)], capture_output=True, text=True, check=False)
    needed = set(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dynamic.stdout))
    carried = {p.name for p in bundle.rglob("*")}
    cache = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=True).stdout
    on_host: dict[str, str] = {}
    for line in cache.splitlines():
        found = re.match(r"\s*(\S+) \(libc6,[^)]*\) => (\S+)$", line)  # this machine's 64-bit ABI
        if found and found.group(1) not in on_host:
            on_host[found.group(1)] = found.group(2)
    return {name: on_host.get(name, "") for name in sorted(needed - carried)}


def _debian_packages_of(paths: list[str]) -> dict[str, str]:
    """`dpkg -S` for each path, trying it as linked and as resolved, with and without /usr (merged /usr)."""
    candidates: dict[str, str] = {}
    for path in paths:
        for form in {path, os.path.realpath(path)}:
            for variant in (
                form,
                form.removeprefix("/usr"),
                "/usr" + form if not form.startswith("/usr") else form,
            ):
                candidates[variant] = path
    owners = subprocess.run(["dpkg", "-S", *candidates], capture_output=True, text=True, check=False).stdout
    packages: dict[str, str] = {}
    for line in owners.splitlines():
        package, _, owned = line.partition(": ")
        if owned in candidates:
            packages.setdefault(candidates[owned], package.split(":")[0])
    return packages


def test_deb_depends_on_the_packages_of_every_system_library_the_bundle_loads(
    installer, packaging_build
) -> None:
    depends = subprocess.run(
        ["dpkg-deb", "--field", str(installer.deb), "Depends"], capture_output=True, text=True, check=True
    ).stdout
    declared = {entry.split()[0] for entry in depends.split(",") if entry.strip()}
    # What Qt's xcb platform plugin needs on Debian, and the one list provision.sh installs too.
    assert {
        "libxcb-cursor0",
        "libxkbcommon-x11-0",
        "libxcb-icccm4",
        "libxcb-keysyms1",
        "libxcb-image0",
        "libxcb-render-util0",
        "libxcb-randr0",
        "libxcb-shape0",
        "libegl1",
        "libgl1",
        "libfontconfig1",
        "libdbus-1-3",
    } <= declared, depends
    assert set(packaging_build.qt_runtime_packages()) <= declared, depends

    from_system = _libraries_from_the_system(installer.bundle / "_internal")
    assert "libxcb.so.1" in from_system, "PyInstaller never bundles libxcb: the check lost track"
    unresolved = sorted(name for name, path in from_system.items() if not path)
    assert not unresolved, f"the bundle needs libraries this machine does not have: {unresolved}"
    packages = _debian_packages_of(list(from_system.values()))
    undeclared = {
        f"{name} ({packages.get(path, 'no package')})"
        for name, path in from_system.items()
        if packages.get(path) not in declared
    }
    assert not undeclared, f"loaded from the system but not in Depends: {sorted(undeclared)}"
