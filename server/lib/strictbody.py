"""Request bodies decoded strictly: a number where a time is expected is refused, not taken as a Unix time.

Litestar converts a handler's `data` with msgspec in lax mode, which turns `"client_time": 5` (or `"5"`)
into 1970-01-01T00:00:05Z and `"score": "2"` into 2.0. Before the handler runs, this hook decodes the
body again, strictly, against the same type; when only the lax conversion accepts it, the request is
refused with a 400 that names the field (e.g. `operations[0].client_time`). Bodies that fail either way
are left to Litestar's own validation error; bodies that pass strictly go on unchanged (Litestar's cached
copy of the body is reused, so the body is read once).
"""

from __future__ import annotations

import functools
import logging
import re
from typing import Any

import msgspec
from litestar import Request

from server.lib.errors import AppError
from shared.errors import ErrorCode

log = logging.getLogger("post16.input")
_PATH = re.compile(r"^(?P<message>.*) - at `\$\.?(?P<path>[^`]*)`$")


@functools.cache
def _decoders(data_type: Any) -> tuple[msgspec.json.Decoder[Any], msgspec.json.Decoder[Any]]:
    return msgspec.json.Decoder(data_type, strict=True), msgspec.json.Decoder(data_type, strict=False)


def _field_and_message(error: msgspec.ValidationError) -> tuple[str | None, str]:
    match = _PATH.match(str(error))
    if match is None:
        return None, str(error)
    return match["path"] or None, match["message"]


async def strict_body(request: Request[Any, Any, Any]) -> None:
    """`before_request` hook: refuse a JSON body that only lax conversion would accept."""
    data = request.route_handler.parsed_fn_signature.parameters.get("data")
    if data is None or request.method in {"GET", "HEAD", "OPTIONS"}:
        return
    body = await request.body()
    if not body:
        return
    strict, lax = _decoders(data.annotation)
    try:
        strict.decode(body)
    except msgspec.ValidationError as error:
        try:
            lax.decode(body)
        except (msgspec.ValidationError, msgspec.DecodeError):
            return  # wrong either way: Litestar's validation answers, naming the field
        field, message = _field_and_message(error)
        if "datetime" in message:
            message = f"{message}: give a time as RFC 3339 text with a time zone, e.g. 2026-09-01T08:00:00Z"
        raise AppError(
            400, ErrorCode.VALIDATION, f"{field}: {message}" if field else message, field=field
        ) from error
    except msgspec.DecodeError:
        return  # not JSON: Litestar answers


__all__ = ["strict_body"]
