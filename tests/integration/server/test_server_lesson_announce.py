"""Recording lesson versions at start-up: several worker processes do it at the same moment."""

from __future__ import annotations

import asyncio

from server_helpers import sql

from server.db.engine import make_async_engine, make_sessionmaker
from server.domain.lessons.services import LessonLibrary


def test_workers_announcing_lessons_together_on_a_fresh_database_all_succeed(settings, pg_url):
    """Each worker reads the (empty) table, then inserts every lesson: the second must not fail on
    the first one's rows (a start-up crash of `serve --workers 2` found by the benchmark)."""

    async def announce_together(workers: int) -> None:
        engine = make_async_engine(settings)
        sessionmaker = make_sessionmaker(engine)
        libraries = [LessonLibrary(settings.lessons_dir) for _ in range(workers)]
        for library in libraries:
            library.reload(force=True)

        async def announce(library: LessonLibrary) -> int:
            async with sessionmaker() as db:
                return await library.announce(db)

        try:
            await asyncio.gather(*(announce(library) for library in libraries))
        finally:
            await engine.dispose()

    library = LessonLibrary(settings.lessons_dir)
    library.reload(force=True)
    assert library.lessons is not None
    expected = sorted(lesson.id for lesson in library.lessons.lessons)
    for _ in range(5):
        sql(pg_url, "DELETE FROM lesson_versions")
        asyncio.run(announce_together(4))
        stored = sql(pg_url, "SELECT lesson_id FROM lesson_versions ORDER BY lesson_id")
        assert [lesson_id for (lesson_id,) in stored] == expected
