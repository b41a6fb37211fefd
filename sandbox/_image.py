"""Building the sandbox image: offline (debootstrap + `docker import`) or from the Dockerfile.

The offline build needs no image registry, only the Debian package mirror this machine already uses:
it is read from the apt sources at run time, never written down here.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import docker
import docker.errors

IMAGE_DIR = Path(__file__).resolve().parent / "image"
ROOTFS_SETUP = IMAGE_DIR / "rootfs-setup.sh"
SUITE = "bookworm"
PACKAGES = ("python3",)
APT_SOURCES = (Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list"))
IMAGE_CHANGES = [
    "USER 10001:10001",
    "WORKDIR /work",
    "ENV PATH=/usr/local/bin:/usr/bin:/bin",
    "ENV LANG=C.UTF-8",
    "ENV HOME=/work",
    'CMD ["python3"]',
]


class ImageBuildError(Exception):
    """The image could not be built; the message says which step failed."""


def apt_mirror(sources: Iterable[Path] = APT_SOURCES, suite: str = SUITE) -> str:
    """The Debian mirror URI that serves `suite` according to this machine's apt sources
    (deb822 `.sources` files or one-line `sources.list`)."""
    for path in sources:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            continue
        found = (
            _mirror_from_deb822(text, suite) if path.suffix == ".sources" else _mirror_from_list(text, suite)
        )
        if found:
            return found
    names = ", ".join(str(path) for path in sources)
    raise ImageBuildError(f"no apt source for Debian {suite!r} found in {names}")


def _mirror_from_deb822(text: str, suite: str) -> str | None:
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()
        types = fields.get("types", "").split()
        if (
            "deb" in types
            and suite in fields.get("suites", "").split()
            and fields.get("enabled", "yes") != "no"
        ):
            uris = fields.get("uris", "").split()
            if uris:
                return uris[0]
    return None


def _mirror_from_list(text: str, suite: str) -> str | None:
    for raw in text.splitlines():
        parts = raw.split("#", 1)[0].split()
        if not parts or parts[0] != "deb":
            continue
        parts = parts[1:]
        if parts and parts[0].startswith("["):  # options such as [signed-by=...]
            while parts and not parts[0].endswith("]"):
                parts = parts[1:]
            parts = parts[1:]
        if len(parts) >= 2 and parts[1] == suite:
            return parts[0]
    return None


def image_present(client: docker.APIClient, image: str) -> bool:
    try:
        client.inspect_image(image)
    except docker.errors.ImageNotFound:
        return False
    return True


def build_offline(client: docker.APIClient, image: str, log: Callable[[str], None] = print) -> None:
    """debootstrap a minimal Debian with Python, harden it (rootfs-setup.sh), `docker import` it."""
    if shutil.which("debootstrap") is None:
        raise ImageBuildError("debootstrap is not installed (apt-get install debootstrap)")
    mirror = apt_mirror()
    repository, tag = _split_tag(image)
    with tempfile.TemporaryDirectory(prefix="post16-rootfs-", dir="/var/tmp") as workdir:
        rootfs = Path(workdir) / "rootfs"
        log(f"debootstrap {SUITE} (minbase + {', '.join(PACKAGES)}) into {rootfs}")
        _run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(PACKAGES)}",
                SUITE,
                str(rootfs),
                mirror,
            ],
            "debootstrap",
        )
        log("hardening the root file system")
        _run(["sh", str(ROOTFS_SETUP), str(rootfs)], "rootfs-setup.sh")
        log(f"importing as {image}")
        tar = subprocess.Popen(  # noqa: S603
            ["tar", "--numeric-owner", "--xattrs", "-C", str(rootfs), "-c", "."],  # noqa: S607
            stdout=subprocess.PIPE,
        )
        try:
            assert tar.stdout is not None
            client.import_image_from_stream(tar.stdout, repository=repository, tag=tag, changes=IMAGE_CHANGES)
        finally:
            if tar.stdout is not None:
                tar.stdout.close()
            if tar.wait() != 0:
                raise ImageBuildError(f"tar of the root file system failed (exit {tar.returncode})")
    if not image_present(client, image):
        raise ImageBuildError(f"docker import did not produce {image}")


def build_from_dockerfile(client: docker.APIClient, image: str, log: Callable[[str], None] = print) -> None:
    """The registry build: `docker build` of sandbox/image/Dockerfile (pulls debian:bookworm-slim)."""
    log(f"building {image} from {IMAGE_DIR / 'Dockerfile'}")
    for chunk in client.build(path=str(IMAGE_DIR), tag=image, rm=True, decode=True):
        if "error" in chunk:
            raise ImageBuildError(str(chunk["error"]).strip())
        text = str(chunk.get("stream", "")).strip()
        if text:
            log(text)


def _split_tag(image: str) -> tuple[str, str]:
    name, colon, tag = image.rpartition(":")
    if colon and "/" not in tag:
        return name, tag
    return image, "latest"


def _run(argv: list[str], step: str) -> None:
    completed = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603
    if completed.returncode != 0:
        tail = "\n".join((completed.stderr or completed.stdout).strip().splitlines()[-15:])
        raise ImageBuildError(f"{step} failed (exit {completed.returncode}):\n{tail}")


__all__ = ["ImageBuildError", "apt_mirror", "build_from_dockerfile", "build_offline", "image_present"]
