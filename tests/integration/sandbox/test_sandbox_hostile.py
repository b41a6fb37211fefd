"""Hostile programs in the real sandbox: each is contained, the container it used is removed, nothing is
left behind, and the next run works."""

import os
import secrets
from pathlib import Path

import docker
import pytest
from sandbox_helpers import assert_contained, container_ids, own_containers, run_code

from sandbox import SandboxRunner

pytestmark = [pytest.mark.docker, pytest.mark.asyncio(loop_scope="module")]


async def test_fork_bomb_is_stopped_by_the_pids_limit(
    runner: SandboxRunner, docker_api: docker.APIClient
) -> None:
    before = await container_ids(runner, docker_api)
    code = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
    result = await run_code(runner, code)
    assert result.status in {"timeout", "error"}
    await assert_contained(runner, docker_api, before)


async def test_memory_bomb_is_stopped_with_status_memory(
    runner: SandboxRunner, docker_api: docker.APIClient
) -> None:
    before = await container_ids(runner, docker_api)
    result = await run_code(runner, "data = b'x' * (2 * 1024**3)\nprint(len(data))")
    assert result.status == "memory"
    assert result.stdout == ""
    await assert_contained(runner, docker_api, before)


async def test_cpu_spin_is_stopped_at_the_time_limit(
    runner: SandboxRunner, docker_api: docker.APIClient
) -> None:
    before = await container_ids(runner, docker_api)
    result = await run_code(runner, "n = 0\nwhile True:\n    n += 1")
    assert result.status == "timeout"
    await assert_contained(runner, docker_api, before)


async def test_sleeping_forever_is_stopped_at_the_time_limit(
    runner: SandboxRunner, docker_api: docker.APIClient
) -> None:
    before = await container_ids(runner, docker_api)
    result = await run_code(runner, "import time\ntime.sleep(10**6)")
    assert result.status == "timeout"
    assert result.duration_ms < 10_000
    await assert_contained(runner, docker_api, before)


async def test_a_billion_lines_of_output_stop_at_the_cap(
    runner: SandboxRunner, docker_api: docker.APIClient
) -> None:
    before = await container_ids(runner, docker_api)
    code = "import sys\nfor i in range(10**9):\n    print('line', i)\n    print('err', i, file=sys.stderr)"
    result = await run_code(runner, code)
    assert result.status == "output_limit"
    assert result.stdout_truncated or result.stderr_truncated
    assert len(result.stdout.encode()) <= runner.limits.output_limit_bytes
    assert len(result.stderr.encode()) <= runner.limits.output_limit_bytes
    await assert_contained(runner, docker_api, before)


async def test_a_huge_file_fills_only_the_small_work_folder(
    runner: SandboxRunner, docker_api: docker.APIClient
) -> None:
    before = await container_ids(runner, docker_api)
    code = "chunk = b'x' * 2**20\nwith open('big.bin', 'wb') as f:\n    while True:\n        f.write(chunk)"
    result = await run_code(runner, code)
    assert result.status == "error"
    assert "No space left on device" in result.stderr or "File too large" in result.stderr
    await assert_contained(runner, docker_api, before)


async def test_there_is_no_network(runner: SandboxRunner, docker_api: docker.APIClient) -> None:
    before = await container_ids(runner, docker_api)
    code = """
import socket
print(sorted(name for _, name in socket.if_nameindex()))
for address in [("1.1.1.1", 53), ("8.8.8.8", 443), ("10.0.0.1", 80)]:
    s = socket.socket()
    s.settimeout(1)
    try:
        s.connect(address)
        print("CONNECTED", address)
    except OSError as error:
        print("refused", error.errno)
try:
    socket.getaddrinfo("example.com", 80)
    print("RESOLVED")
except OSError:
    print("no dns")
u = socket.socket(socket.AF_UNIX)
try:
    u.connect("/var/run/docker.sock")
    print("DOCKER SOCKET")
except OSError:
    print("no docker socket")
"""
    result = await run_code(runner, code)
    assert result.status == "success", result
    assert result.stdout.splitlines()[0] == "['lo']"
    assert "CONNECTED" not in result.stdout
    assert "RESOLVED" not in result.stdout
    assert "no docker socket" in result.stdout
    await assert_contained(runner, docker_api, before)


