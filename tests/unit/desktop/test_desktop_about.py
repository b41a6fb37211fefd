"""Help → About shows the version and where the app is pointed (what IT asks a pupil to read out)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path

from desktop import __version__
from desktop.core.settings import Settings
from desktop.ui.about import about_text
from shared.protocol import PROTOCOL_VERSION


def test_about_names_version_protocol_server_and_data_folder(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "answers", server_url="https://fallback.example")
    text = about_text(settings, "https://lessons.school.example", "pupil1")
    assert f"Post16 Lessons {__version__}" in text
    assert f"sync protocol {PROTOCOL_VERSION}" in text
    assert "https://lessons.school.example" in text
    assert "pupil1" in text
    assert str(tmp_path / "answers") in text
