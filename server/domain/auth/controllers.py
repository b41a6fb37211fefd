"""`/api/auth`: login, logout, the current user, password change."""

from __future__ import annotations

from typing import Any, cast

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import Provide
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from server.domain.auth.guards import SESSION_COOKIE, bearer_or_cookie, request_client_ip
from server.domain.auth.services import AuthService
from server.domain.deps import AppSettings, Caller, Db
from shared.wire.auth import LoginRequest, LoginResponse, Me, PasswordChange, User
from shared.wire.common import Role


def user_out(user: Any) -> User:
    return User(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=cast(Role, user.role),
        disabled=bool(getattr(user, "disabled", False)),
    )


def auth_user(auth: Caller) -> User:
    return User(
        id=auth.user_id, username=auth.username, display_name=auth.display_name, role=cast(Role, auth.role)
    )


# A device that logged in before sends its device token back (server.domain.auth.throttle): the web
# console as this cookie (only ever sent to /api/auth), the desktop app as this header.
DEVICE_COOKIE = "tlac_device"
DEVICE_HEADER = "X-Post16-Device"


class AuthController(Controller):
    path = "/api/auth"
    tags = ["auth"]

    @post("/login", status_code=HTTP_200_OK)
    async def login(
        self, request: Request[Any, Any, Any], data: JSONBody[LoginRequest], db: Db, settings: AppSettings
    ) -> Response[LoginResponse]:
        """Log in. Desktop clients (`"client": "desktop"`) get a bearer token; the web console gets the
        `tlac_session` cookie and a CSRF token. Repeated failures are throttled (429 + Retry-After); a
        device that logged in before (`tlac_device` cookie, or `X-Post16-Device` with the desktop's
        `device_token`) is throttled on its own, so nobody else's failures lock it out."""
        previous, _ = bearer_or_cookie(request)
        result = await AuthService(db, settings).login(
            data.username,
            data.password,
            data.client,
            request_client_ip(request),
            request.headers.get("user-agent"),
            previous_token=previous,
            device_token=request.headers.get(DEVICE_HEADER) or request.cookies.get(DEVICE_COOKIE),
        )
        body = LoginResponse(user=user_out(result.user), expires_at=result.expires_at)
        cookies = []
        if data.client == "desktop":
            body.token = result.token
            body.device_token = result.device_token
        else:
            body.csrf_token = result.csrf_token
            cookies.append(
                Cookie(
                    key=SESSION_COOKIE,
                    value=result.token,
                    httponly=True,
                    secure=settings.cookie_secure,
                    samesite="strict",
                    path="/",
                    max_age=settings.web_session_absolute,
                )
            )
            if result.device_token:
                cookies.append(
                    Cookie(
                        key=DEVICE_COOKIE,
                        value=result.device_token,
                        httponly=True,
                        secure=settings.cookie_secure,
                        samesite="strict",
                        path="/api/auth",
                        max_age=settings.login_device_days * 86400,
                    )
                )
        return Response(body, cookies=cookies, headers={"Cache-Control": "no-store"})

    @post("/logout", status_code=HTTP_204_NO_CONTENT)
    async def logout(self, auth: Caller, db: Db, settings: AppSettings) -> Response[None]:
        """End this session (the token stops working at once)."""
        await AuthService(db, settings).logout(auth)
        return Response(
            None,
            status_code=HTTP_204_NO_CONTENT,
            cookies=[
                Cookie(
                    key=SESSION_COOKIE,
                    value="",
                    max_age=0,
                    path="/",
                    httponly=True,
                    secure=settings.cookie_secure,
                    samesite="strict",
                )
            ],
        )

    @get("/me")
    async def me(self, auth: Caller) -> Me:
        """The logged-in user, and the CSRF token of a cookie session."""
        return Me(
            user=auth_user(auth),
            csrf_token=auth.csrf_token if auth.via == "cookie" else None,
            session_expires_at=auth.expires_at,
        )

    @post("/password", status_code=HTTP_204_NO_CONTENT)
    async def change_password(
        self, data: JSONBody[PasswordChange], auth: Caller, db: Db, settings: AppSettings
    ) -> None:
        """Change your password; every one of your sessions ends, this one included."""
        await AuthService(db, settings).change_password(auth, data.current_password, data.new_password)


__all__ = ["DEVICE_COOKIE", "DEVICE_HEADER", "AuthController", "Provide", "auth_user", "user_out"]
