"""Build the desktop app's installers: the PyInstaller one-folder bundle and, on Linux, the .deb.

    .venv/bin/python packaging/build.py [--out dist] [--cache-dir build/installer-cache] [--force]

`make installer` runs this. Builds are cached under `--cache-dir` in two steps, each keyed on a hash of
what goes into it: the bundle on desktop/, shared/, requirements/desktop.lock, the spec and its helpers
in packaging/ and the Python and PyInstaller versions; the .deb on the bundle's key plus packaging/linux,
the icons and docs/installing.md. An unchanged tree is not rebuilt; any change rebuilds what it feeds
(a docs edit re-packs the .deb without re-running PyInstaller). Only the newest build is kept. On
Windows and macOS this makes the bundle; the MSI and the .pkg/.dmg are made from it by the scripts in
packaging/windows and packaging/macos (see packaging/ci/build-installers.yml), which are not inputs here.

`build(...)` is importable: tests/integration/packaging/ calls it and then installs the .deb.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ROOT / "packaging"
NAME = "post16-desktop"
MACOS_APP = "Post16 Lessons.app"  # BUNDLE(name=...) in the spec
#: The inputs whose contents decide whether a cached bundle, and a cached .deb, are still good.
BUNDLE_INPUTS = (
    "desktop",
    "shared",
    "requirements/desktop.lock",
    "packaging/post16-desktop.spec",
    "packaging/bundle_rules.py",
    "packaging/entry.py",
    "packaging/build.py",
    "packaging/icons",
)
PACKAGE_INPUTS = ("packaging/linux", "packaging/icons", "packaging/build.py", "docs/installing.md")
DEFAULT_CACHE = ROOT / "build" / "installer-cache"
QT_RUNTIME_PACKAGES_FILE = PACKAGING / "linux" / "qt-runtime-packages.txt"


def qt_runtime_packages(path: Path = QT_RUNTIME_PACKAGES_FILE) -> tuple[str, ...]:
    """The Debian packages of the system libraries Qt loads and the bundle does not carry: the one list
    (with how it was derived) that scripts/provision.sh installs too."""
    names = (line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return tuple(name for name in names if name)


#: Installed on the target by the distribution, not bundled (PyInstaller leaves libc, libGL, libEGL and
#: libxcb out by design, and the X libraries of the xcb platform plugin when the build host lacks them).
DEB_DEPENDS = ("libc6 (>= 2.31)", *qt_runtime_packages())
DEB_SUGGESTS = ("gnome-keyring",)

__all__ = ["BuildResult", "build", "folder_size", "input_hash", "main", "qt_runtime_packages"]


@dataclasses.dataclass(frozen=True)
class BuildResult:
    key: str  # the bundle's input hash
    bundle: Path  # the one-folder app (contains the post16-desktop executable)
    bundle_bytes: int
    bundle_seconds: float | None  # None: taken from the cache
    deb: Path | None = None  # Linux only
    deb_bytes: int | None = None
    deb_seconds: float | None = None

    @property
    def cached(self) -> bool:
        return self.bundle_seconds is None and self.deb_seconds is None

    def summary(self) -> str:
        def how(seconds: float | None) -> str:
            return "cached" if seconds is None else f"built in {seconds:.0f} s"

        lines = [
            f"installer build {self.key[:12]}",
            f"  bundle {self.bundle}: {self.bundle_bytes / 1e6:.1f} MB ({how(self.bundle_seconds)})",
        ]
        if self.deb is not None and self.deb_bytes is not None:
            lines.append(f"  package {self.deb}: {self.deb_bytes / 1e6:.1f} MB ({how(self.deb_seconds)})")
        return "\n".join(lines)


def app_version() -> str:
    text = (ROOT / "desktop" / "__init__.py").read_text(encoding="utf-8")
    found = re.search(r'^__version__ = "([^"]+)"', text, re.MULTILINE)
    if found is None:
        raise SystemExit("desktop/__init__.py has no __version__")
    return found.group(1)


def _input_files(inputs: tuple[str, ...]) -> list[Path]:
    files: list[Path] = []
    for name in inputs:
        path = ROOT / name
        if path.is_file():
            files.append(path)
            continue
        for file in sorted(path.rglob("*")):
            if file.is_file() and "__pycache__" not in file.parts and file.suffix not in {".pyc", ".pyo"}:
                files.append(file)
    return files


def input_hash(inputs: tuple[str, ...] = BUNDLE_INPUTS, salt: str = "") -> str:
    """A hash of every input file (path and bytes) plus the toolchain that turns them into a bundle."""
    import PyInstaller

    digest = hashlib.sha256(salt.encode())
    digest.update(f"python {sys.version}\npyinstaller {PyInstaller.__version__}\n".encode())
    digest.update(f"{sys.platform} {platform.machine()}\n".encode())
    for file in _input_files(inputs):
        digest.update(file.relative_to(ROOT).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def folder_size(path: Path) -> int:
    """Bytes of the regular files under `path` (symlinks counted once, as links)."""
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            total += os.lstat(os.path.join(dirpath, name)).st_size
    return total


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} is not installed (Debian: apt-get install dpkg-dev)")
    return path


def _run(command: list[str], log: Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> None:
    """Run a build tool (fixed arguments from this script), appending its output to the build log."""
    with log.open("ab") as out:
        out.write(f"\n$ {' '.join(command)}\n".encode())
        out.flush()
        result = subprocess.run(  # noqa: S603 - our own command lines, no shell
            command, stdout=out, stderr=subprocess.STDOUT, check=False, cwd=cwd, env=env
        )
    if result.returncode != 0:
        tail = log.read_text(errors="replace")[-4000:]
        raise RuntimeError(f"{command[0]} failed (exit {result.returncode}); log {log}:\n{tail}")


def _pyinstaller(entry: Path, log: Path) -> Path:
    work = entry / "work"
    dist = entry / "bundle"
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}
    # A private bincache: the first build on a machine compiles/strips everything itself.
    env["PYINSTALLER_CONFIG_DIR"] = str(entry.parent / "pyinstaller-config")
    _run(
        [
            sys.executable,
            "-m",
            "PyInstaller",
            "--noconfirm",
            "--clean",
            "--log-level",
            "WARN",
            "--distpath",
            str(dist),
            "--workpath",
            str(work),
            str(PACKAGING / f"{NAME}.spec"),
        ],
        log,
        cwd=ROOT,
        env=env,
    )
    shutil.rmtree(work, ignore_errors=True)
    bundle = dist / NAME
    # PyInstaller links each Qt library into the top folder, also those the spec pruned: drop the
    # dangling links.
    for link in [p for p in bundle.rglob("*") if p.is_symlink() and not p.exists()]:
        link.unlink()
    return bundle


def _install(source: Path, target: Path, mode: int) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    target.chmod(mode)


def _deb(bundle: Path, entry: Path, log: Path) -> Path:
    """Lay out the package tree and let dpkg-deb build it (owner root, no fakeroot needed)."""
    linux = PACKAGING / "linux"
    version = app_version()
    arch = subprocess.run(  # noqa: S603
        [_tool("dpkg"), "--print-architecture"], capture_output=True, text=True, check=True
    ).stdout.strip()
    tree = entry / "deb-root"
    shutil.rmtree(tree, ignore_errors=True)
    shutil.copytree(bundle, tree / "opt" / NAME, symlinks=True)
    _install(linux / "post16-desktop.sh", tree / "usr/bin/post16-desktop", 0o755)
    _install(linux / "post16-desktop-configure.sh", tree / "usr/bin/post16-desktop-configure", 0o755)
    _install(linux / "post16-desktop.desktop", tree / "usr/share/applications/post16-desktop.desktop", 0o644)
    icons = tree / "usr/share/icons/hicolor"
    _install(PACKAGING / "icons/post16.png", icons / "256x256/apps/post16-desktop.png", 0o644)
    _install(PACKAGING / "icons/post16.svg", icons / "scalable/apps/post16-desktop.svg", 0o644)
    _install(linux / "desktop.toml", tree / "etc/post16/desktop.toml", 0o644)
    docs = tree / "usr/share/doc" / NAME
    _install(ROOT / "docs/installing.md", docs / "README.installing.md", 0o644)
    docs.joinpath("copyright").write_text(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
        "Upstream-Name: Post16 Lessons\nFiles: *\nLicense: MIT\n"
        "Comment: bundles Python, PySide6 (Qt, LGPLv3) and the Python packages pinned in\n"
        " requirements/desktop.lock, each under its own licence.\n",
        encoding="utf-8",
    )
    control = tree / "DEBIAN"
    control.mkdir(parents=True)
    installed_kib = (folder_size(tree) + 1023) // 1024
    fields = {
        "@VERSION@": version,
        "@ARCH@": arch,
        "@INSTALLED_SIZE@": str(installed_kib),
        "@DEPENDS@": ", ".join(DEB_DEPENDS),
    }
    text = (linux / "control.in").read_text(encoding="utf-8")
    for placeholder, value in fields.items():
        text = text.replace(placeholder, value)
    text = text.replace("Section:", f"Suggests: {', '.join(DEB_SUGGESTS)}\nSection:", 1)
    (control / "control").write_text(text, encoding="utf-8")
    (control / "conffiles").write_text("/etc/post16/desktop.toml\n", encoding="utf-8")
    _install(linux / "postinst", control / "postinst", 0o755)
    _install(linux / "postrm", control / "postrm", 0o755)
    for directory in [tree, *(p for p in tree.rglob("*") if p.is_dir() and not p.is_symlink())]:
        directory.chmod(0o755)
    deb = entry / f"{NAME}_{version}_{arch}.deb"
    _run([_tool("dpkg-deb"), "--root-owner-group", "-Zxz", "--build", str(tree), str(deb)], log)
    shutil.rmtree(tree)
    return deb


def build(cache_dir: Path = DEFAULT_CACHE, *, force: bool = False, deb: bool | None = None) -> BuildResult:
    """The bundle (and .deb on Linux) for the current inputs: from the cache, or built now.

    Builds are serialised on a lock file in `cache_dir`, so parallel test workers or a `make installer`
    running beside `make test` wait for one build instead of tearing each other's apart.
    """
    deb = sys.platform.startswith("linux") if deb is None else deb
    cache_dir.mkdir(parents=True, exist_ok=True)
    with (cache_dir / ".lock").open("w") as lock:
        if sys.platform != "win32":
            import fcntl

            fcntl.flock(lock, fcntl.LOCK_EX)
        return _build_locked(cache_dir, force=force, deb=deb)


def _read_info(path: Path) -> dict[str, Any] | None:
    try:
        info: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info


def _write_info(path: Path, info: dict[str, Any]) -> None:
    """Written last: its presence marks a step complete (a killed build leaves none and is redone)."""
    path.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")


def _build_locked(cache_dir: Path, *, force: bool, deb: bool) -> BuildResult:
    key = input_hash(BUNDLE_INPUTS)
    entry = cache_dir / key
    bundle = entry / "bundle" / NAME
    info = None if force else _read_info(entry / "bundle-info.json")
    bundle_seconds: float | None = None
    if info is None or not bundle.is_dir():
        for other in cache_dir.iterdir():  # keep only the newest build: bundles are big
            if other.is_dir() and len(other.name) == 64:
                shutil.rmtree(other)
        entry.mkdir()
        started = time.monotonic()
        bundle = _pyinstaller(entry, entry / "build.log")
        bundle_seconds = time.monotonic() - started
        info = {
            "key": key,
            "version": app_version(),
            "bundle_bytes": folder_size(bundle),
            "seconds": round(bundle_seconds, 1),
            "python": platform.python_version(),
            "platform": f"{sys.platform}-{platform.machine()}",
        }
        _write_info(entry / "bundle-info.json", info)
    result = BuildResult(key, bundle, int(info["bundle_bytes"]), bundle_seconds)
    if not deb:
        return result

    package_key = input_hash(PACKAGE_INPUTS, salt=key)[:16]
    package_dir = entry / f"deb-{package_key}"
    package_info = None if force or bundle_seconds is not None else _read_info(package_dir / "deb-info.json")
    deb_seconds: float | None = None
    if package_info is None or not (package_dir / str(package_info["deb"])).is_file():
        for other in entry.glob("deb-*"):
            shutil.rmtree(other)
        package_dir.mkdir()
        started = time.monotonic()
        deb_path = _deb(bundle, package_dir, entry / "build.log")
        deb_seconds = time.monotonic() - started
        package_info = {"deb": deb_path.name, "deb_bytes": deb_path.stat().st_size}
        _write_info(package_dir / "deb-info.json", package_info)
    deb_path = package_dir / str(package_info["deb"])
    return dataclasses.replace(
        result,
        deb=deb_path,
        deb_bytes=int(package_info["deb_bytes"]),
        deb_seconds=deb_seconds,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--out", type=Path, help="also copy the .deb (and a zip of the bundle) here")
    parser.add_argument("--force", action="store_true", help="rebuild even if the cache is current")
    args = parser.parse_args(argv)
    result = build(args.cache_dir.resolve(), force=args.force)
    print(result.summary())
    if args.out:
        out = args.out.resolve()
        out.mkdir(parents=True, exist_ok=True)
        if result.deb is not None:
            shutil.copy2(result.deb, out / result.deb.name)
            print(f"  copied to {out / result.deb.name}")
        else:  # Windows / macOS: the MSI and .pkg scripts take the folder (and the .app) from here
            for made in (result.bundle, result.bundle.parent / MACOS_APP):
                if made.exists():
                    shutil.rmtree(out / made.name, ignore_errors=True)
                    shutil.copytree(made, out / made.name, symlinks=True)
                    print(f"  copied to {out / made.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
