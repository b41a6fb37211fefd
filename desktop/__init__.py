"""Post16 Lessons desktop app: `core` (no Qt: settings, local store, sync) and `ui` (PySide6)."""

#: The app's version, shown by `--version` and Help → About, sent in the User-Agent and used by the
#: installers; kept equal to pyproject.toml's (a unit test checks).
__version__ = "0.1.0"
