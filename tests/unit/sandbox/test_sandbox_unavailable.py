"""With no reachable Docker engine the runner answers `unavailable`; it never raises a Docker error."""

from pathlib import Path

from sandbox import RunRequest, SandboxLimits, SandboxRunner


async def test_run_without_an_engine_is_unavailable_with_a_clear_message(tmp_path: Path) -> None:
    engine = f"unix://{tmp_path / 'no-docker.sock'}"
    runner = SandboxRunner(SandboxLimits(pool_size=1), engines=[engine])
    await runner.start()
    try:
        result = await runner.run(RunRequest(code="print(1)"), owner="pupil")
        status = runner.status()
    finally:
        await runner.close()
    assert result.status == "unavailable"
    assert "not reachable" in result.message
    assert not status.reachable
    assert not status.usable


async def test_check_without_an_engine_scores_zero_and_says_why(tmp_path: Path) -> None:
    engine = f"unix://{tmp_path / 'no-docker.sock'}"
    async with SandboxRunner(SandboxLimits(pool_size=1), engines=[engine]) as runner:

        class Test:
            name = "adds"
            stdin = ""
            expected_stdout = None
            assert_code = "assert add(1, 1) == 2"

        result = await runner.check("def add(a, b): return a + b", [Test()], owner="pupil")
    assert result.run_status == "unavailable"
    assert result.score == 0
    assert result.tests[0].passed is False
