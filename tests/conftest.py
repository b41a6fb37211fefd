"""Suite-wide fixtures: real PostgreSQL databases, server settings, an in-process app client and real
server processes.

Services are started by `make test` (scripts/provision.sh). A test that needs one it cannot reach fails
under CI=true and is skipped only on a developer machine without it.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.databases import libpq, with_database
from support.servers import ServerProcess, server_env

REPO = Path(__file__).resolve().parent.parent
LESSONS_DIR = REPO / "lessons"
TEST_PG_URL = os.environ.get(
    "POST16_TEST_DATABASE_URL", "postgresql+psycopg://post16:post16-test-only@127.0.0.1:5432/post16_test"
)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def service_missing(what: str) -> None:
    """Fail under CI (a skipped test there is a failure), skip elsewhere."""
    if IN_CI:
        pytest.fail(f"{what} is not reachable; `make test` should have started it", pytrace=False)
    pytest.skip(f"{what} is not reachable (run `make provision`)")


def _admin_connect():  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(libpq(TEST_PG_URL), autocommit=True, connect_timeout=3)


def drop_database(name: str, attempts: int = 10) -> None:
    """DROP … WITH (FORCE), retried: FORCE may not end a backend our role cannot signal (an autovacuum
    worker that has just started on the database), which goes away by itself within moments."""
    import psycopg

    for attempt in range(attempts):
        try:
            with _admin_connect() as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except (psycopg.errors.InsufficientPrivilege, psycopg.errors.ObjectInUse):
            if attempt == attempts - 1:
                raise
            time.sleep(0.5)


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated template database; each test's database is a cheap copy of it."""
    import psycopg

    try:
        connection = _admin_connect()
    except psycopg.OperationalError as error:
        service_missing(f"PostgreSQL ({error.__class__.__name__})")
    name = f"post16_tmpl_{os.getpid()}_{secrets.token_hex(3)}"
    with connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = with_database(TEST_PG_URL, name)
    from server.config import load_settings
    from server.db.migrate import upgrade

    upgrade(load_settings({"POST16_DATABASE_URL": url}))
    yield name
    drop_database(name)


@pytest.fixture
def make_pg_url(pg_template: str) -> Iterator[Callable[[], str]]:
    created: list[str] = []

    def make() -> str:
        name = f"post16_t_{secrets.token_hex(6)}"
        with _admin_connect() as connection:
            connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
        created.append(name)
        return with_database(TEST_PG_URL, name)

    yield make
    for name in created:
        drop_database(name)


@pytest.fixture
def pg_url(make_pg_url: Callable[[], str]) -> str:
    """A fresh, migrated PostgreSQL database for this test."""
    return make_pg_url()


@pytest.fixture
def make_settings(pg_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    from server.config import load_settings

    def make(**overrides: str):  # type: ignore[no-untyped-def]
        return load_settings(server_env(pg_url, tmp_path / "data", **overrides))

    return make


@pytest.fixture
def settings(make_settings):  # type: ignore[no-untyped-def]
    return make_settings()


@pytest.fixture
def users(settings):  # type: ignore[no-untyped-def]
    """Create users straight in the database: `users.add("alice", "pupil")` returns the id."""
    return UserFactory(settings)


class UserFactory:
    PASSWORD = "correct horse battery"

    def __init__(self, settings) -> None:  # type: ignore[no-untyped-def]
        self.settings = settings

    def add(self, username: str, role: str = "pupil", password: str | None = None) -> int:
        from sqlalchemy.orm import Session

        from server.db.engine import make_sync_engine
        from server.db.models import User
        from server.lib.security import hash_password

        engine = make_sync_engine(self.settings)
        try:
            with Session(engine) as session:
                user = User(
                    username=username.lower(),
                    display_name=username.title(),
                    role=role,
                    password_hash=hash_password(password or self.PASSWORD),
                    disabled=False,
                )
                session.add(user)
                session.commit()
                return user.id
        finally:
            engine.dispose()

    def enrol(self, class_name: str, teacher_id: int | None, pupil_ids: list[int]) -> int:
        from sqlalchemy import select
        from sqlalchemy.orm import Session

        from server.db.engine import make_sync_engine
        from server.db.models import Enrolment, SchoolClass

        engine = make_sync_engine(self.settings)
        try:
            with Session(engine) as session:
                school_class = session.execute(
                    select(SchoolClass).where(SchoolClass.name == class_name)
                ).scalar_one_or_none()
                if school_class is None:
                    school_class = SchoolClass(name=class_name, teacher_id=teacher_id)
                    session.add(school_class)
                    session.flush()
                for pupil_id in pupil_ids:
                    session.add(Enrolment(class_id=school_class.id, pupil_id=pupil_id))
                session.commit()
                return school_class.id
        finally:
            engine.dispose()


@pytest.fixture
def client(settings):  # type: ignore[no-untyped-def]
    """The app in-process (lifespan run), over a real PostgreSQL database."""
    from litestar.testing import TestClient

    from server.app import create_app

    with TestClient(app=create_app(settings), base_url="http://testserver.local") as test_client:
        yield test_client


@pytest.fixture
def sandbox_image() -> str:
    """The sandbox image in the local Docker engine (`make test` builds it)."""
    image = os.environ.get("POST16_SANDBOX_IMAGE", "post16-sandbox:latest")
    probe = subprocess.run(["docker", "image", "inspect", image], capture_output=True, check=False)
    if probe.returncode != 0:
        service_missing(f"Docker with the {image} image")
    return image


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Start real server processes on a database URL: `make_server(pg_url, workers=2)`."""
    servers: list[ServerProcess] = []

    def make(database_url: str, workers: int = 1, **overrides: str) -> ServerProcess:
        server = ServerProcess(server_env(database_url, tmp_path / "data", **overrides), workers=workers)
        servers.append(server)
        return server.start()

    yield make
    for server in servers:
        server.stop()
