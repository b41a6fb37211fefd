"""The admin web console at `/admin/`: server-rendered pages whose small external scripts call the
admin JSON API. No inline script or style anywhere, so the strict Content-Security-Policy holds.

`create_app` mounts `admin_console_handlers(settings)` and passes `template_config()`.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from server.config import Settings
from server.web.counters import ConsoleCountersController
from server.web.pages import STATIC_DIR, TEMPLATE_DIR, AdminPagesController


def admin_console_handlers(settings: Settings) -> list[Any]:
    """The console's pages, its static files under `/admin/static/` and the dashboard's counters."""
    del settings  # pages read the settings per request through the `settings` dependency
    return [
        AdminPagesController,
        ConsoleCountersController,
        create_static_files_router(
            path="/admin/static", directories=[STATIC_DIR], name="admin-static", include_in_schema=False
        ),
    ]


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    """The console's Jinja templates: autoescaped, and an undefined name is an error, not a blank."""
    environment = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment))


__all__ = ["admin_console_handlers", "template_config"]
