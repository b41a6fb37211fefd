"""Post16 Lessons desktop app: `core` (no Qt: settings, local store, sync) and `ui` (PySide6)."""
