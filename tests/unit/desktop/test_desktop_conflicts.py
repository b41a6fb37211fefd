"""The same pupil on two laptops: whatever order pushes and pulls happen in, each laptop ends up showing
the answer the server's conflict rule picked. Found by the chaos suite (tests/e2e/chaos.py, seed 1)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from desktop.core.store import Store
from shared.wire.sync import OperationResult, RevisionEvent

LATER = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
EARLIER = LATER - timedelta(hours=5)  # a laptop whose clock is five hours slow


def _event(
    op_id: uuid.UUID, state: dict[str, str], revision: int, *, current: bool, client_time: datetime
) -> RevisionEvent:
    return RevisionEvent(
        cursor=str(revision),
        pupil_id=3,
        lesson_id="variables",
        activity_id="text-1",
        revision=revision,
        state=state,
        client_time=client_time,
        received_at=LATER,
        op_id=op_id,
        device_id="laptop",
        current=current,
    )


def test_laptop_whose_queued_answer_lost_the_conflict_shows_the_winner(store: Store) -> None:
    # The other laptop's answer (the later one) reaches the server first; this laptop pulls it while its
    # own, earlier answer is still queued, so it keeps showing its own for now.
    winner = uuid.uuid4()
    mine = store.outbox.save_answer("variables", "text-1", {"text": "mine, typed earlier"}, now=EARLIER)
    store.pull.apply(
        [_event(winner, {"text": "from my other laptop"}, 1, current=True, client_time=LATER)], "1"
    )
    # Then this laptop's answer arrives: kept as revision 2, but not current (it is older).
    store.outbox.acknowledge([OperationResult(op_id=mine, outcome="applied", revision=2, received_at=LATER)])
    applied = store.pull.apply(
        [_event(mine, {"text": "mine, typed earlier"}, 2, current=False, client_time=EARLIER)], "2"
    )

    answer = store.outbox.answer("variables", "text-1")
    assert answer is not None
    assert answer.state == {"text": "from my other laptop"}
    assert answer.revision == 1
    assert applied.answers_replaced == [("variables", "text-1")]
    # Both versions stay visible in the history.
    assert [r.revision for r in store.pull.revisions(3, "variables", "text-1")] == [2, 1]


def test_own_non_current_revision_with_nothing_queued_changes_nothing_already_right(store: Store) -> None:
    winner = uuid.uuid4()
    store.pull.apply([_event(winner, {"text": "current"}, 2, current=True, client_time=LATER)], "1")
    applied = store.pull.apply(
        [_event(uuid.uuid4(), {"text": "older"}, 1, current=False, client_time=EARLIER)], "2"
    )
    answer = store.outbox.answer("variables", "text-1")
    assert answer is not None
    assert answer.state == {"text": "current"}
    assert applied.answers_replaced == []
