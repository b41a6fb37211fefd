"""Hints: the number a pupil revealed travels in the answer (`hints_used`) and is checked against the
activity's hints by the server (lessons/01: `seconds-to-minutes` has three)."""

from __future__ import annotations

import pytest
from server_helpers import CODE, bearer, login, push, save_op


def test_an_answer_records_the_hints_revealed(client, users):
    users.add("alice")
    alice = login(client, "alice")
    [result] = push(client, alice, [save_op({"code": "print(1)", "hints_used": 2}, activity=CODE)]).json()[
        "results"
    ]
    assert result["outcome"] == "applied"
    response = client.get(f"/api/activity/state/variables-and-types/{CODE}", headers=bearer(alice))
    assert response.status_code == 200, response.text
    assert response.json()["state"]["hints_used"] == 2


@pytest.mark.parametrize("hints_used", [4, -1, "2", 1.5, True])
def test_a_hint_count_the_activity_cannot_have_is_refused_naming_it(client, users, hints_used):
    users.add("alice")
    alice = login(client, "alice")
    operation = save_op({"code": "print(1)", "hints_used": hints_used}, activity=CODE)
    [result] = push(client, alice, [operation]).json()["results"]
    assert (result["outcome"], result["code"]) == ("rejected", "validation_error")
    assert "state.hints_used" in result["reason"]
