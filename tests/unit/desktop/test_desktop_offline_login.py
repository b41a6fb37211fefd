"""Logging in again with the school server unreachable: only someone who logged in on this laptop
before, only with the same password (checked against a slow salted hash, never a token), and only into
their own work."""

from __future__ import annotations

import pytest
from desktop_fakes import PASSWORD, FakeServer

from desktop.core.credentials import TokenVault
from desktop.core.errors import OfflineError
from desktop.core.offline_login import (
    FREE_ATTEMPTS,
    VERIFIER_KEY,
    OfflineAttempts,
    hash_password,
    verify_password,
)
from desktop.core.session import SessionManager
from desktop.core.settings import Settings

URL = "https://fake.test"


@pytest.fixture
def manager(settings: Settings, server: FakeServer, vault: TokenVault) -> SessionManager:
    return SessionManager(settings, transport=server.transport(), vault=vault)


def test_pupil_who_logged_in_here_before_logs_in_offline_to_their_own_work(
    manager: SessionManager, server: FakeServer, vault: TokenVault
) -> None:
    first = manager.login(URL, "pupil", PASSWORD)
    first.store.outbox.save_answer("variables", "text-1", {"text": "written before the Wi-Fi went"})
    server.offline = True
    manager.logout(first)
    assert vault.get(URL, "pupil") is None

    again = manager.login(URL, "pupil", PASSWORD)
    assert again.verified is False
    assert again.user.username == "pupil"
    assert again.store.outbox.answer("variables", "text-1").state == {"text": "written before the Wi-Fi went"}
    assert again.store.outbox.pending_count() == 1  # still queued, sent after a real login
    again.close()


def test_offline_login_refuses_a_wrong_password_and_a_stranger_alike(
    manager: SessionManager, server: FakeServer
) -> None:
    manager.logout(manager.login(URL, "pupil", PASSWORD))
    server.offline = True

    with pytest.raises(OfflineError, match="logged in on this computer before") as wrong:
        manager.login(URL, "pupil", "not-the-password")
    with pytest.raises(OfflineError, match="logged in on this computer before") as stranger:
        manager.login(URL, "pupil2", PASSWORD)  # a real account, never used on this laptop
    assert str(wrong.value) == str(stranger.value)  # nothing says which usernames were seen here


def test_the_password_is_kept_only_as_a_salted_slow_hash(manager: SessionManager, server: FakeServer) -> None:
    session = manager.login(URL, "pupil", PASSWORD)
    verifier = session.store.get_meta(VERIFIER_KEY)
    assert verifier is not None
    assert verifier.startswith("scrypt$32768$8$1$")
    assert PASSWORD not in verifier
    assert session.client.token not in verifier
    assert verify_password(PASSWORD, verifier)
    assert not verify_password(PASSWORD + "x", verifier)
    assert hash_password(PASSWORD) != hash_password(PASSWORD)  # salted
    assert not verify_password(PASSWORD, "garbage")
    assert not verify_password(PASSWORD, None)
    manager.logout(session)


def test_each_pupil_offline_opens_only_their_own_store(manager: SessionManager, server: FakeServer) -> None:
    one = manager.login(URL, "pupil", PASSWORD)
    one.store.outbox.save_answer("variables", "text-1", {"text": "pupil one"})
    manager.logout(one)
    two = manager.login(URL, "pupil2", PASSWORD)
    two.store.outbox.save_answer("variables", "text-1", {"text": "pupil two"})
    server.offline = True
    manager.logout(two)

    back = manager.login(URL, "pupil2", PASSWORD)
    assert back.store.outbox.answer("variables", "text-1").state == {"text": "pupil two"}
    assert back.store.outbox.pending_count() == 1
    back.close()


def test_guessing_offline_is_slowed_after_five_wrong_passwords(
    manager: SessionManager, server: FakeServer, settings: Settings
) -> None:
    """A shared laptop's login dialog must not let a classmate try passwords as fast as they can type:
    after five wrong ones the account waits, as the server's back-off makes it wait online."""
    now = [1_000_000.0]
    manager.offline_attempts = OfflineAttempts(
        settings.data_dir / "offline-logins.json", clock=lambda: now[0]
    )
    manager.logout(manager.login(URL, "pupil", PASSWORD))
    server.offline = True
    for _ in range(FREE_ATTEMPTS):
        with pytest.raises(OfflineError, match="logged in on this computer before"):
            manager.login(URL, "pupil", "guess")

    with pytest.raises(
        OfflineError, match=r"Too many wrong passwords for pupil on this computer: try again in 30 s"
    ):
        manager.login(URL, "pupil", PASSWORD)  # even the right password waits: the dialog gives nothing away
    now[0] += 31
    with pytest.raises(OfflineError, match="logged in on this computer before"):
        manager.login(URL, "pupil", "guess")  # the sixth wrong one: a longer wait
    with pytest.raises(OfflineError, match="try again in 120 s"):
        manager.login(URL, "pupil", PASSWORD)
    now[0] += 121
    again = manager.login(URL, "pupil", PASSWORD)
    assert again.user.username == "pupil"
    assert manager.offline_attempts.wait_seconds(URL, "pupil") == 0  # a success starts afresh
    again.close()


def test_an_account_never_used_here_is_slowed_alike(
    manager: SessionManager, server: FakeServer, settings: Settings
) -> None:
    server.offline = True
    for _ in range(FREE_ATTEMPTS):
        with pytest.raises(OfflineError, match="logged in on this computer before"):
            manager.login(URL, "stranger", "guess")
    with pytest.raises(OfflineError, match="try again in"):
        manager.login(URL, "stranger", "guess")
    assert manager.offline_attempts.wait_seconds(URL, "pupil") == 0  # one account's guesses are its own
