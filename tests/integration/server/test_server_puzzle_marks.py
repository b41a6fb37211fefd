"""Parsons problems, fill-the-gaps code, predict-the-output and trace tables are marked by the server
the moment an answer is stored, from the server's copy of the lesson: a pupil's copy carries the
shuffled lines, the code with its gaps, the snippet or the table's shape, never the solution, the
accepted answers or what a recorded real run gave, and the feedback never gives them away. Run on
PostgreSQL (the one-statement save path); the test that marks every kind in one push also runs on the
embedded SQLite default (the generic path).

The activities are the real ones in lessons/: iteration/order-the-loop, functions/complete-the-function,
selection/predict-the-branch and iteration/trace-the-loop (their runs recorded in lessons/outputs.json).
"""

from __future__ import annotations

import pytest
from server_helpers import bearer, login, push, save_op

PARSONS_LESSON, PARSONS = "iteration", "order-the-loop"  # 6 solution lines + 1 distractor; 2 marks
GAPS_LESSON, GAPS = "functions", "complete-the-function"  # gaps: def, number, return; 3 marks
SOLUTION = [
    ("n = int(input())", 0),
    ("total = 0", 0),
    ("for number in range(1, n + 1):", 0),
    ("if number % 2 == 0:", 1),
    ("total = total + number", 2),
    ("print(total)", 0),
]


@pytest.fixture
def settings(request, make_settings, tmp_path):  # type: ignore[no-untyped-def]
    """The suite's `client` and `users` fixtures on PostgreSQL, or on SQLite for a test parametrized
    with `indirect=True` (the rules live in shared/, so one test per backend path is enough)."""
    from server.db import migrate

    if getattr(request, "param", "postgresql") == "postgresql":
        return make_settings()
    settings = make_settings(POST16_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'embedded.db'}")
    migrate.upgrade(settings)
    return settings


def activity_json(client, token: str, lesson: str, activity: str) -> dict:  # type: ignore[no-untyped-def]
    response = client.get(f"/api/lessons/{lesson}", headers=bearer(token))
    assert response.status_code == 200, response.text
    return next(a for a in response.json()["activities"] if a["id"] == activity)


def mark_of(client, token: str, activity: str) -> dict:  # type: ignore[no-untyped-def]
    response = client.get("/api/marks", headers=bearer(token))
    assert response.status_code == 200, response.text
    return next(mark for mark in response.json() if mark["activity_id"] == activity)


def arrangement(lines: list[str], program: list[tuple[str, int]]) -> dict[str, list[int]]:
    return {
        "order": [lines.index(text) for text, _ in program],
        "indents": [level for _, level in program],
    }


def test_pupils_copy_has_shuffled_lines_and_no_solution_teachers_copy_has_it(client, users):
    users.add("alice", "pupil")
    users.add("teach", "teacher")
    pupil = activity_json(client, login(client, "alice"), PARSONS_LESSON, PARSONS)
    teacher = activity_json(client, login(client, "teach"), PARSONS_LESSON, PARSONS)
    assert pupil["lines"] == teacher["lines"]
    assert pupil["lines"] != [text for text, _ in SOLUTION]
    assert (pupil["solution"], pupil["distractors"]) == (None, [])
    assert "    if number % 2 == 0:" in teacher["solution"]
    gaps_pupil = activity_json(client, login(client, "alice"), GAPS_LESSON, GAPS)
    assert gaps_pupil["answers"] is None
    assert "{{1}} largest(numbers):" in gaps_pupil["code"]
    assert activity_json(client, login(client, "teach"), GAPS_LESSON, GAPS)["answers"][0] == ["def"]


def test_the_right_arrangement_is_marked_full_automatically(client, users):
    users.add("alice", "pupil")
    alice = login(client, "alice")
    lines = activity_json(client, alice, PARSONS_LESSON, PARSONS)["lines"]
    operation = save_op(arrangement(lines, SOLUTION), lesson=PARSONS_LESSON, activity=PARSONS)
    [result] = push(client, alice, [operation]).json()["results"]
    assert result["outcome"] == "applied"
    mark = mark_of(client, alice, PARSONS)
    assert (mark["score"], mark["max_score"], mark["source"], mark["revision"]) == (2, 2, "auto", 1)
    assert mark["feedback"].startswith("Right")


def test_a_wrong_indentation_with_the_distractor_earns_part_and_the_feedback_names_no_line(client, users):
    users.add("alice", "pupil")
    alice = login(client, "alice")
    lines = activity_json(client, alice, PARSONS_LESSON, PARSONS)["lines"]
    wrong = [*SOLUTION[:4], ("total = total + number", 1), ("total = total + 1", 0), SOLUTION[5]]
    push(client, alice, [save_op(arrangement(lines, wrong), lesson=PARSONS_LESSON, activity=PARSONS)])
    mark = mark_of(client, alice, PARSONS)
    assert mark["score"] == pytest.approx(2 * 5 / 7, abs=0.01)  # 5 lines in common, 7 placed
    assert mark["feedback"].startswith("Partly right")
    for text, _ in SOLUTION:
        assert text not in mark["feedback"]


