"""The admin API on real PostgreSQL: people, CSV import, classes, sessions, audit pagination."""

from __future__ import annotations

import threading

import pytest
from server_helpers import bearer, login


@pytest.fixture
def admin(client, users):  # type: ignore[no-untyped-def]
    users.add("head", "admin")
    return bearer(login(client, "head"))


def test_admin_creates_a_user_who_can_then_log_in(client, admin):
    response = client.post(
        "/api/admin/users",
        headers=admin,
        json={
            "username": "Newbie",
            "password": "long enough pw",
            "role": "pupil",
            "display_name": "New Pupil",
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["username"] == "newbie"
    assert login(client, "newbie", "long enough pw")


def test_creating_a_taken_username_is_a_conflict_naming_the_field(client, admin, users):
    users.add("taken")
    response = client.post(
        "/api/admin/users", headers=admin, json={"username": "TAKEN", "password": "long enough pw"}
    )
    assert response.status_code == 409
    assert response.json()["field"] == "username"


def test_short_password_is_refused_naming_the_field(client, admin):
    response = client.post("/api/admin/users", headers=admin, json={"username": "shorty", "password": "123"})
    assert response.status_code == 400
    assert "password" in response.json()["detail"]


def test_non_admins_cannot_reach_the_admin_api(client, users):
    users.add("teach", "teacher")
    token = login(client, "teach")
    assert client.get("/api/admin/users", headers=bearer(token)).status_code == 403


def test_csv_import_creates_good_rows_and_reports_the_bad_one_by_line(client, admin, users):
    users.add("existing")
    csv_text = (
        "username,display_name,password,class\n"
        "amy,Amy Pond,password-amy,\n"
        "bad name!,Bad,password-bad,\n"
        "existing,Again,password-xx,\n"
        "rory,Rory Williams,password-rory,\n"
    )
    preview = client.post("/api/admin/users/import?dry_run=true", headers=admin, content=csv_text)
    assert preview.status_code == 200, preview.text
    assert preview.json()["created"] == ["amy", "rory"]
    assert client.get("/api/admin/users?q=amy", headers=admin).json()["items"] == []

    report = client.post("/api/admin/users/import", headers=admin, content=csv_text).json()
    assert report["created"] == ["amy", "rory"]
    assert [(e["line"], e["field"]) for e in report["errors"]] == [(3, "username"), (4, "username")]
    assert "letters, digits" in report["errors"][0]["message"]
    assert "taken" in report["errors"][1]["message"]
    names = [u["username"] for u in client.get("/api/admin/users", headers=admin).json()["items"]]
    assert {"amy", "rory"} <= set(names)
    assert "bad name!" not in names


def test_csv_import_without_required_columns_names_them(client, admin):
    response = client.post("/api/admin/users/import", headers=admin, content="name,pw\nx,y\n")
    assert response.status_code == 400
    assert "username" in response.json()["detail"]


def test_export_neutralises_spreadsheet_formulas(client, admin):
    client.post(
        "/api/admin/users",
        headers=admin,
        json={"username": "evil", "password": "long enough pw", "display_name": "=HYPERLINK(1)"},
    )
    exported = client.get("/api/admin/users/export", headers=admin).text
    assert "'=HYPERLINK(1)" in exported


def test_class_with_teacher_and_enrolled_pupils_shows_in_the_teachers_view(client, admin, users):
    teacher_id = users.add("mrsmith", "teacher")
    pupil_ids = [users.add("p1"), users.add("p2")]
    created = client.post("/api/admin/classes", headers=admin, json={"name": "13A", "teacher_id": teacher_id})
    assert created.status_code == 201, created.text
    class_id = created.json()["id"]
    enrolled = client.post(
        f"/api/admin/classes/{class_id}/pupils", headers=admin, json={"pupil_ids": pupil_ids}
    )
    assert [p["username"] for p in enrolled.json()["pupils"]] == ["p1", "p2"]
    teacher = bearer(login(client, "mrsmith"))
    assert client.get("/api/teacher/classes", headers=teacher).json() == [
        {"id": class_id, "name": "13A", "pupil_count": 2}
    ]


def test_enrolling_a_teacher_as_a_pupil_is_refused(client, admin, users):
    teacher_id = users.add("teach2", "teacher")
    class_id = client.post("/api/admin/classes", headers=admin, json={"name": "12B"}).json()["id"]
    response = client.post(
        f"/api/admin/classes/{class_id}/pupils", headers=admin, json={"pupil_ids": [teacher_id]}
    )
    assert response.status_code == 400
    assert response.json()["field"] == "pupil_ids"


def test_revoked_session_is_rejected_at_once(client, admin, users):
    pupil_id = users.add("revokee")
    token = login(client, "revokee")
    assert client.get("/api/auth/me", headers=bearer(token)).status_code == 200
    sessions = client.get(f"/api/admin/sessions?user_id={pupil_id}", headers=admin).json()
    assert len(sessions) == 1
    assert client.delete(f"/api/admin/sessions/{sessions[0]['id']}", headers=admin).status_code == 204
    assert client.get("/api/auth/me", headers=bearer(token)).status_code == 401
    audit = client.get("/api/admin/audit?action=session.revoked", headers=admin).json()
    assert audit["items"][0]["target"] == "revokee"


def test_disabling_a_user_ends_their_sessions(client, admin, users):
    pupil_id = users.add("leaver")
    token = login(client, "leaver")
    assert (
        client.patch(f"/api/admin/users/{pupil_id}", headers=admin, json={"disabled": True}).status_code
        == 200
    )
    assert client.get("/api/auth/me", headers=bearer(token)).status_code == 401


def test_audit_pages_walk_every_row_exactly_once_while_rows_are_added(client, admin, users, settings):
    for index in range(120):
        client.post("/api/auth/login", json={"username": f"ghost{index}", "password": "wrong-password"})
    stop = threading.Event()

    def keep_adding() -> None:
        from litestar.testing import TestClient

        from server.app import create_app

        with TestClient(app=create_app(settings)) as other:
            while not stop.is_set():
                other.post("/api/auth/login", json={"username": "intruder", "password": "wrong-password"})

    writer = threading.Thread(target=keep_adding)
    first = client.get("/api/admin/audit?limit=25", headers=admin).json()
    writer.start()
    try:
        seen = [item["id"] for item in first["items"]]
        cursor = first["next_cursor"]
        while cursor:
            page = client.get(f"/api/admin/audit?limit=25&cursor={cursor}", headers=admin).json()
            seen += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
    finally:
        stop.set()
        writer.join()
    assert len(seen) == len(set(seen))
    assert seen == sorted(seen, reverse=True)
    assert seen[-1] == 1
    assert set(range(1, first["items"][0]["id"] + 1)) <= set(seen)


def test_audit_filters_and_bad_cursor(client, admin):
    client.post("/api/auth/login", json={"username": "nobody", "password": "wrong-password"})
    failed = client.get("/api/admin/audit?action=user.login_failed&actor=nobody", headers=admin).json()
    assert [i["action"] for i in failed["items"]] == ["user.login_failed"]
    assert "password" not in str(failed["items"][0]["details"]).replace("'reason'", "")
    wildcard = client.get("/api/admin/audit?action=user.*", headers=admin).json()
    assert {i["action"] for i in wildcard["items"]} <= {
        "user.login_failed",
        "user.logged_in",
        "user.login_throttled",
    }
    bad = client.get("/api/admin/audit?cursor=not-a-cursor", headers=admin)
    assert bad.status_code == 400
    assert bad.json()["field"] == "cursor"
    too_many = client.get("/api/admin/audit?limit=201", headers=admin)
    assert too_many.status_code == 400


def test_metrics_summary_counts_people_and_logins(client, admin, users):
    users.add("counted")
    summary = client.get("/api/admin/metrics", headers=admin).json()
    assert summary["users"]["pupil"] == 1
    assert summary["users"]["admin"] == 1
    assert summary["logins"].get("success", 0) >= 1
    assert summary["lessons"]["count"] >= 3


def test_broken_lesson_reload_keeps_the_last_good_manifest(client, admin, settings, tmp_path, monkeypatch):
    status = client.get("/api/admin/lessons", headers=admin).json()
    assert status["errors"] == []
    library = client.app.state.lessons
    broken = tmp_path / "broken-lessons"
    broken.mkdir()
    (broken / "manifest.json").write_text('{"lessons": [}')
    monkeypatch.setattr(library, "directory", broken)
    result = client.post("/api/admin/lessons/reload", headers=admin).json()
    assert result["errors"]
    assert "manifest.json" in result["errors"][0]
    assert result["loaded_version"] == status["loaded_version"]
    assert client.get("/api/lessons", headers=admin).json()["lessons"]
