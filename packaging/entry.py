"""The frozen app's entry point (PyInstaller runs this file as `__main__`)."""

from desktop.main import main

if __name__ == "__main__":
    raise SystemExit(main())
