"""Logging in again with the school server unreachable: only someone who logged in on this laptop
before, only with the same password (checked against a slow salted hash, never a token), and only into
their own work."""

from __future__ import annotations

import pytest
from desktop_fakes import PASSWORD, FakeServer

from desktop.core.credentials import TokenVault
from desktop.core.errors import OfflineError
from desktop.core.offline_login import VERIFIER_KEY, hash_password, verify_password
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
    first.store.save_answer("variables", "text-1", {"text": "written before the Wi-Fi went"})
    server.offline = True
    manager.logout(first)
    assert vault.get(URL, "pupil") is None

    again = manager.login(URL, "pupil", PASSWORD)
    assert again.verified is False
    assert again.user.username == "pupil"
    assert again.store.answer("variables", "text-1").state == {"text": "written before the Wi-Fi went"}
    assert again.store.pending_count() == 1  # still queued, sent after a real login
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
    one.store.save_answer("variables", "text-1", {"text": "pupil one"})
    manager.logout(one)
    two = manager.login(URL, "pupil2", PASSWORD)
    two.store.save_answer("variables", "text-1", {"text": "pupil two"})
    server.offline = True
    manager.logout(two)

    back = manager.login(URL, "pupil2", PASSWORD)
    assert back.store.answer("variables", "text-1").state == {"text": "pupil two"}
    assert back.store.pending_count() == 1
    back.close()
