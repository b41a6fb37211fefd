"""Logins, sessions and passwords.

Sessions are opaque random tokens; only their SHA-256 is stored. Every login creates a new session
(and revokes the one the request came with), so a token planted before login is useless afterwards.
Sessions end at an absolute expiry, after an idle timeout, at logout, on a password change, or when an
admin revokes them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.config import Settings
from server.db.base import utcnow
from server.db.models import TrustedDevice, User, UserSession
from server.domain.auth import throttle
from server.domain.auth.context import AuthContext
from server.domain.auth.sessioncache import AUTH_NEUTRAL, CachedSession, SessionCache
from server.lib import audit, ratelimit
from server.lib.errors import AppError
from server.lib.metrics import LOGIN_ATTEMPTS, RATE_LIMITED
from server.lib.security import (
    hash_password,
    hash_password_async,
    needs_rehash,
    new_token,
    password_work,
    same,
    token_hash,
    verify_password,
    verify_password_async,
)
from shared.errors import ErrorCode

LAST_SEEN_RESOLUTION = timedelta(seconds=60)


WRONG_CREDENTIALS = "wrong username or password"


@dataclass(frozen=True, slots=True)
class LoginResult:
    user: User
    token: str
    csrf_token: str
    expires_at: datetime
    #: A new device token to hand to the client (None: the device presented a valid one).
    device_token: str | None = None


def _idle_expired(entry: CachedSession, now: datetime) -> bool:
    return entry.last_seen_at + timedelta(seconds=entry.idle_timeout) <= now


def unauthenticated(detail: str = "log in first") -> AppError:
    return AppError(401, ErrorCode.UNAUTHENTICATED, detail, headers={"WWW-Authenticate": "Bearer"})


class AuthService:
    def __init__(self, db: AsyncSession, settings: Settings, sessions: SessionCache | None = None) -> None:
        self.db = db
        self.settings = settings
        self.sessions = sessions

    async def login(
        self,
        username: str,
        password: str,
        client: str,
        client_ip: str,
        user_agent: str | None,
        previous_token: str | None = None,
        device_token: str | None = None,
    ) -> LoginResult:
        # Argon2 costs ~0.1-1 s of CPU: a bounded number of checks run at once, in threads, and a login
        # waiting for its turn holds no database connection (a class logging in together must neither
        # stall the event loop nor drain the pool).
        async with password_work():
            return await self._login(
                username, password, client, client_ip, user_agent, previous_token, device_token
            )

    async def _login(
        self,
        username: str,
        password: str,
        client: str,
        client_ip: str,
        user_agent: str | None,
        previous_token: str | None,
        device_token: str | None,
    ) -> LoginResult:
        name = username.lower()
        settings = self.settings
        device = await self._trusted_device(name, device_token)
        # (key, failures before it locks): a trusted device is judged on its own (throttle's docstring).
        limits = (
            [(throttle.device_key(device.token_hash), settings.login_user_threshold)]
            if device is not None
            else [
                (throttle.pair_key(name, client_ip), settings.login_user_threshold),
                (throttle.user_key(name), settings.login_user_ceiling),
                (throttle.ip_key(client_ip), settings.login_ip_threshold),
            ]
        )
        await throttle.hold(self.db, limits[0][0])  # released by the commit on every path below
        refusal = await throttle.check(self.db, [key for key, _ in limits])
        if refusal is not None:
            LOGIN_ATTEMPTS.labels(status="throttled").inc()
            if refusal.to_audit:
                await audit.record(
                    self.db,
                    "user.login_throttled",
                    actor=name,
                    target=name,
                    client_ip=client_ip,
                    user_agent=user_agent,
                    details={
                        "scope": throttle.scope(refusal.key),
                        "refused": refusal.to_audit,
                        "retry_after": refusal.seconds,
                    },
                )
            await self.db.commit()
            raise AppError(
                429,
                ErrorCode.LOGIN_THROTTLED,
                f"too many failed logins: try again in {refusal.seconds} s",
                retry_after=refusal.seconds,
            )
        await self._refuse_past_success_limits(name, client_ip)
        user = (await self.db.execute(select(User).where(User.username == name))).scalar_one_or_none()
        ok = await asyncio.to_thread(verify_password, user.password_hash if user else None, password)
        if not ok or user is None or user.disabled:
            for key, threshold in limits:
                await throttle.record_failure(self.db, key, threshold)
            reason = "disabled" if (ok and user is not None and user.disabled) else "bad_credentials"
            LOGIN_ATTEMPTS.labels(status="failure").inc()
            await audit.record(
                self.db,
                "user.login_failed",
                actor=name,
                target=name,
                client_ip=client_ip,
                user_agent=user_agent,
                details={"reason": reason, "client": client, "trusted_device": device is not None},
            )
            await self.db.commit()
            raise unauthenticated(WRONG_CREDENTIALS)
        if needs_rehash(user.password_hash):
            user.password_hash = await asyncio.to_thread(hash_password, password)
        # The owner's success ends this device's (or this address's) back-off; the username's ceiling
        # is left to run out, or an attacker could reset it by waiting for the owner to log in.
        await throttle.clear(self.db, limits[0][0])
        await ratelimit.count(self.db, "login_user", name)
        await ratelimit.count(self.db, "login_ip", client_ip)
        new_device_token = await self._trust_device(user.id, device)
        if previous_token:
            await self._revoke_where(UserSession.token_hash == token_hash(previous_token), "rotated")
        token = new_token()
        csrf_token = secrets.token_urlsafe(32)
        now = utcnow()
        idle, absolute = (
            (self.settings.desktop_session_idle, self.settings.desktop_session_absolute)
            if client == "desktop"
            else (self.settings.web_session_idle, self.settings.web_session_absolute)
        )
        expires_at = now + timedelta(seconds=absolute)
        self.db.add(
            UserSession(
                token_hash=token_hash(token),
                user_id=user.id,
                client=client,
                csrf_token=csrf_token,
                created_at=now,
                last_seen_at=now,
                idle_timeout=idle,
                expires_at=expires_at,
                client_ip=client_ip,
                user_agent=(user_agent or "")[:256] or None,
            )
        )
        LOGIN_ATTEMPTS.labels(status="success").inc()
        await audit.record(
            self.db,
            "user.logged_in",
            actor=user.username,
            target=user.username,
            client_ip=client_ip,
            user_agent=user_agent,
            details={"client": client},
        )
        await self.db.commit()
        return LoginResult(
            user=user,
            token=token,
            csrf_token=csrf_token,
            expires_at=expires_at,
            device_token=new_device_token,
        )

    async def _trusted_device(self, username: str, device_token: str | None) -> TrustedDevice | None:
        """The unexpired trusted device this token names, if it was issued to `username`."""
        if not device_token or len(device_token) > 128:
            return None
        row = (
            await self.db.execute(
                select(TrustedDevice)
                .join(User, User.id == TrustedDevice.user_id)
                .where(TrustedDevice.token_hash == token_hash(device_token), User.username == username)
            )
        ).scalar_one_or_none()
        if row is None or row.expires_at <= utcnow():
            return None
        return row

    async def _trust_device(self, user_id: int, device: TrustedDevice | None) -> str | None:
        """After a successful login: keep the device trusted (a new token if it had none)."""
        now = utcnow()
        expires_at = now + timedelta(days=self.settings.login_device_days)
        if device is not None:
            device.last_used_at, device.expires_at = now, expires_at
            return None
        token = new_token()
        self.db.add(
            TrustedDevice(
                token_hash=token_hash(token),
                user_id=user_id,
                created_at=now,
                last_used_at=now,
                expires_at=expires_at,
            )
        )
        return token

    async def _refuse_past_success_limits(self, username: str, client_ip: str) -> None:
        """Each login costs an argon2 hash and a session row: past the per-minute number of successful
        logins of this user, or from this address, refuse before hashing anything."""
        for endpoint, subject, limit in (
            ("login_user", username, self.settings.login_success_per_user),
            ("login_ip", client_ip, self.settings.login_success_per_ip),
        ):
            if limit > 0 and await ratelimit.used(self.db, endpoint, subject) >= limit:
                _, retry_after = ratelimit.window_start_and_retry()
                RATE_LIMITED.labels(endpoint=endpoint).inc()
                LOGIN_ATTEMPTS.labels(status="throttled").inc()
                await self.db.commit()
                raise AppError(
                    429,
                    ErrorCode.RATE_LIMITED,
                    f"too many logins in a minute: try again in {retry_after} s",
                    retry_after=retry_after,
                )

    async def authenticate(self, token: str, via: str, client_ip: str, user_agent: str | None) -> AuthContext:
        now = utcnow()
        digest = token_hash(token)
        cache = self.sessions
        entry = cache.get(digest) if cache is not None else None
        if entry is None or _idle_expired(entry, now):
            # A cached entry past its idle time may be stale (another process saw the session since):
            # the database decides.
            entry = await self._load_session(digest)
        if entry.expires_at <= now:
            raise unauthenticated("your session has expired: log in again")
        if _idle_expired(entry, now):
            raise unauthenticated("your session has expired: log in again")
        if now - entry.last_seen_at > LAST_SEEN_RESOLUTION:
            generation = cache.generation if cache is not None else 0
            await self.db.execute(
                update(UserSession).where(UserSession.id == entry.session_id).values(last_seen_at=now),
                execution_options={AUTH_NEUTRAL: True},
            )
            await self.db.commit()
            entry = dataclasses.replace(entry, last_seen_at=now)
            if cache is not None:
                cache.put(digest, entry, generation)
        return AuthContext(
            user_id=entry.user_id,
            username=entry.username,
            display_name=entry.display_name,
            role=entry.role,
            session_id=entry.session_id,
            via=via,
            csrf_token=entry.csrf_token,
            expires_at=entry.expires_at,
            client_ip=client_ip,
            user_agent=user_agent,
        )

    async def _load_session(self, digest: str) -> CachedSession:
        """The live session with this token digest, from the database (kept in the cache if any)."""
        generation = self.sessions.generation if self.sessions is not None else 0
        row = (
            await self.db.execute(
                select(
                    UserSession.id,
                    UserSession.csrf_token,
                    UserSession.expires_at,
                    UserSession.last_seen_at,
                    UserSession.idle_timeout,
                    UserSession.revoked_at,
                    User.id.label("user_id"),
                    User.username,
                    User.display_name,
                    User.role,
                    User.disabled,
                )
                .join(User, User.id == UserSession.user_id)
                .where(UserSession.token_hash == digest)
            )
        ).one_or_none()
        if row is None or row.revoked_at is not None or row.disabled:
            raise unauthenticated("your session has ended: log in again")
        entry = CachedSession(
            session_id=row.id,
            user_id=row.user_id,
            username=row.username,
            display_name=row.display_name,
            role=row.role,
            csrf_token=row.csrf_token,
            expires_at=row.expires_at,
            last_seen_at=row.last_seen_at,
            idle_timeout=row.idle_timeout,
            cached_at=time.monotonic(),
        )
        if self.sessions is not None:
            self.sessions.put(digest, entry, generation)
        return entry

    @staticmethod
    def csrf_ok(auth: AuthContext, header: str | None) -> bool:
        return auth.via != "cookie" or (header is not None and same(header, auth.csrf_token))

    async def logout(self, auth: AuthContext) -> None:
        await self._revoke_where(UserSession.id == auth.session_id, "logout")
        await audit.record(
            self.db,
            "user.logged_out",
            actor=auth.username,
            target=auth.username,
            client_ip=auth.client_ip,
            user_agent=auth.user_agent,
        )
        await self.db.commit()

    async def change_password(self, auth: AuthContext, current: str, new: str) -> None:
        user = await self.db.get(User, auth.user_id)
        if user is None or not await verify_password_async(user.password_hash, current):
            raise AppError(
                400, ErrorCode.VALIDATION, "the current password is wrong", field="current_password"
            )
        user.password_hash = await hash_password_async(new)
        user.password_changed_at = utcnow()
        await self._revoke_where(UserSession.user_id == auth.user_id, "password_changed")
        await audit.record(
            self.db,
            "user.password_changed",
            actor=auth.username,
            target=auth.username,
            client_ip=auth.client_ip,
            user_agent=auth.user_agent,
        )
        await self.db.commit()

    async def _revoke_where(self, condition, reason: str) -> int:  # type: ignore[no-untyped-def]
        result = await self.db.execute(
            update(UserSession)
            .where(condition, UserSession.revoked_at.is_(None))
            .values(revoked_at=utcnow(), revoked_reason=reason)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def count_active_sessions(db: AsyncSession) -> int:
    now = utcnow()
    return int(
        (
            await db.execute(
                select(func.count())
                .select_from(UserSession)
                .where(UserSession.revoked_at.is_(None), UserSession.expires_at > now)
            )
        ).scalar_one()
    )


__all__ = ["AuthService", "LoginResult", "count_active_sessions", "unauthenticated"]
