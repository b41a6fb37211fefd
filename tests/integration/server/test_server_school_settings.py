"""School settings on real PostgreSQL: where pupils' code runs, chosen by an admin, learnt by every app."""

from __future__ import annotations

import pytest
from server_helpers import bearer, login


@pytest.fixture
def people(client, users):  # type: ignore[no-untyped-def]
    users.add("head", "admin")
    users.add("sam", "pupil")
    users.add("mrs-t", "teacher")
    return {name: bearer(login(client, name)) for name in ("head", "sam", "mrs-t")}


def test_code_runs_on_the_laptop_first_until_an_admin_chooses_otherwise(client, people):
    assert client.get("/api/settings", headers=people["sam"]).json() == {"code_execution": "laptop_first"}


def test_an_admins_choice_reaches_every_user_and_is_audited(client, people):
    changed = client.put(
        "/api/admin/settings", headers=people["head"], json={"code_execution": "server_only"}
    )

    assert changed.status_code == 200, changed.text
    assert changed.json() == {"code_execution": "server_only"}
    for name in ("sam", "mrs-t", "head"):
        assert client.get("/api/settings", headers=people[name]).json()["code_execution"] == "server_only"
    audit = client.get(
        "/api/admin/audit", headers=people["head"], params={"action": "setting.changed"}
    ).json()
    assert [(e["actor"], e["target"], e["details"]) for e in audit["items"]] == [
        ("head", "code_execution", {"from": "laptop_first", "to": "server_only"})
    ]


def test_choosing_the_same_again_writes_no_audit_entry(client, people):
    for _ in range(2):
        client.put("/api/admin/settings", headers=people["head"], json={"code_execution": "server_only"})

    audit = client.get(
        "/api/admin/audit", headers=people["head"], params={"action": "setting.changed"}
    ).json()
    assert len(audit["items"]) == 1


@pytest.mark.parametrize("who", ["sam", "mrs-t"])
def test_only_admins_change_settings(client, people, who):
    response = client.put("/api/admin/settings", headers=people[who], json={"code_execution": "server_only"})

    assert response.status_code == 403
    assert client.get("/api/settings", headers=people[who]).json()["code_execution"] == "laptop_first"


@pytest.mark.parametrize(
    "body",
    [{"code_execution": "everywhere"}, {"code_execution": 1}, {}, {"code_execution": "server_only", "x": 1}],
)
def test_a_bad_setting_is_refused_naming_the_field_and_changes_nothing(client, people, body):
    response = client.put("/api/admin/settings", headers=people["head"], json=body)

    assert response.status_code == 400, response.text
    assert "code_execution" in response.text or "x" in response.text
    assert client.get("/api/settings", headers=people["head"]).json()["code_execution"] == "laptop_first"


def test_settings_need_a_login(client):
    assert client.get("/api/settings").status_code == 401
