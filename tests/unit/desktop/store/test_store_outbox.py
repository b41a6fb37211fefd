"""`store.outbox`: changes queued with their effect, acknowledgements, refusals and receipts."""

from __future__ import annotations

from desktop.core.store import Store
from shared.wire.sync import OperationResult


def test_a_saved_answer_and_its_operation_are_one_change(store: Store) -> None:
    op_id = store.outbox.save_answer("variables", "text-1", {"text": "Because"})
    answer = store.outbox.answer("variables", "text-1")
    assert answer is not None
    assert (answer.state, answer.pending, answer.revision) == ({"text": "Because"}, True, None)
    [operation] = store.outbox.next_batch(10)
    assert (operation.op_id, operation.kind, operation.payload) == (
        op_id,
        "activity.save",
        {"state": {"text": "Because"}},
    )


def test_an_applied_operation_leaves_the_queue_as_a_receipt_with_its_revision(store: Store) -> None:
    op_id = store.outbox.save_answer("variables", "text-1", {"text": "Because"})
    summary = store.outbox.acknowledge([OperationResult(op_id=op_id, outcome="applied", revision=1)])
    assert (summary.acknowledged, store.outbox.pending_count()) == (1, 0)
    [receipt] = store.outbox.receipts()
    assert (receipt.op_id, receipt.outcome, receipt.revision) == (op_id, "applied", 1)
    answer = store.outbox.answer("variables", "text-1")
    assert answer is not None
    assert (answer.revision, answer.pending) == (1, False)


def test_a_refused_operation_is_kept_with_its_reason(store: Store) -> None:
    op_id = store.outbox.queue_check("variables", "code-1", "print(3)")
    summary = store.outbox.reject_locally(op_id, "No such activity", "not_found")
    [rejected] = store.outbox.rejected_operations()
    assert summary.rejections == [rejected]
    assert (rejected.op_id, rejected.reason, rejected.code, rejected.payload) == (
        op_id,
        "No such activity",
        "not_found",
        {"code": "print(3)"},
    )
    assert store.outbox.pending_count() == 0


def test_a_rate_limited_operation_stays_queued_and_a_late_answer_changes_nothing(store: Store) -> None:
    op_id = store.outbox.save_answer("variables", "text-1", {"text": "Because"})
    deferred = store.outbox.acknowledge([OperationResult(op_id=op_id, outcome="rate_limited", retry_after=7)])
    assert (deferred.deferred, deferred.retry_after, store.outbox.pending_count()) == (1, 7.0, 1)
    store.outbox.acknowledge([OperationResult(op_id=op_id, outcome="applied", revision=1)])
    late = store.outbox.acknowledge([OperationResult(op_id=op_id, outcome="applied", revision=1)])
    assert (late.unknown, len(store.outbox.receipts())) == (1, 1)


def test_a_failed_push_is_counted_on_the_pending_operation(store: Store) -> None:
    op_id = store.outbox.save_answer("variables", "text-1", {"text": "Because"})
    store.outbox.note_attempt([op_id], "offline")
    [pending] = store.outbox.pending_operations()
    assert (pending.op_id, pending.attempts, pending.last_error) == (op_id, 1, "offline")
