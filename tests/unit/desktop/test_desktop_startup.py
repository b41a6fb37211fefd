"""Start-up (issue 16: start to first lesson under 1 s): the app opens a returning user's lessons from
what this computer holds, with no request first, and leaves what the first lesson does not need
(httpx, sqlite_utils, the teacher's view) unloaded until it is used. The numbers are in
bench/desktop_bench.py and docs/performance.md; these tests check the behaviour, never the time."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from desktop_fakes import PASSWORD, FakeServer

from desktop.core.credentials import TokenVault
from desktop.core.errors import SessionExpiredError
from desktop.core.session import SessionManager
from desktop.core.settings import Settings

URL = "https://fake.test"
REPO = Path(__file__).resolve().parents[3]


def _manager(settings: Settings, server: FakeServer, vault: TokenVault) -> SessionManager:
    return SessionManager(settings, transport=server.transport(), vault=vault)


def test_a_returning_user_starts_from_this_computer_without_asking_the_server(
    settings: Settings, server: FakeServer, vault: TokenVault
) -> None:
    manager = _manager(settings, server, vault)
    manager.login(URL, "pupil", PASSWORD).close()
    asked = len(server.requests)

    session = manager.open_cached(URL, "pupil")
    assert session is not None
    assert session.user.id == 3
    assert session.user.username == "pupil"
    assert not session.verified  # the first sync checks the token
    assert len(server.requests) == asked
    session.engine.sync_once()  # and the token still works
    assert len(server.requests) > asked
    session.close()


def test_an_expired_token_found_at_start_asks_the_same_user_to_log_in_and_keeps_the_queue(
    settings: Settings, server: FakeServer, vault: TokenVault
) -> None:
    manager = _manager(settings, server, vault)
    session = manager.login(URL, "pupil", PASSWORD)
    session.store.outbox.save_answer("variables", "text-1", {"text": "written yesterday"})
    session.close()
    server.sessions.clear()  # the token expired overnight

    session = manager.open_cached(URL, "pupil")
    assert session is not None
    with pytest.raises(SessionExpiredError):
        session.engine.sync_once()
    assert session.store.outbox.pending_count() == 1
    session.close()


def test_nothing_to_start_from_without_a_token_or_a_store(
    settings: Settings, server: FakeServer, vault: TokenVault
) -> None:
    manager = _manager(settings, server, vault)
    assert manager.open_cached(URL, "pupil") is None  # never logged in here
    manager.login(URL, "pupil", PASSWORD).close()
    vault.delete(URL, "pupil")  # logged out
    assert manager.open_cached(URL, "pupil") is None


def test_opening_the_pupils_window_leaves_network_migration_and_teacher_code_unloaded() -> None:
    probe = (
        "import sys\n"
        "import desktop.ui.app, desktop.ui.main_window, desktop.core.session\n"
        "print(sorted(m for m in ('httpx', 'sqlite_utils', 'click', 'rich', 'desktop.ui.teacher') "
        "if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        check=True,
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.qt
def test_lesson_text_rendered_once_is_kept_in_the_users_store_and_a_mark_scheme_never(make_window) -> None:
    import msgspec

    from desktop.ui.main_window import RENDERED_KEY
    from desktop.ui.markdown import forget_rendered, render_markdown, take_rendered

    forget_rendered()
    window = make_window("pupil")
    window.open_lesson(0)
    window.shutdown()
    cached = window.session.store.cache.get(RENDERED_KEY)
    assert cached is not None
    kept = msgspec.json.decode(cached[0], type=dict[str, str])
    assert any("Paragraph 1 of the explanation." in rendered for rendered in kept.values())

    render_markdown("Mentions that input() returns a string (1).", remember=False)
    assert not any("input() returns a string" in rendered for rendered in take_rendered().values())
