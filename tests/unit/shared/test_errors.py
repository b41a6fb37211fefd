"""Every error code carries the HTTP status it is answered with, so the single endpoints and a sync
answer's refusal agree."""

from __future__ import annotations

import pytest

from shared.errors import ErrorCode


@pytest.mark.parametrize("code", list(ErrorCode))
def test_every_code_has_an_http_error_status(code: ErrorCode) -> None:
    assert 400 <= code.http_status <= 599


def test_client_faults_are_4xx_and_server_faults_5xx() -> None:
    assert ErrorCode.NOT_FOUND.http_status == 404
    assert ErrorCode.PAYLOAD_TOO_LARGE.http_status == 413
    assert ErrorCode.RATE_LIMITED.http_status == 429
    assert ErrorCode.SANDBOX_UNAVAILABLE.http_status == 503
    assert ErrorCode.INTERNAL.http_status == 500


def test_a_stored_code_is_parsed_and_an_unknown_one_is_a_validation_error() -> None:
    assert ErrorCode.parse("conflict") is ErrorCode.CONFLICT
    assert ErrorCode.parse("no-such-code") is ErrorCode.VALIDATION
    assert ErrorCode.parse(None) is ErrorCode.VALIDATION
