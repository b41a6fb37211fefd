"""The console's HTML pages. Each page is a shell (navigation, forms, empty tables) that its script
fills from the admin API; the page itself only decides who may see it.

Not logged in (or the session has ended): redirect to the login page, which comes back here. Logged in
but not an admin: a plain "admins only" page. The CSRF token of the cookie session is put in a
`<meta>` tag for the scripts to send as `X-CSRF-Token`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Controller, Request, get
from litestar.params import FromQuery, QueryParameter
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_403_FORBIDDEN

from server.domain.auth.context import AuthContext
from server.domain.auth.guards import SESSION_COOKIE, request_client_ip
from server.domain.auth.services import AuthService
from server.domain.deps import AppSettings, Db
from server.lib.errors import AppError

WEB_DIR = Path(__file__).resolve().parent
TEMPLATE_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"
NO_STORE = {"Cache-Control": "no-store"}

# (page key, path, label) in menu order
NAVIGATION = (
    ("dashboard", "/admin/", "Dashboard"),
    ("users", "/admin/users", "Users"),
    ("classes", "/admin/classes", "Classes"),
    ("assignments", "/admin/assignments", "Assignments"),
    ("sessions", "/admin/sessions", "Sessions"),
    ("audit", "/admin/audit", "Audit log"),
    ("lessons", "/admin/lessons", "Lessons"),
)
DASHBOARD_REFRESH_SECONDS = 30


def _asset_version() -> str:
    """A short hash of the static files, appended to their URLs so a new release is never stale."""
    digest = hashlib.sha256()
    for path in sorted(STATIC_DIR.rglob("*")):
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


ASSET_VERSION = _asset_version()

Page = Template | Redirect


def safe_next(target: str | None) -> str:
    """Where to go after logging in: only a console path, never another site."""
    if target and target.startswith("/admin/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/admin/"


async def _viewer(request: Request[Any, Any, Any], db: Db, settings: AppSettings) -> AuthContext | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 200:
        return None
    try:
        return await AuthService(db, settings, request.app.state.sessions).authenticate(
            token, "cookie", request_client_ip(request), request.headers.get("user-agent")
        )
    except AppError:
        return None


def _base_context(page: str, title: str) -> dict[str, Any]:
    return {
        "page": page,
        "title": title,
        "navigation": NAVIGATION,
        "asset_version": ASSET_VERSION,
        "viewer": None,
        "csrf_token": "",
    }


async def _page(
    request: Request[Any, Any, Any], db: Db, settings: AppSettings, page: str, title: str, **extra: Any
) -> Page:
    viewer = await _viewer(request, db, settings)
    if viewer is None:
        ended = "&ended=1" if request.cookies.get(SESSION_COOKIE) else ""
        return Redirect(f"/admin/login?next={quote(request.url.path, safe='/')}{ended}", headers=NO_STORE)
    context = _base_context(page, title)
    context["viewer"] = viewer
    context["csrf_token"] = viewer.csrf_token
    if not viewer.is_admin:
        context["title"] = "Admins only"
        return Template("admins_only.html", context=context, status_code=HTTP_403_FORBIDDEN, headers=NO_STORE)
    context.update(extra)
    return Template(f"{page}.html", context=context, headers=NO_STORE)


class AdminPagesController(Controller):
    path = "/admin"
    include_in_schema = False

    @get("/login")
    async def login(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        settings: AppSettings,
        next_path: Annotated[str | None, QueryParameter(name="next", max_length=500)] = None,
        ended: FromQuery[bool] = False,
    ) -> Page:
        """The login form. An admin who is already logged in goes straight on."""
        target = safe_next(next_path)
        viewer = await _viewer(request, db, settings)
        if viewer is not None and viewer.is_admin:
            return Redirect(target, headers=NO_STORE)
        context = _base_context("login", "Log in")
        context.update(next_path=target, ended=ended, viewer=viewer)
        return Template("login.html", context=context, headers=NO_STORE)

    @get("/")
    async def dashboard(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        settings: AppSettings,
        refresh: FromQuery[int | None] = None,
    ) -> Page:
        """Headline figures and charts, refreshed every 30 s (`?refresh=` seconds, 5 to 300)."""
        seconds = min(max(refresh or DASHBOARD_REFRESH_SECONDS, 5), 300)
        return await _page(request, db, settings, "dashboard", "Dashboard", refresh_seconds=seconds)

    @get("/users")
    async def users(self, request: Request[Any, Any, Any], db: Db, settings: AppSettings) -> Page:
        return await _page(request, db, settings, "users", "Users")

    @get("/classes")
    async def classes(self, request: Request[Any, Any, Any], db: Db, settings: AppSettings) -> Page:
        return await _page(request, db, settings, "classes", "Classes")

    @get("/assignments")
    async def assignments(self, request: Request[Any, Any, Any], db: Db, settings: AppSettings) -> Page:
        return await _page(request, db, settings, "assignments", "Assignments")

    @get("/sessions")
    async def sessions(self, request: Request[Any, Any, Any], db: Db, settings: AppSettings) -> Page:
        return await _page(request, db, settings, "sessions", "Sessions")

    @get("/audit")
    async def audit(self, request: Request[Any, Any, Any], db: Db, settings: AppSettings) -> Page:
        return await _page(request, db, settings, "audit", "Audit log")

    @get("/lessons")
    async def lessons(self, request: Request[Any, Any, Any], db: Db, settings: AppSettings) -> Page:
        return await _page(request, db, settings, "lessons", "Lessons")


__all__ = ["ASSET_VERSION", "NAVIGATION", "STATIC_DIR", "TEMPLATE_DIR", "AdminPagesController", "safe_next"]
