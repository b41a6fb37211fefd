"""The admin dashboard's headline figures: database counts plus the Prometheus counters (aggregated
over worker processes, read from the same metric files Prometheus scrapes)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import ActivityRevision, ActivityState, Mark, User
from server.domain.auth.services import count_active_sessions
from server.domain.lessons.services import LessonLibrary
from server.lib.metrics import samples as metric_samples
from shared.wire.admin import MetricsSummary

STARTED = time.monotonic()


SERIES = frozenset(
    {"tlac_auth_login_attempts_total", "tlac_http_requests_total", "tlac_rate_limit_violations_total"}
)


def _by_label(samples: list[tuple[dict[str, str], float]], label: str) -> dict[str, float]:
    totals: dict[str, float] = {}
    for labels, value in samples:
        key = labels.get(label, "")
        totals[key] = totals.get(key, 0.0) + value
    return totals


async def summary(db: AsyncSession, library: LessonLibrary, sandbox: Any) -> MetricsSummary:
    users = dict((await db.execute(select(User.role, func.count()).group_by(User.role))).all())
    # Reading every worker's metric files takes tens of milliseconds: a thread, not the event loop.
    samples = await asyncio.to_thread(metric_samples, SERIES)
    return MetricsSummary(
        users={
            "pupil": users.get("pupil", 0),
            "teacher": users.get("teacher", 0),
            "admin": users.get("admin", 0),
        },
        active_sessions=await count_active_sessions(db),
        answers=int((await db.execute(select(func.count()).select_from(ActivityState))).scalar_one()),
        revisions=int((await db.execute(select(func.count()).select_from(ActivityRevision))).scalar_one()),
        marks=int((await db.execute(select(func.count()).select_from(Mark))).scalar_one()),
        logins=_by_label(samples.get("tlac_auth_login_attempts_total", []), "status"),
        http_requests=sum(v for _, v in samples.get("tlac_http_requests_total", [])),
        rate_limited=sum(v for _, v in samples.get("tlac_rate_limit_violations_total", [])),
        sandbox=sandbox.summary(),
        lessons={
            "version": library.status.loaded_version,
            "count": library.status.lesson_count,
            "errors": library.status.errors,
        },
        uptime_seconds=round(time.monotonic() - STARTED, 1),
    )


__all__ = ["summary"]
