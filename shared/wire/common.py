"""Constrained scalar types shared by every wire module."""

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

Slug = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$", description="lowercase id")]
Username = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$",
        description="1-64 letters, digits, '.', '_', '@' or '-'",
    ),
]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
NewPassword = Annotated[str, msgspec.Meta(min_length=8, max_length=1024, description="at least 8 characters")]
# PostgreSQL text cannot hold U+0000: free text that is stored refuses it up front.
NO_NUL = r"^[^\x00]*$"
DisplayName = Annotated[str, msgspec.Meta(min_length=1, max_length=120, pattern=NO_NUL)]
Role = Literal["pupil", "teacher", "admin"]
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True, description="RFC 3339 with a time zone")]
# An answer's state is the client's JSON object; its size is capped by the request body limit.
State = dict[str, Any]
Id = Annotated[int, msgspec.Meta(ge=1, le=2**62)]


class ErrorBody(msgspec.Struct, kw_only=True):
    """The body of every error answer."""

    code: str
    detail: str
    field: str | None = None
    request_id: str | None = None
    retry_after: int | None = None


__all__ = [
    "NO_NUL",
    "AwareDatetime",
    "DisplayName",
    "ErrorBody",
    "Id",
    "NewPassword",
    "Password",
    "Role",
    "Slug",
    "State",
    "Username",
]
