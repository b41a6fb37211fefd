"""The trusted shim: the one piece of our code that runs inside the pupil's own Python process.

It is started as ``python3 -I -S -u -c <this source> JOB_FD REPORT_FD`` in an empty working folder (the
sandbox hands the same interpreter this source compiled once per container, sandbox/_inside/bootstrap.py).
It reads the job (the pupil's code and the test's probe steps, never an expected value) from JOB_FD,
runs the pupil's code as ``__main__``, then each step of the test in the same namespace, and writes
what happened to REPORT_FD as one JSON record per line. It judges nothing: a probe's value is
serialised as plain data (None, bool, int, float, str, bytes, list, tuple, set, frozenset, dict — by
exact type, so no subclass and no object with its own ``__eq__`` gets through) and the judge, in a
process the pupil cannot reach, compares it with the expected value.

Everything here can be tampered with by the pupil's code, which shares the process: that is fine,
because anything it makes this shim write is only a claim about the pupil's own values, checked
strictly by the judge (shared.lessons.checks), which never sends expected values to this process.
Standard library only (the sandbox image has nothing else); keep it small and fast to start. It runs once
per test, so its start-up is paid four times by a 4-test check: `import json` alone (it pulls in `re`,
`enum`, `functools`) cost more CPU than the interpreter's own start in the sandbox image. So the job is
read with the C scanner of `_json`, the module `json` itself uses, and the report written by the small
writer below; an interpreter without `_json` falls back to `json`. The format on both sides is JSON.
"""

import os
import sys

try:
    from _json import encode_basestring_ascii as quote
    from _json import make_scanner
except ImportError:  # an interpreter built without the accelerator: the pure-Python module then
    from json import loads as _loads
    from json.encoder import py_encode_basestring_ascii as quote

    def load(text: str) -> object:
        return _loads(text)

else:

    def _refuse_constant(name: str) -> object:
        raise ValueError(f"{name} is not a value of a job")

    class _Strict:
        """The settings `_json.make_scanner` reads (as `json.JSONDecoder` would pass them)."""

        strict = True
        object_hook = None
        object_pairs_hook = None
        parse_float = float
        parse_int = int
        parse_constant = _refuse_constant

    _scan = make_scanner(_Strict)  # type: ignore[arg-type] # the class is the settings object

    def load(text: str) -> object:
        value, end = _scan(text, 0)
        if text[end:].strip():
            raise ValueError("a job is one JSON value")
        return value


MAX_DEPTH = 64
MAX_ITEMS = 100_000
MAX_TEXT = 2000


class NotPlain(Exception):
    """The value (or something inside it) is not plain data."""


def encode(value: object, budget: list[int]) -> object:
    """Plain data as JSON-ready values; tuples, sets, dicts and bytes tagged so the judge can rebuild them."""

    def walk(item: object, depth: int) -> object:
        budget[0] -= 1
        if budget[0] < 0 or depth > MAX_DEPTH:
            raise NotPlain("too large or too deeply nested")
        if item is None or type(item) is bool or type(item) is str:
            return item
        if type(item) is int:
            return item if -(10**300) < item < 10**300 else {"int": hex(item)}
        if type(item) is float:
            if item != item or item in (float("inf"), float("-inf")):  # noqa: PLR0124 - NaN test
                return {"float": repr(item)}
            return item
        if type(item) is bytes:
            return {"bytes": item.hex()}
        if type(item) is list:
            return [walk(element, depth + 1) for element in item]
        if type(item) is tuple:
            return {"tuple": [walk(element, depth + 1) for element in item]}
        if type(item) is set:
            return {"set": [walk(element, depth + 1) for element in item]}
        if type(item) is frozenset:
            return {"frozenset": [walk(element, depth + 1) for element in item]}
        if type(item) is dict:
            return {"dict": [[walk(key, depth + 1), walk(entry, depth + 1)] for key, entry in item.items()]}
        raise NotPlain(getattr(type(item), "__name__", "object"))

    return walk(value, 0)


def dumps(value: object) -> str:
    """JSON for what `encode` returns and the report's records (str keys, finite floats, ASCII out)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if type(value) is str:
        return quote(value)
    if type(value) is int:
        return int.__repr__(value)
    if type(value) is float:
        return float.__repr__(value)
    if type(value) is list:
        return "[" + ",".join([dumps(item) for item in value]) + "]"
    if type(value) is dict:
        return "{" + ",".join([quote(str(key)) + ":" + dumps(item) for key, item in value.items()]) + "}"
    raise NotPlain(getattr(type(value), "__name__", "object"))


def describe(error: BaseException) -> str:
    try:
        text = str(error)
    except BaseException:
        text = ""
    name = getattr(type(error), "__name__", "Exception")
    return (f"{name}: {text}" if text else name)[:MAX_TEXT]


def main() -> None:
    with open(int(sys.argv[1]), "rb") as source:
        job = load(source.read().decode("utf-8", "surrogatepass"))
    if type(job) is not dict or type(job.get("code")) is not str or type(job.get("steps")) is not list:
        raise ValueError("the job is not {code, steps}")
    code, steps = job["code"], job["steps"]
    report = os.fdopen(int(sys.argv[2]), "w", encoding="utf-8")
    # Taken before the pupil's code runs, so replacing a builtin cannot stand in for these.
    write, flush, exit_now = report.write, report.flush, os._exit
    run_code, evaluate, compile_source = exec, eval, compile

    def send(**record: object) -> None:
        write(dumps(record) + "\n")
        flush()

    def flush_output() -> None:
        for stream in (sys.stdout, sys.stderr):
            try:  # noqa: SIM105 - no contextlib import: every millisecond of start-up counts here
                stream.flush()
            except BaseException:  # noqa: S110 - the pupil may have replaced or closed the streams
                pass

    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    sys.argv = ["main.py"]
    try:
        run_code(compile_source(code, "main.py", "exec"), namespace)
    except SystemExit:
        pass  # sys.exit() ends the pupil's part, never the test's steps
    except BaseException as error:
        import traceback

        traceback.print_exc()
        flush_output()
        send(event="program_raised", error=describe(error))
        exit_now(0)
    for number, step in enumerate(steps):
        if step[0] == "run":
            try:
                run_code(compile_source(step[1], "<test>", "exec"), namespace)
            except BaseException as error:
                flush_output()
                send(event="setup_raised", step=number, error=describe(error))
                exit_now(0)
            continue
        probe = step[1]
        try:
            value = evaluate(compile_source(step[2], "<test>", "eval"), namespace)
        except BaseException as error:
            send(event="raised", probe=probe, error=describe(error))
            continue
        try:
            encoded = encode(value, [MAX_ITEMS])
        except NotPlain as why:
            send(event="not_plain", probe=probe, type=str(why)[:200])
            continue
        except BaseException as error:
            send(event="not_plain", probe=probe, type=describe(error)[:200])
            continue
        send(event="value", probe=probe, value=encoded)
    flush_output()
    send(event="done")
    exit_now(0)


if __name__ == "__main__":
    main()
