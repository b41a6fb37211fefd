"""Security headers and a request id on every answer — the router's own 404s and 405s included."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/no/such/page", 404), ("DELETE", "/api/health", 405), ("GET", "/api/health", 200)],
)
def test_every_answer_carries_the_security_headers(client, method, path, status):
    response = client.request(method, path)
    assert response.status_code == status
    assert "'unsafe-inline'" not in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert len(response.headers["x-request-id"]) >= 8


def test_headers_are_not_sent_twice(client):
    response = client.get("/api/health")
    assert len(response.headers.get_list("content-security-policy")) == 1