def test_a_parsons_answer_naming_a_line_twice_is_refused(client, users):
    users.add("alice", "pupil")
    alice = login(client, "alice")
    state = {"order": [0, 0], "indents": [0, 0]}
    [result] = push(client, alice, [save_op(state, lesson=PARSONS_LESSON, activity=PARSONS)]).json()[
        "results"
    ]
    assert result["outcome"] == "rejected"
    assert "state.order" in result["reason"]


def test_filled_gaps_are_marked_per_gap_with_whitespace_ignored(client, users):
    users.add("alice", "pupil")
    alice = login(client, "alice")
    state = {"gaps": ["def", " number ", "print"]}
    [result] = push(client, alice, [save_op(state, lesson=GAPS_LESSON, activity=GAPS)]).json()["results"]
    assert result["outcome"] == "applied"
    mark = mark_of(client, alice, GAPS)
    assert (mark["score"], mark["max_score"], mark["source"]) == (2, 3, "auto")
    assert "return" not in mark["feedback"]


def test_gaps_answer_with_the_wrong_number_of_gaps_is_refused(client, users):
    users.add("alice", "pupil")
    alice = login(client, "alice")
    operation = save_op({"gaps": ["def"]}, lesson=GAPS_LESSON, activity=GAPS)
    [result] = push(client, alice, [operation]).json()["results"]
    assert result["outcome"] == "rejected"
    assert "3 gaps" in result["reason"]


PREDICT_LESSON, PREDICT = "selection", "predict-the-branch"  # prints B, odd, done; 1 mark


def test_a_prediction_is_marked_against_the_snippets_recorded_real_output(client, users):
    users.add("alice", "pupil")
    users.add("teach", "teacher")
    alice = login(client, "alice")
    assert activity_json(client, alice, PREDICT_LESSON, PREDICT)["expected_output"] is None
    teacher_copy = activity_json(client, login(client, "teach"), PREDICT_LESSON, PREDICT)
    assert teacher_copy["expected_output"] == "B\nodd\ndone\n"
    push(client, alice, [save_op({"output": "B\ndone"}, lesson=PREDICT_LESSON, activity=PREDICT)])
    mark = mark_of(client, alice, PREDICT)
    assert (mark["score"], mark["max_score"], mark["source"]) == (0, 1, "auto")
    assert "odd" not in mark["feedback"]
    right = save_op({"output": "B  \nodd\ndone\n\n"}, lesson=PREDICT_LESSON, activity=PREDICT)
    push(client, alice, [right])
    mark = mark_of(client, alice, PREDICT)
    assert (mark["score"], mark["revision"]) == (1, 2)
    assert mark["feedback"].startswith("Right")


TRACE_LESSON, TRACE = "iteration", "trace-the-loop"  # 4 rows of count, total, output; 3 marks
TABLE = [["3", "1", "1"], ["5", "4", "4"], ["7", "9", "9"], ["9", "16", "16"]]


def test_a_trace_table_is_marked_per_cell_against_a_real_run(client, users):
    users.add("alice", "pupil")
    users.add("teach", "teacher")
    alice = login(client, "alice")
    pupil_copy = activity_json(client, alice, TRACE_LESSON, TRACE)
    assert (pupil_copy["rows"], pupil_copy["row_count"]) == (None, 4)
    assert activity_json(client, login(client, "teach"), TRACE_LESSON, TRACE)["rows"] == TABLE
    wrong_shape = save_op({"cells": TABLE[:3]}, lesson=TRACE_LESSON, activity=TRACE)
    [result] = push(client, alice, [wrong_shape]).json()["results"]
    assert result["outcome"] == "rejected"
    assert "4 rows of 3 cells" in result["reason"]
    half = [row if index % 2 == 0 else ["?", "?", "?"] for index, row in enumerate(TABLE)]
    push(client, alice, [save_op({"cells": half}, lesson=TRACE_LESSON, activity=TRACE)])
    mark = mark_of(client, alice, TRACE)
    assert (mark["score"], mark["max_score"], mark["source"]) == (1.5, 3, "auto")
    assert "16" not in mark["feedback"]


@pytest.mark.parametrize("settings", ["postgresql", "sqlite"], indirect=True)
def test_one_push_with_an_answer_of_every_kind_gets_every_mark(client, users):
    users.add("alice", "pupil")
    alice = login(client, "alice")
    lines = activity_json(client, alice, PARSONS_LESSON, PARSONS)["lines"]
    operations = [
        save_op(arrangement(lines, SOLUTION), lesson=PARSONS_LESSON, activity=PARSONS),
        save_op({"gaps": ["def", "number", "return"]}, lesson=GAPS_LESSON, activity=GAPS),
        save_op({"output": "B\nodd\ndone"}, lesson=PREDICT_LESSON, activity=PREDICT),
        save_op({"cells": TABLE}, lesson=TRACE_LESSON, activity=TRACE),
    ]
    results = push(client, alice, operations).json()["results"]
    assert [result["outcome"] for result in results] == ["applied"] * 4
    marks = {activity: mark_of(client, alice, activity) for activity in (PARSONS, GAPS, PREDICT, TRACE)}
    assert {activity: (m["score"], m["max_score"], m["source"]) for activity, m in marks.items()} == {
        PARSONS: (2, 2, "auto"),
        GAPS: (3, 3, "auto"),
        PREDICT: (1, 1, "auto"),
        TRACE: (3, 3, "auto"),
    }
