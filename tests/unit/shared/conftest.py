"""Fixtures for the lesson-format tests: a throwaway lessons folder and a local code-test runner.

``run_program`` is the only place that executes code. It runs plain ``python3`` in a subprocess here;
the sandbox suite swaps in the real container runner with the same signature.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from shared.lessons import CodeTest, build_test_program, judge_run


@dataclass(frozen=True)
class ProgramResult:
    exit_code: int
    stdout: str


ProgramRunner = Callable[[str, str], ProgramResult]
TestChecker = Callable[[str, CodeTest], bool]


@pytest.fixture
def run_program(tmp_path: Path) -> ProgramRunner:
    """Run Python source with the given stdin in an empty work folder, as the sandbox would."""

    def run(source: str, stdin: str) -> ProgramResult:
        work = tmp_path / "work"
        work.mkdir(exist_ok=True)
        for leftover in work.iterdir():
            leftover.unlink()
        completed = subprocess.run(
            [sys.executable, "-I", "-c", source],
            input=stdin,
            capture_output=True,
            text=True,
            cwd=work,
            timeout=20,
            check=False,
        )
        return ProgramResult(exit_code=completed.returncode, stdout=completed.stdout)

    return run


@pytest.fixture
def passes(run_program: ProgramRunner) -> TestChecker:
    """Whether ``code`` passes one code test, judged with the format's own rules."""

    def check(code: str, test: CodeTest) -> bool:
        result = run_program(build_test_program(code, test), test.stdin)
        return judge_run(test, exit_code=result.exit_code, stdout=result.stdout)

    return check


LessonFolder = Callable[..., Path]


@pytest.fixture
def lesson_folder(tmp_path: Path) -> LessonFolder:
    """Write lesson files plus a manifest listing them (ids taken from the file names, ``01-<id>.md``)."""

    def make(files: dict[str, str], entries: list[dict[str, str]] | None = None) -> Path:
        folder = tmp_path / "lessons"
        folder.mkdir(exist_ok=True)
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")
        if entries is None:
            entries = [{"id": name[3:-3], "file": name} for name in files]
        manifest = {"format": 1, "title": "Test unit", "lessons": entries}
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        return folder

    return make
