"""The frozen app as a Python interpreter for pupils' programs: `post16-desktop --run-program FILE`.

A PyInstaller bundle has no `python` to start, so the local runner (local_runner.py) starts the app
itself with `--run-program`; packaging/entry.py sends that here before anything else is imported. It
behaves as `python -I -u FILE` does for a pupil: the file runs as `__main__` with its own `sys.argv`,
output is not buffered, and `assert` statements run even though the bundle is built with -O.
"""

from __future__ import annotations

import builtins
import sys
import types

__all__ = ["run_program_file"]


def run_program_file(path: str) -> None:
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(write_through=True)
    with open(path, encoding="utf-8") as source_file:
        source = source_file.read()
    module = types.ModuleType("__main__")
    module.__file__ = path
    module.__dict__["__builtins__"] = builtins
    sys.modules["__main__"] = module
    sys.argv = [path]
    code = compile(source, path, "exec", dont_inherit=True, optimize=0)
    exec(code, module.__dict__)  # noqa: S102 - the pupil's own program, on their own laptop account
