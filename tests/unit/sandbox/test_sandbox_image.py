"""The offline image build finds the Debian mirror in this machine's apt sources."""

from pathlib import Path

import pytest

from sandbox._image import ImageBuildError, apt_mirror

DEB822 = """\
Types: deb
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
"""


def test_mirror_is_read_from_deb822_sources(tmp_path: Path) -> None:
    sources = tmp_path / "debian.sources"
    sources.write_text(DEB822)
    assert apt_mirror([sources]) == "http://mirror.example/debian"


def test_mirror_is_read_from_a_one_line_sources_list(tmp_path: Path) -> None:
    listing = tmp_path / "sources.list"
    listing.write_text(
        "# comment\ndeb http://mirror.example/debian-security bookworm-security main\n"
        "deb [signed-by=/k.gpg arch=amd64] http://mirror.example/debian bookworm main\n"
    )
    assert apt_mirror([listing]) == "http://mirror.example/debian"


def test_the_first_file_that_names_the_suite_wins(tmp_path: Path) -> None:
    missing = tmp_path / "missing.sources"
    listing = tmp_path / "sources.list"
    listing.write_text("deb http://mirror.example/debian bookworm main\n")
    assert apt_mirror([missing, listing]) == "http://mirror.example/debian"


def test_no_source_for_the_suite_is_a_clear_error(tmp_path: Path) -> None:
    listing = tmp_path / "sources.list"
    listing.write_text("deb http://mirror.example/debian trixie main\n")
    with pytest.raises(ImageBuildError, match="bookworm"):
        apt_mirror([listing])
