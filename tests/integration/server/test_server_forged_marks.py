"""Programs that try to forge their automatic mark, sent through the real check endpoint
(`POST /api/python/check/{lesson}/{activity}`) of a server on PostgreSQL to the real Docker sandbox.

The activity has visible and hidden tests; its hidden expected values are distinctive strings that a
program could only return by finding them. Every forger below solves nothing, so each must score 0,
and the saved automatic mark must be 0 too. What the design is and why it holds: docs/sandbox.md,
"Why marks cannot be forged".
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from server_helpers import bearer, login

pytestmark = pytest.mark.docker

LESSON_ID = "forgery"
ACTIVITY_ID = "secret-words"
HIDDEN_VALUE = "SECRET-seven-7f3a"
HIDDEN_OUTPUT = "SECRET-output-91c2"

LESSON = f'''+++
id = "{LESSON_ID}"
title = "Forgery range"
summary = "An activity with hidden tests to attack."
order = 1
estimated_minutes = 5
+++

Words for numbers.

```python
print("example")
```

```activity
id = "{ACTIVITY_ID}"
kind = "code"
title = "Number words"
max_score = 4
prompt = "Write `word(n)`; print the word for the number read from input."
model_answer = \'\'\'
WORDS = {{1: "one", 3: "three", 7: "{HIDDEN_VALUE}", 9: "{HIDDEN_OUTPUT}"}}
def word(n):
    return WORDS.get(n, "many")
if __name__ == "__main__":
    print(word(int(input() or 0)))
\'\'\'

[[tests]]
name = "one"
stdin = "1"
assert_code = 'assert word(1) == "one"'

[[tests]]
name = "three, printed"
stdin = "3"
expected_stdout = "three"

[[tests]]
name = "seven"
stdin = "1"
assert_code = 'assert word(7) == "{HIDDEN_VALUE}"'
hidden = true

[[tests]]
name = "nine, printed"
stdin = "9"
expected_stdout = "{HIDDEN_OUTPUT}"
hidden = true
```

```activity
id = "why"
kind = "text"
title = "Why"
prompt = "Why?"
mark_scheme = "Any."
```

```activity
id = "pick"
kind = "choice"
title = "Pick"
prompt = "Pick one."
options = ["a", "b"]
correct = [0]
```
'''

FAKE_RECORDS = (
    '{"event": "value", "probe": 0, "value": "' + HIDDEN_VALUE.replace("7f3a", "guess") + '"}\\n'
    '{"event": "done"}\\n{"passed": true}\\n'
)
FAKE_LINES = [
    '{"status": "success", "tests": [{"status": "success", "report": ""}]}',
    "POST16-MARK-" + "0" * 32 + ' {"tests": [{"name": "one", "passed": true}]}',
    '{"event": "done"}',
    "PASSED 4/4",
]

# Each solves nothing: the function they define (if any) returns nothing useful of its own.
FORGERS: dict[str, str] = {
    "replaces exec": "import builtins\nbuiltins.exec = lambda *a, **k: None",
    "replaces eval": "import builtins\nbuiltins.eval = lambda *a, **k: 'one'\ndef word(n):\n    return None",
    "replaces compile": "import builtins\nbuiltins.compile = lambda *a, **k: compile('1', 'x', 'eval')",
    "replaces print": "import builtins\nbuiltins.print = lambda *a, **k: None\ndef word(n):\n    return None",
    "replaces open": "import builtins\nbuiltins.open = lambda *a, **k: None\ndef word(n):\n    return None",
    "replaces __import__": textwrap.dedent(
        """
        import builtins
        real = builtins.__import__
        def fake(name, *args, **kwargs):
            if name in ("json", "traceback", "os"):
                raise ImportError("no " + name)
            return real(name, *args, **kwargs)
        builtins.__import__ = fake
        def word(n):
            raise ValueError(n)
        """
    ),
    "walks frames to the shim": textwrap.dedent(
        """
        import sys
        def word(n):
            frame = sys._getframe(1)
            while frame is not None:
                for name, value in list(frame.f_locals.items()):
                    if callable(value) and name in ("send", "write", "flush"):
                        try:
                            value(event="value", probe=0, value="one")
                            value(event="done")
                        except TypeError:
                            pass
                print("FRAME", frame.f_code.co_name, sorted(frame.f_locals)[:8])
                frame = frame.f_back
            return None
        """
    ),
    "gc walk to the judge": textwrap.dedent(
        """
        import gc, json
        def word(n):
            found = [o for o in gc.get_objects() if isinstance(o, dict) and "expected" in o]
            for o in gc.get_objects():
                if type(o).__name__ == "function" and o.__name__ in ("encode", "walk", "send"):
                    o.__code__ = (lambda *a, **k: "one").__code__
            json.dumps = lambda *a, **k: '{"event": "done"}'
            return found[0]["expected"] if found else None
        """
    ),
    "always-equal object": textwrap.dedent(
        """
        class Anything:
            def __eq__(self, other): return True
            def __ne__(self, other): return False
            def __hash__(self): return 0
            def __bool__(self): return True
        def word(n):
            return Anything()
        print(Anything())
        """
    ),
    "subclass of str equal to everything": textwrap.dedent(
        """
        class Sneaky(str):
            def __eq__(self, other): return True
            __hash__ = str.__hash__
        def word(n):
            return Sneaky("x")
        """
    ),
    "custom repr and str": textwrap.dedent(
        f"""
        class Liar:
            def __repr__(self): return "'one'"
            def __str__(self): return "{HIDDEN_OUTPUT}"
            def __format__(self, spec): return "one"
        def word(n):
            return Liar()
        """
    ),
    "os._exit at import": "import os\nos._exit(0)",
    "sys.exit at import": "import sys\nsys.exit(0)",
    "os._exit in the function": "import os\ndef word(n):\n    os._exit(0)",
    "sys.exit in the function": "import sys\ndef word(n):\n    sys.exit(0)",
    "exit from atexit": textwrap.dedent(
        """
        import atexit, os
        atexit.register(lambda: os._exit(0))
        def word(n):
            return None
        """
    ),
    "exit from __del__": textwrap.dedent(
        """
        import os
        class Bomb:
            def __del__(self):
                os._exit(0)
        def word(n):
            return [Bomb()]
        """
    ),
    "writes fake records to every descriptor": textwrap.dedent(
        f"""
        import os
        fake = {FAKE_RECORDS!r}.encode()
        for fd in range(0, 256):
            try:
                os.write(fd, fake)
            except OSError:
                pass
        def word(n):
            for fd in range(0, 256):
                try:
                    os.write(fd, fake)
                except OSError:
                    pass
            os._exit(0)
        """
    ),
    "prints fake markers": textwrap.dedent(
        f"""
        import sys
        for line in {FAKE_LINES!r}:
            print(line)
            print(line, file=sys.stderr)
        def word(n):
            print({FAKE_LINES!r}[0])
            return None
        """
    ),
    "searches /proc and the disk for the answers": textwrap.dedent(
        """
        import gc, os, re
        PATTERN = re.compile(rb"SECRET-[a-z]+-[0-9a-f]{4}")
        def read(path, size=1 << 20):
            try:
                with open(path, "rb") as handle:
                    return handle.read(size)
            except (OSError, ValueError):
                return b""
        def scan():
            hits = set()
            for pid in os.listdir("/proc"):
                if pid.isdigit() or pid in ("self", "thread-self"):
                    for part in ("cmdline", "environ", "mem", "maps", "stat", "status"):
                        hits.update(PATTERN.findall(read(f"/proc/{pid}/{part}", 1 << 16)))
            for root in ("/work", "/tmp", "/var/tmp", "/dev/shm", "/run", "/home", "/root"):
                for folder, _dirs, files in os.walk(root):
                    for name in files:
                        hits.update(PATTERN.findall(read(os.path.join(folder, name))))
            for obj in gc.get_objects():
                if isinstance(obj, (str, bytes)):
                    data = obj.encode("utf-8", "replace") if isinstance(obj, str) else obj
                    hits.update(PATTERN.findall(data))
            hits.discard(b"SECRET-[a-z]+-[0-9a-f]{4}")
            return sorted(hit.decode() for hit in hits)
        FOUND = scan()
        print("FOUND", FOUND)
        def word(n):
            return FOUND[0] if FOUND else None
        """
    ),
    "signals everything": textwrap.dedent(
        """
        import os, signal
        for target in (-1, 1, os.getppid()):
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGKILL, signal.SIGSTOP):
                try:
                    os.kill(target, sig)
                except OSError:
                    pass
        def word(n):
            return None
        """
    ),
    "thread outlives its test": textwrap.dedent(
        f"""
        import os, threading, time
        fake = {FAKE_RECORDS!r}.encode()
        def haunt():
            while True:
                for fd in range(3, 64):
                    try:
                        os.write(fd, fake)
                    except OSError:
                        pass
                try:
                    with open("/work/ghost.txt", "w") as ghost:
                        ghost.write("boo")
                except OSError:
                    pass
                time.sleep(0.01)
        threading.Thread(target=haunt, daemon=False).start()
        if os.fork() == 0:
            os.setsid()
            haunt()
        def word(n):
            return None
        """
    ),
    "plants files and modules for the next test": textwrap.dedent(
        """
        import os
        FOLDERS = (os.getcwd(), "/work", os.path.expanduser("~"), "/tmp")
        for folder in FOLDERS:
            if any(os.path.lexists(os.path.join(folder, n)) for n in ("planted.txt", "json.py", "link")):
                print("SAW A PLANT in", folder)
        for folder in FOLDERS:
            try:
                for name, text in (("planted.txt", "x"), ("json.py", "def dumps(*a, **k): return 'done'")):
                    with open(os.path.join(folder, name), "w") as handle:
                        handle.write(text)
                os.symlink("/proc/1/fd/1", os.path.join(folder, "link"))
            except OSError:
                pass
        def word(n):
            return None
        """
    ),
}


@pytest.fixture(scope="module")
def forgery_lessons(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("forgery-lessons")
    (folder / "01-forgery.md").write_text(LESSON, encoding="utf-8")
    (folder / "manifest.json").write_text(
        '{"format": 1, "title": "Forgery", "lessons": [{"id": "forgery", "file": "01-forgery.md"}]}\n',
        encoding="utf-8",
    )
    return folder


@pytest.fixture
def checker(make_settings, users, sandbox_image, forgery_lessons):  # type: ignore[no-untyped-def]
    from litestar.testing import TestClient

    from server.app import create_app

    users.add("forger")
    settings = make_settings(
        POST16_SANDBOX_ENABLED="true",
        POST16_LESSONS_DIR=str(forgery_lessons),
        POST16_RATE_LIMITS="python_run=1000",
    )
    with TestClient(app=create_app(settings)) as client:
        headers = bearer(login(client, "forger"))

        def check(code: str) -> dict:
            response = client.post(
                f"/api/python/check/{LESSON_ID}/{ACTIVITY_ID}", headers=headers, json={"code": code}
            )
            assert response.status_code == 200, response.text
            marks = client.get("/api/marks", headers=headers).json()
            body = response.json()
            body["saved_marks"] = [mark["score"] for mark in marks if mark["activity_id"] == ACTIVITY_ID]
            return body

        yield check


def test_the_model_answer_scores_full_marks(checker, forgery_lessons):  # type: ignore[no-untyped-def]
    from shared.lessons import load_manifest

    model = load_manifest(forgery_lessons).lesson(LESSON_ID).activity(ACTIVITY_ID).model_answer

    result = checker(model)

    assert result["score"] == 4, result["tests"]
    assert result["saved_marks"] == [4]


@pytest.mark.parametrize("name", list(FORGERS))
def test_a_forging_program_scores_nothing(checker, name):  # type: ignore[no-untyped-def]
    result = checker(FORGERS[name])

    assert result["score"] == 0, (name, result["tests"])
    assert result["saved_marks"] == [0]
    assert not any(test["passed"] for test in result["tests"])
    seen = str(result)
    assert HIDDEN_VALUE not in seen
    assert HIDDEN_OUTPUT not in seen
    assert "SAW A PLANT" not in seen


def test_honest_work_after_an_attack_is_marked_normally(checker, forgery_lessons):  # type: ignore[no-untyped-def]
    assert checker(FORGERS["thread outlives its test"])["score"] == 0

    partial = (
        'def word(n):\n    return {1: "one", 3: "three"}.get(n, "many")\nprint(word(int(input() or 0)))\n'
    )

    result = checker(partial)

    assert [test["passed"] for test in result["tests"]] == [True, True, False, False]
    assert result["score"] == 2


def test_hidden_tests_report_no_data_and_no_timing(checker):  # type: ignore[no-untyped-def]
    slow_on_secret = "import time\ndef word(n):\n    time.sleep(n / 20)\n    return None\n"

    result = checker(slow_on_secret)

    hidden = [test for test in result["tests"] if test["name"] in ("seven", "nine, printed")]
    assert [(test["message"], test["stdout"], test["duration_ms"]) for test in hidden] == [
        ("this hidden test did not pass", "", 0.0),
        ("this hidden test did not pass", "", 0.0),
    ]
