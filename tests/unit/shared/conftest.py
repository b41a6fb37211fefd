"""Fixtures for the lesson-format tests: a throwaway lessons folder and a local code-test runner.

``run_test_locally`` is the only place that executes code: the marking shim beside trusted lesson
code in a plain ``python3 -I`` here; tests/integration/sandbox runs the same tests in the real sandbox.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from shared.lessons import PROBE_SHIM_SOURCE, CodeTest, TestEvidence, compile_checks, judge_test

TestChecker = Callable[[str, CodeTest], bool]


def run_test_locally(code: str, test: CodeTest, work: Path) -> TestEvidence:
    """One test as the sandbox runs it (the shim beside the code in a fresh ``python3 -I``), on this
    machine. Only trusted lesson content (model, starter and known wrong answers) runs here."""
    checks = compile_checks(test.assert_code)
    job_read, job_write = os.pipe()
    report_read, report_write = os.pipe()
    with os.fdopen(job_write, "wb") as job:
        job.write(json.dumps({"code": code, "steps": checks.steps_for_shim()}).encode())
    completed = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-u", "-c", PROBE_SHIM_SOURCE, str(job_read), str(report_write)],
        input=test.stdin,
        capture_output=True,
        text=True,
        cwd=work,
        timeout=20,
        check=False,
        pass_fds=(job_read, report_write),
    )
    os.close(job_read)
    os.close(report_write)
    with os.fdopen(report_read, "rb") as report:
        raw = report.read()
    return TestEvidence(
        status="success" if completed.returncode == 0 else "error",
        stdout=completed.stdout,
        stderr=completed.stderr,
        report=raw,
        exit_code=completed.returncode,
    )


@pytest.fixture
def passes(tmp_path: Path) -> TestChecker:
    """Whether ``code`` passes one code test, judged by the format's own judge."""

    def check(code: str, test: CodeTest) -> bool:
        work = tmp_path / "work"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        evidence = run_test_locally(code, test, work)
        return judge_test(compile_checks(test.assert_code), test.expected_stdout, evidence).passed

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
