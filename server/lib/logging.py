"""Structured logs: one JSON object a line, carrying the request id, user and client IP of the request
being served (from a context variable set by the request middleware)."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

request_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "post16_request_context", default=None
)

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(request_context.get() or {})
        entry.update({key: value for key, value in record.__dict__.items() if key not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class ContextTextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        context = request_context.get() or {}
        prefix = " ".join(f"{key}={value}" for key, value in context.items())
        text = super().format(record)
        return f"{text} [{prefix}]" if prefix else text


def configure_logging(level: str = "INFO", json_lines: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter()
        if json_lines
        else ContextTextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger("post16")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


__all__ = ["JsonFormatter", "configure_logging", "request_context"]
