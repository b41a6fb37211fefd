"""Find the line each key of a TOML document sits on, so errors can point at it.

tomllib gives line numbers only for syntax errors; a missing or mistyped field needs this small scanner.
It understands tables, arrays of tables, dotted and quoted keys, and skips strings and comments.
"""

from __future__ import annotations

import re

__all__ = ["KeyLines"]

Path = tuple[str | int, ...]

_PART = r"""(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')"""
_KEY = re.compile(rf"\s*({_PART}(?:\s*\.\s*{_PART})*)\s*=")
_TABLE = re.compile(r"""\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$""")


def _split_key(raw: str) -> tuple[str, ...]:
    parts = re.findall(_PART, raw)
    return tuple(part.strip("\"'") for part in parts)


class KeyLines:
    """Line numbers (0-based, within the TOML text) of keys, table headers and multi-line values."""

    def __init__(self, text: str) -> None:
        self._key_lines: dict[Path, int] = {}
        self._content_lines: dict[Path, int] = {}
        self._scan(text)

    def line_of(self, path: Path) -> int | None:
        """The line of ``path`` or of its nearest ancestor that was found; None when nothing matched."""
        for end in range(len(path), 0, -1):
            found = self._key_lines.get(path[:end])
            if found is not None:
                return found
        return None

    def content_line(self, path: Path) -> int | None:
        """The line where the string value of ``path`` starts (after a ``'''`` + newline opener)."""
        return self._content_lines.get(path, self._key_lines.get(path))

    def _scan(self, text: str) -> None:
        table: Path = ()
        array_counts: dict[Path, int] = {}
        open_string: str | None = None
        for number, line in enumerate(text.splitlines()):
            if open_string is not None:
                open_string = _continue_string(line, 0, open_string)
                continue
            header = _TABLE.match(line)
            if header and not _KEY.match(line):
                names = _split_key(header.group(2))
                if header.group(1) == "[[":
                    index = array_counts.get(names, 0)
                    array_counts[names] = index + 1
                    table = (*names, index)
                else:
                    table = names
                self._key_lines.setdefault(table, number)
                continue
            key = _KEY.match(line)
            if key is None:
                open_string = _continue_string(line, 0, None)
                continue
            path = (*table, *_split_key(key.group(1)))
            self._key_lines.setdefault(path, number)
            rest = line[key.end() :].lstrip()
            if rest.startswith(('"""', "'''")) and rest[3:].strip() == "":
                self._content_lines.setdefault(path, number + 1)
            open_string = _continue_string(line, key.end(), None)


def _continue_string(line: str, start: int, open_string: str | None) -> str | None:
    """Scan ``line`` from ``start``; return the multi-line string delimiter still open at its end."""
    position = start
    length = len(line)
    while position < length:
        if open_string is not None:
            if open_string == '"""' and line[position] == "\\":
                position += 2
                continue
            if line.startswith(open_string, position):
                open_string = None
                position += 3
                continue
            position += 1
            continue
        char = line[position]
        if char == "#":
            return None
        if line.startswith(('"""', "'''"), position):
            open_string = line[position : position + 3]
            position += 3
            continue
        if char in "\"'":
            position = _skip_single_line_string(line, position)
            continue
        position += 1
    return open_string


def _skip_single_line_string(line: str, position: int) -> int:
    quote = line[position]
    position += 1
    while position < len(line):
        if quote == '"' and line[position] == "\\":
            position += 2
            continue
        if line[position] == quote:
            return position + 1
        position += 1
    return position
