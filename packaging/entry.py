"""The frozen app's entry point (PyInstaller runs this file as `__main__`).

`--run-program FILE` makes the app the Python interpreter of a pupil's program (the local runner,
desktop/core/local_runner.py); it is handled before the app itself is imported, so it starts fast.
"""

import sys

if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--run-program":
        from desktop.core.program_host import run_program_file

        run_program_file(sys.argv[2])
    else:
        from desktop.main import main

        raise SystemExit(main())
