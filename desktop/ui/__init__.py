"""Everything Qt. `desktop.ui.qt` is the one module that imports PySide6; the rest import from it.
Widgets call the store and the sync engine (desktop.core); slow work runs in the background and reports
back through signals."""
