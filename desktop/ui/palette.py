"""The desktop app's own text colours, named by what they say, and the backgrounds they are drawn on.

Qt's palette gives the rest (Fusion: black text on #efefef windows and white text boxes). Every colour
here is held to WCAG 2.1 AA (a contrast of at least 4.5:1 for text) by
tests/integration/desktop/test_desktop_accessibility.py, which reads `TEXT_PAIRS`; a new colour goes
here with the background it sits on, not as a literal in a widget.
"""

from __future__ import annotations

__all__ = [
    "BASE",
    "CODE_TOKENS",
    "ERROR_TEXT",
    "GUTTER_BACKGROUND",
    "GUTTER_TEXT",
    "HINT_STYLE",
    "MARK_BACKGROUNDS",
    "NOTICE_BACKGROUNDS",
    "STATUS_COLOURS",
    "TEXT",
    "TEXT_PAIRS",
    "WARNING_TEXT",
    "WINDOW",
]

#: Qt's window background (Fusion), under labels and the status bar.
WINDOW = "#efefef"
#: A text box's background, under the code editor's text.
BASE = "#ffffff"
#: Qt's default text colour (Fusion), on the backgrounds below that set no text colour of their own.
TEXT = "#000000"

#: The notification line's background, by level.
NOTICE_BACKGROUNDS = {"info": "#e8f0fe", "warning": "#fff4e5", "error": "#fdecea"}
#: A pupil's mark box: green only for full marks (a 0/3 in green reads as "well done").
MARK_BACKGROUNDS = {"full": "#eaf6ea", "partial": "#fff4d6", "zero": "#fdecea"}

#: A revealed hint: a pale blue panel (dark text on it passes WCAG AA) with a rule at its side.
HINT_STYLE = "QLabel { background: #eef4fb; border-left: 3px solid #2f6db5; padding: 6px; }"

#: Errors and "not encrypted" (dark red), and cautions such as an insecure address (dark amber).
ERROR_TEXT = "#b00020"
WARNING_TEXT = "#8a4b00"

#: The connection state in the status bar, by sync state.
STATUS_COLOURS = {
    "idle": "#18713a",  # Online
    "syncing": "#1a5fb4",
    "offline": ERROR_TEXT,
    "session_expired": "#9a4f00",  # Logged out
    "outdated": ERROR_TEXT,
    "error": "#9a4f00",  # Sync problem
    "unknown": "#333333",
}

#: The code editor's line numbers and their gutter.
GUTTER_TEXT = "#56606a"
GUTTER_BACKGROUND = "#eef1f4"

#: Syntax highlighting (by token kind; bold or not is the editor's choice), on BASE.
CODE_TOKENS = {
    "keyword": "#7a3e9d",
    "builtin": "#1f6f8b",
    "function": "#1a5fb4",
    "string": "#2e7d32",
    "number": "#9c5318",
    "comment": "#5f6770",
}

#: (what, text colour, background) for every colour above, as the app draws it.
TEXT_PAIRS: tuple[tuple[str, str, str], ...] = (
    ("error text", ERROR_TEXT, WINDOW),
    ("warning text", WARNING_TEXT, WINDOW),
    *((f"status: {state}", colour, WINDOW) for state, colour in STATUS_COLOURS.items()),
    *((f"notice: {level}", TEXT, colour) for level, colour in NOTICE_BACKGROUNDS.items()),
    *((f"mark: {level}", TEXT, colour) for level, colour in MARK_BACKGROUNDS.items()),
    ("line numbers", GUTTER_TEXT, GUTTER_BACKGROUND),
    *((f"code: {kind}", colour, BASE) for kind, colour in CODE_TOKENS.items()),
)
