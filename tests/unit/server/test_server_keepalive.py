"""The API keeps idle connections open longer than the reverse proxy does, so the proxy closes them
first: a request is never sent on a connection the API is closing (a reset, a 502, and a replica taken
out of rotation by Caddy's passive health check). Found by tests/integration/ops/test_trust_cluster.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from server.cli import KEEP_ALIVE_SECONDS

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"


@pytest.mark.parametrize("name", ["Caddyfile", "Caddyfile.scale"])
def test_caddy_closes_idle_connections_to_the_api_before_the_api_does(name: str) -> None:
    text = (DEPLOY / name).read_text(encoding="utf-8")
    idle = re.findall(r"(?m)^\s*keepalive (\d+)s\s*$", text)
    assert idle, f"{name}: the reverse proxy needs `transport http {{ keepalive Ns }}`"
    assert all(int(seconds) < KEEP_ALIVE_SECONDS for seconds in idle), (idle, KEEP_ALIVE_SECONDS)
