"""`/api/docs`: the API reference rendered by the server from its own OpenAPI schema — every endpoint and
type, no script and nothing inline, so the strict CSP holds in real Chromium (server/web/api_reference.py).

With POST16_SCREENSHOTS_DIR=docs/screenshots the screenshot in docs/deployment.md is refreshed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from web_console_helpers import PHONE

pytestmark = [pytest.mark.browser, pytest.mark.postgres]


def test_the_reference_lists_every_endpoint_and_type_of_the_schema(client):
    schema = client.get("/api/docs/openapi.json").json()
    response = client.get("/api/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    for path, item in schema["paths"].items():
        for method in item:
            if method in ("get", "post", "put", "patch", "delete"):
                heading = f'{method.upper()}</span> <code class="path">{path}</code>'
                assert f'<span class="method method-{method}">{heading}' in html
    for name in schema["components"]["schemas"]:
        assert f"<code>{name}</code>" in html
    assert re.findall(r"<script", html) == []
    assert re.findall(r"\sstyle=", html) == []
    assert "<style" not in html
    assert "'unsafe-inline'" not in response.headers["content-security-policy"]


def test_a_type_named_in_an_answer_links_to_its_fields(client):
    html = client.get("/api/docs").text
    assert '<a href="#type-pushresponse">PushResponse</a>' in html
    assert 'id="type-pushresponse"' in html


def test_the_reference_reads_in_chromium_without_a_csp_violation(console, tmp_path: Path):
    folder = Path(os.environ.get("POST16_SCREENSHOTS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page = console.new_page()
    page.goto(console.url + "/api/docs")
    expect(page.get_by_role("heading", name="sync", exact=True)).to_be_visible()
    push = page.locator("article", has=page.locator("code.path", has_text=re.compile(r"^/api/sync/push$")))
    expect(push).to_contain_text("PushRequest")
    push.get_by_role("link", name="PushResponse").click()
    expect(page).to_have_url(re.compile(r"#type-pushresponse$"))
    expect(page.locator("#type-pushresponse")).to_contain_text("results")
    page.goto(console.url + "/api/docs#post-api-sync-push")
    # The handler's own docstring, as the description.
    expect(page.locator("#post-api-sync-push")).to_contain_text("each at most once")
    page.screenshot(path=folder / "api-docs.png")
    page.set_viewport_size(PHONE)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the reference scrolls sideways by {overflow}px on a phone"
