"""Login, logout and the current user."""

from datetime import datetime
from typing import Literal

import msgspec

from shared.wire.common import NewPassword, Password, Role, Username


class LoginRequest(msgspec.Struct, kw_only=True):
    username: Username
    password: Password
    client: Literal["web", "desktop"] = "web"


class User(msgspec.Struct, kw_only=True):
    id: int
    username: str
    display_name: str
    role: Role
    disabled: bool = False


class LoginResponse(msgspec.Struct, kw_only=True):
    """`token` is set for desktop clients (send it as `Authorization: Bearer`); the web console gets the
    `tlac_session` cookie instead, plus `csrf_token` to send as `X-CSRF-Token` on every unsafe request.
    `device_token` (desktop, first login from this device): keep it and send it as `X-Post16-Device` on
    later logins as this user; the web console gets it as the `tlac_device` cookie."""

    user: User
    expires_at: datetime
    token: str | None = None
    csrf_token: str | None = None
    device_token: str | None = None


class Me(msgspec.Struct, kw_only=True):
    user: User
    csrf_token: str | None = None
    session_expires_at: datetime


class PasswordChange(msgspec.Struct, kw_only=True):
    current_password: Password
    new_password: NewPassword


__all__ = ["LoginRequest", "LoginResponse", "Me", "PasswordChange", "User"]
