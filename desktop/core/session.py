"""Logging in and out, and which local store belongs to whom.

Each (server, username) pair has its own database file under `<data_dir>/users/`, so a second pupil on
the same laptop gets an empty queue of their own and never touches the first one's (invariant 6). The
session token is kept in the `TokenVault`; starting the app with a stored token works offline, using
the user details cached in the store. An expired session leaves the store (and its queue) alone.
Someone who logged in here before can log in again while the server is unreachable, checked against
a slow salted hash of their password kept in their own store (`offline_login`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from desktop.core.client import ApiClient
from desktop.core.credentials import TokenVault
from desktop.core.engine import SyncEngine
from desktop.core.errors import DesktopError, OfflineError, SessionExpiredError, SyncError
from desktop.core.offline_login import (
    NOBODY_VERIFIER,
    VERIFIER_KEY,
    OfflineAttempts,
    hash_password,
    verify_password,
)
from desktop.core.settings import ServerAddress, Settings, check_server_url, save_user_settings
from desktop.core.store import Store, private_dir
from shared.wire.auth import User

if TYPE_CHECKING:
    import httpx

__all__ = ["Session", "SessionManager", "store_path"]


def store_path(data_dir: Path, server_url: str, username: str) -> Path:
    """The database file for one user of one server."""
    parts = urlsplit(server_url)
    host = re.sub(r"[^a-z0-9.-]+", "-", (parts.hostname or "server").lower())
    port = f"-{parts.port}" if parts.port else ""
    digest = hashlib.sha256(server_url.rstrip("/").lower().encode()).hexdigest()[:8]
    safe_user = re.sub(r"[^a-z0-9._@-]+", "_", username.lower())
    return data_dir / "users" / f"{host}{port}-{digest}" / f"{safe_user}.sqlite3"


@dataclasses.dataclass
class Session:
    server_url: str
    user: User
    client: ApiClient
    store: Store
    engine: SyncEngine
    #: False when started from a stored token without reaching the server.
    verified: bool = True

    @property
    def username(self) -> str:
        return self.user.username

    @property
    def is_teacher(self) -> bool:
        return self.user.role in ("teacher", "admin")

    def close(self) -> None:
        self.client.close()
        self.store.close()


DEVICE_SUFFIX = "#device"


class SessionManager:
    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.BaseTransport | None = None,
        vault: TokenVault | None = None,
        remember: bool = True,
    ) -> None:
        self.settings = settings
        self.transport = transport
        self.vault = vault or TokenVault(settings.data_dir / "credentials")
        self.remember = remember
        self.offline_attempts = OfflineAttempts(settings.data_dir / "offline-logins.json")

    def _client(self, server_url: str, token: str | None = None) -> ApiClient:
        return ApiClient(
            server_url, token=token, transport=self.transport, timeout=self.settings.timeout_seconds
        )

    def _open_store(self, server_url: str, user: User) -> Store:
        path = store_path(self.settings.data_dir, server_url, user.username)
        # The folders above the store's own (which Store.open makes private) are private too.
        private_dir(self.settings.data_dir)
        private_dir(self.settings.data_dir / "users")
        store = Store.open(path)
        known_id = store.user_id
        if known_id is not None and known_id != user.id:
            # Same name, different account (deleted and re-created): never mix their work.
            store.close()
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            path.replace(path.with_name(f"{path.name}.user-{known_id}-{stamp}"))
            store = Store.open(path)
        store.set_meta("user_id", str(user.id))
        store.set_meta("username", user.username)
        store.set_meta("role", user.role)
        store.set_meta("display_name", user.display_name)
        return store

    def check_address(self, server_url: str) -> ServerAddress:
        """https://, or http:// only to this computer or the one address IT allowed; DesktopError with
        the reason otherwise (before any password or token is sent)."""
        try:
            return check_server_url(server_url, self.settings.insecure_http_allowed_for)
        except ValueError as error:
            raise DesktopError(str(error)) from error

    def login(self, server_url: str, username: str, password: str) -> Session:
        """Log in online. Raises a `SyncError` with a message for the user on failure."""
        server_url = self.check_address(server_url).url
        client = self._client(server_url)
        try:
            login = client.login(username.strip(), password, self._device_token(server_url, username))
        except OfflineError as error:
            client.close()
            return self._login_offline(server_url, username.strip(), password, error)
        except BaseException:
            client.close()
            raise
        assert login.token is not None  # checked by ApiClient.login
        store = self._open_store(server_url, login.user)
        store.set_meta(VERIFIER_KEY, hash_password(password))
        self.offline_attempts.succeeded(server_url, username.strip())  # the server said yes: start afresh
        self.vault.set(server_url, login.user.username, login.token)
        self._keep_device_token(server_url, login.user.username, login.device_token)
        if self.remember and self.settings.user_config is not None:
            save_user_settings(self.settings.user_config, server_url=server_url, username=login.user.username)
        return Session(server_url, login.user, client, store, SyncEngine(store, client))

    # The device token the server gave this computer for a user: kept in the vault beside the session
    # token (it survives logout: it says "this is my usual computer", not "I am logged in").
    def _device_token(self, server_url: str, username: str) -> str | None:
        return self.vault.get(server_url, f"{username.strip()}{DEVICE_SUFFIX}")

    def _keep_device_token(self, server_url: str, username: str, token: str | None) -> None:
        if token:
            self.vault.set(server_url, f"{username}{DEVICE_SUFFIX}", token)

    def relogin(self, session: Session, password: str) -> None:
        """The same user logs in again after their session expired: same store, same queue."""
        login = session.client.login(
            session.username, password, self._device_token(session.server_url, session.username)
        )
        if login.user.id != session.user.id:
            raise DesktopError("That is a different account; log out first to switch user.")
        assert login.token is not None
        self.vault.set(session.server_url, session.username, login.token)
        self._keep_device_token(session.server_url, session.username, login.device_token)
        session.store.set_meta(VERIFIER_KEY, hash_password(password))
        session.verified = True

    def _login_offline(self, server_url: str, username: str, password: str, cause: OfflineError) -> Session:
        """The server cannot be reached: someone who logged in on this computer before gets their own
        store back if the password matches the verifier kept at that login (see offline_login). The
        session is unverified: nothing is sent until a real login succeeds once the server is back."""
        wait = self.offline_attempts.wait_seconds(server_url, username)
        if wait:
            raise OfflineError(
                f"{cause} Too many wrong passwords for {username} on this computer: try again in {wait} s, "
                "or when the server is back."
            ) from cause
        user = self._cached_user(server_url, username)
        verifier = None
        if user is not None:
            store = Store.open(store_path(self.settings.data_dir, server_url, username))
            try:
                verifier = store.get_meta(VERIFIER_KEY)
            finally:
                store.close()
        # The same slow check whether or not the user is known here, so timing tells nothing.
        matches = verify_password(password, verifier or NOBODY_VERIFIER)
        if user is None or not matches:
            self.offline_attempts.failed(server_url, username)
            raise OfflineError(
                f"{cause} Without it, only someone who has logged in on this computer before can log "
                "in, with the same password as then."
            ) from cause
        self.offline_attempts.succeeded(server_url, username)
        store = self._open_store(server_url, user)
        client = self._client(server_url, self.vault.get(server_url, user.username))
        return Session(server_url, user, client, store, SyncEngine(store, client), verified=False)

    def resume(self, server_url: str, username: str) -> Session | None:
        """Continue with a stored token: verified online when possible, else offline from the cache.
        None when there is no token or the server says it has expired (the queue stays on disk)."""
        server_url = self.check_address(server_url).url
        token = self.vault.get(server_url, username)
        if not token:
            return None
        client = self._client(server_url, token)
        try:
            me = client.me()
        except SessionExpiredError:
            client.close()
            self.vault.delete(server_url, username)
            return None
        except (OfflineError, SyncError) as error:
            if isinstance(error, SyncError) and not error.transient:
                client.close()
                raise
            user = self._cached_user(server_url, username)
            if user is None:
                client.close()
                return None
            store = self._open_store(server_url, user)
            return Session(server_url, user, client, store, SyncEngine(store, client), verified=False)
        store = self._open_store(server_url, me.user)
        return Session(server_url, me.user, client, store, SyncEngine(store, client))

    def open_cached(self, server_url: str, username: str) -> Session | None:
        """Start at once from what this computer holds: a stored token and that user's store, with no
        request first (the app's start-up; docs/performance.md). The session is unverified, as a resume
        while offline is; the first sync checks the token, and an expired one asks the same user to log
        in again (the queue kept). None when there is no token or no store for this user here."""
        server_url = self.check_address(server_url).url
        token = self.vault.get(server_url, username)
        path = store_path(self.settings.data_dir, server_url, username)
        if not token or not path.exists():
            return None
        private_dir(self.settings.data_dir)
        private_dir(self.settings.data_dir / "users")
        store = Store.open(path)
        user = _stored_user(store, username)
        if user is None:
            store.close()
            return None
        client = self._client(server_url, token)
        return Session(server_url, user, client, store, SyncEngine(store, client), verified=False)

    def _cached_user(self, server_url: str, username: str) -> User | None:
        path = store_path(self.settings.data_dir, server_url, username)
        if not path.exists():
            return None
        store = Store.open(path)
        try:
            return _stored_user(store, username)
        finally:
            store.close()

    def logout(self, session: Session) -> None:
        """Forget the token (and tell the server if it can be reached); the local store stays."""
        with contextlib.suppress(SyncError):
            session.client.logout()
        self.vault.delete(session.server_url, session.username)
        session.close()


def _stored_user(store: Store, username: str) -> User | None:
    """Who a store belongs to, as its last online login recorded it."""
    user_id = store.user_id
    role = store.get_meta("role")
    if user_id is None or role not in ("pupil", "teacher", "admin"):
        return None
    return User(
        id=user_id,
        username=store.get_meta("username") or username,
        display_name=store.get_meta("display_name") or username,
        role=role,  # type: ignore[arg-type]
    )