async def test_nothing_of_the_host_is_visible(
    runner: SandboxRunner, docker_api: docker.APIClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = secrets.token_hex(8)
    monkeypatch.setenv("POST16_HOST_SECRET", secret)
    (tmp_path / "host-secret.txt").write_text(secret)
    before = await container_ids(runner, docker_api)
    code = f"""
import os
print("ENV", sorted(os.environ))
print("SECRET_IN_ENV", any({secret!r} in value for value in os.environ.values()))
for path in [{str(tmp_path / "host-secret.txt")!r}, {str(Path.cwd() / "pyproject.toml")!r}, "/etc/shadow",
             "/proc/1/environ", "/root/.bash_history", "/var/run/docker.sock"]:
    try:
        with open(path) as f:
            print("READ", path, {secret!r} in f.read())
    except OSError as error:
        print("denied", path, type(error).__name__)
print("PIDS", sorted(int(p) for p in os.listdir("/proc") if p.isdigit()))
"""
    result = await run_code(runner, code)
    assert result.status == "success", result
    lines = result.stdout.splitlines()
    env_names = eval(lines[0].removeprefix("ENV "))  # a printed list of names
    assert set(env_names) <= {"PATH", "HOME", "TMPDIR", "LANG", "PYTHONIOENCODING", "HOSTNAME"}
    assert "SECRET_IN_ENV False" in lines
    assert not any(line.startswith("READ") for line in lines), result.stdout
    pids = eval(lines[-1].removeprefix("PIDS "))
    assert len(pids) <= 3  # the bootstrap, the program, and nothing of the host
    assert secret not in result.stdout
    await assert_contained(runner, docker_api, before)


async def test_writing_outside_the_work_folder_fails(
    runner: SandboxRunner, docker_api: docker.APIClient
) -> None:
    before = await container_ids(runner, docker_api)
    code = """
import os
for path in ["/x", "/etc/passwd", "/tmp/x", "/usr/lib/python3.11/os.py", "/home/x", "/dev/shm/x",
             "/var/tmp/x", "/proc/sys/kernel/hostname", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]:
    try:
        with open(path, "a") as f:
            f.write("x")
        print("WROTE", path)
    except OSError as error:
        print("refused", path)
with open("/work/mine.txt", "w") as f:
    f.write("fine")
print("work ok")
"""
    result = await run_code(runner, code)
    assert result.status == "success", result
    assert "WROTE" not in result.stdout
    assert "work ok" in result.stdout
    await assert_contained(runner, docker_api, before)


async def test_symlinks_planted_by_the_program_lead_nowhere_on_the_host(
    runner: SandboxRunner, docker_api: docker.APIClient
) -> None:
    before = await container_ids(runner, docker_api)
    code = """
import os
os.symlink("/etc/passwd", "data.txt")
os.symlink("/proc/1/root", "root")
os.symlink("../../../../", "up")
print(open("data.txt").read().count("runner"))
try:
    os.listdir("root")
    print("LISTED ROOT OF PID 1")
except OSError:
    print("denied")
"""
    result = await run_code(runner, code)
    assert result.status == "success", result
    assert "LISTED" not in result.stdout
    # Files come in through the job on stdin and results leave on stdout: nothing on the host follows
    # these links, and the container (and its links) is removed.
    await assert_contained(runner, docker_api, before)


async def test_privileges_cannot_be_raised(runner: SandboxRunner, docker_api: docker.APIClient) -> None:
    before = await container_ids(runner, docker_api)
    code = """
import os, subprocess
print("uid", os.getuid(), os.geteuid())
status = open("/proc/self/status").read()
print([line for line in status.splitlines() if line.startswith(("CapEff", "CapPrm", "NoNewPrivs"))])
for attempt in (lambda: os.setuid(0), lambda: os.setgid(0), lambda: os.chroot("/")):
    try:
        attempt()
        print("RAISED")
    except OSError:
        print("refused")
for argv in (["sudo", "id"], ["su", "-c", "id"]):
    try:
        done = subprocess.run(argv, capture_output=True, text=True, input="", timeout=5)
        print(argv[0], done.returncode, "uid=0" in done.stdout)
    except FileNotFoundError:
        print(argv[0], "absent")
found = subprocess.run(["find", "/", "-xdev", "-perm", "/6000", "-type", "f"], capture_output=True, text=True)
print("setuid files", found.stdout.split())
"""
    result = await run_code(runner, code)
    assert result.status == "success", result
    out = result.stdout
    assert "uid 10001 10001" in out
    assert "'CapEff:\\t0000000000000000'" in out
    assert "'NoNewPrivs:\\t1'" in out
    assert "RAISED" not in out
    assert "sudo absent" in out
    assert "su 1 False" in out or "su absent" in out
    assert "setuid files []" in out
    await assert_contained(runner, docker_api, before)


async def test_killing_pid_1_and_the_parent_changes_nothing(
    runner: SandboxRunner, docker_api: docker.APIClient
) -> None:
    before = await container_ids(runner, docker_api)
    code = """
import os, signal
for sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGSTOP):
    for pid in (1, os.getppid()):
        try:
            os.kill(pid, sig)
        except OSError as error:
            print("refused", error.errno)
print("still here")
"""
    result = await run_code(runner, code)
    assert result.status == "success", result
    assert result.stdout.endswith("still here\n")
    await assert_contained(runner, docker_api, before)


async def test_a_program_inherits_only_its_standard_streams_and_is_the_oom_killers_choice(
    runner: SandboxRunner,
) -> None:
    code = """
import os
def is_open(fd):
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True
print("open beyond stdio", [fd for fd in range(3, 256) if is_open(fd)])
print("oom_score_adj", open("/proc/self/oom_score_adj").read().strip())
print("own session", os.getsid(0) == os.getpid())
"""
    result = await run_code(runner, code)

    assert result.status == "success", result
    assert "open beyond stdio []" in result.stdout
    assert "oom_score_adj 1000" in result.stdout
    assert "own session True" in result.stdout


async def test_a_finished_runs_container_holds_nothing_but_its_idle_pid_1_until_removed(
    runner: SandboxRunner, docker_api: docker.APIClient
) -> None:
    before = await container_ids(runner, docker_api)
    code = """
import subprocess, sys
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
print("left a sleeper")
"""
    result = await run_code(runner, code)
    assert result.status == "success", result

    # At once, before the pool removes it in the quiet: the used container (and any new warm one).
    processes = {}
    for entry in own_containers(docker_api, runner):
        if entry["Id"] in before:
            continue
        try:
            processes[entry["Id"]] = docker_api.top(entry["Id"])["Processes"] or []
        except docker.errors.APIError:
            continue  # already being removed
    assert processes, "the used container was already gone"
    assert all(len(listed) == 1 for listed in processes.values()), processes
    await assert_contained(runner, docker_api, before)


def host_processes_mentioning(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                if marker.encode() in cmdline.read():
                    found.append(int(entry))
        except OSError:
            continue
    return found


async def test_background_processes_are_gone_after_the_run(
    runner: SandboxRunner, docker_api: docker.APIClient
) -> None:
    marker = f"post16-bg-{secrets.token_hex(6)}"
    before = await container_ids(runner, docker_api)
    code = f"""
import os, subprocess, sys
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", {marker!r}], start_new_session=True,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
if os.fork() == 0:
    os.setsid()
    os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(600)", {marker!r}])
print("left behind")
"""
    result = await run_code(runner, code)
    assert result.status == "success", result
    await assert_contained(runner, docker_api, before)
    assert host_processes_mentioning(marker) == []


async def test_programs_run_under_the_pinned_seccomp_filter(runner: SandboxRunner) -> None:
    code = "print([line for line in open('/proc/self/status') if line.startswith('Seccomp')])"

    result = await run_code(runner, code)

    assert "'Seccomp:\\t2\\n'" in result.stdout, result.stdout
