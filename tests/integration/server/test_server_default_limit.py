"""Routes without a limit of their own count against `default`, per user and route."""

from __future__ import annotations

from server_helpers import app_client, bearer, login


def test_the_default_limit_applies_per_user_and_route(make_settings, users):
    users.add("reader")
    users.add("other")
    with app_client(make_settings(POST16_RATE_LIMITS="default=3")) as client:
        reader = bearer(login(client, "reader"))
        codes = [client.get("/api/lessons", headers=reader).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        assert client.get("/api/marks", headers=reader).status_code == 200
        assert client.get("/api/lessons", headers=bearer(login(client, "other"))).status_code == 200


def test_a_refused_request_says_when_to_retry(make_settings, users):
    users.add("eager")
    with app_client(make_settings(POST16_RATE_LIMITS="default=1")) as client:
        token = bearer(login(client, "eager"))
        client.get("/api/auth/me", headers=token)
        refused = client.get("/api/auth/me", headers=token)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.json()["code"] == "rate_limited"
