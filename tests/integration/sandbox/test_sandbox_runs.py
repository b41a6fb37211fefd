"""Ordinary runs in the real sandbox: output, stdin, files, and every result status."""

import msgspec
import pytest
from prometheus_client import REGISTRY
from sandbox_helpers import run_code

from sandbox import RunFile, RunRequest, SandboxInputError, SandboxRunner

pytestmark = [pytest.mark.docker, pytest.mark.asyncio(loop_scope="module")]


async def test_a_program_runs_and_its_output_comes_back(runner: SandboxRunner) -> None:
    result = await run_code(runner, "import sys\nprint('hello')\nprint('oops', file=sys.stderr)")
    assert result.status == "success"
    assert result.exit_code == 0
    assert result.stdout == "hello\n"
    assert result.stderr == "oops\n"
    assert result.duration_ms > 0
    assert not result.stdout_truncated


async def test_stdin_reaches_input(runner: SandboxRunner) -> None:
    code = "name = input()\nage = int(input())\nprint(f'{name} is {age + 1} next year')"
    result = await run_code(runner, code, stdin="Ada\n16\n")
    assert result.status == "success"
    assert result.stdout == "Ada is 17 next year\n"


async def test_uploaded_files_are_in_the_work_folder_and_importable(runner: SandboxRunner) -> None:
    request = RunRequest(
        code="import helper\nwith open('scores.csv') as f:\n    print(helper.total(f.read()))",
        files=[
            RunFile(name="scores.csv", content="3,4,5"),
            RunFile(
                name="helper.py", content="def total(text):\n    return sum(map(int, text.split(',')))\n"
            ),
        ],
    )
    result = await runner.run(request, owner="pupil")
    assert result.status == "success", result
    assert result.stdout == "12\n"


async def test_non_ascii_text_survives_the_round_trip(runner: SandboxRunner) -> None:
    result = await run_code(runner, "print(input()[::-1])", stdin="héllo wörld ✓\n")
    assert result.stdout == "✓ dlröw olléh\n"


async def test_an_exception_is_status_error_with_the_traceback(runner: SandboxRunner) -> None:
    result = await run_code(runner, "def f():\n    return 1 / 0\nf()")
    assert result.status == "error"
    assert result.exit_code == 1
    assert "ZeroDivisionError" in result.stderr
    assert 'File "/work/main.py", line 2' in result.stderr


async def test_exit_code_is_reported(runner: SandboxRunner) -> None:
    result = await run_code(runner, "import sys\nsys.exit(3)")
    assert result.status == "error"
    assert result.exit_code == 3


async def test_too_slow_is_status_timeout_and_keeps_earlier_output(runner: SandboxRunner) -> None:
    result = await run_code(runner, "print('started')\nwhile True:\n    pass")
    assert result.status == "timeout"
    assert result.exit_code is None
    assert result.stdout == "started\n"
    assert "time limit" in result.message


async def test_too_much_memory_is_status_memory(runner: SandboxRunner) -> None:
    result = await run_code(runner, "blocks = []\nwhile True:\n    blocks.append(bytearray(10**7))")
    assert result.status == "memory"
    assert "memory" in result.message


async def test_too_much_output_is_cut_marked_and_status_output_limit(runner: SandboxRunner) -> None:
    result = await run_code(runner, "for i in range(10**9):\n    print(i)")
    assert result.status == "output_limit"
    assert result.stdout_truncated
    assert len(result.stdout.encode()) == runner.limits.output_limit_bytes
    assert result.stdout.startswith("0\n1\n2\n")


async def test_a_request_broken_after_validation_is_refused_not_run(runner: SandboxRunner) -> None:
    request = RunRequest(code="print(1)", files=[RunFile(name="ok.txt", content="")])
    request.files[0].name = "../escape"  # Structs are mutable; the runner validates again
    with pytest.raises(SandboxInputError, match="name"):
        await runner.run(request, owner="pupil")


async def test_status_reports_a_reachable_engine_with_the_image_and_a_warm_pool(
    runner: SandboxRunner,
) -> None:
    await runner.wait_until_idle(30)
    status = runner.status()
    assert status.usable
    assert status.pool_ready == runner.limits.pool_size
    assert msgspec.json.decode(msgspec.json.encode(status))["reachable"] is True


async def test_runs_are_counted_in_prometheus_metrics(runner: SandboxRunner) -> None:
    def count() -> float:
        return REGISTRY.get_sample_value("tlac_sandbox_runs_total", {"status": "success"}) or 0.0

    before = count()
    await run_code(runner, "print(1)")
    assert count() == before + 1
    assert (REGISTRY.get_sample_value("tlac_sandbox_run_duration_seconds_count") or 0) >= 1
    assert REGISTRY.get_sample_value("tlac_sandbox_queue_depth") == 0
    await runner.wait_until_idle(30)
    assert (REGISTRY.get_sample_value("tlac_sandbox_pool_ready") or 0) >= runner.limits.pool_size
