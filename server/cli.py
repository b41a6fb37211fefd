"""`post16-server`: migrate, serve, create-user, demo-seed, and backup, verify-backup, restore,
prune-backups (server/ops)."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.config import ConfigError, Settings, load_settings
from server.db import migrate
from server.db.engine import make_sync_engine
from server.db.models import Enrolment, SchoolClass, User
from server.lib.security import hash_password
from server.ops.commands import add_commands as add_backup_commands

DEMO_PASSWORD = "post16-demo"  # noqa: S105 - printed for the demo on purpose
DEMO_USERS = [
    ("admin", "admin", "Ada Admin"),
    ("teacher", "teacher", "Mr Turing"),
    ("pupil", "pupil", "Grace Pupil"),
    ("pupil2", "pupil", "Linus Pupil"),
    ("pupil3", "pupil", "Margaret Pupil"),
]
ROLES = ("pupil", "teacher", "admin")


def _create_user(
    settings: Settings, username: str, role: str, password: str, display_name: str | None
) -> bool:
    engine = make_sync_engine(settings)
    try:
        with Session(engine) as session:
            name = username.lower()
            if session.execute(select(User).where(User.username == name)).scalar_one_or_none():
                return False
            session.add(
                User(
                    username=name,
                    display_name=display_name or username,
                    role=role,
                    password_hash=hash_password(password),
                    disabled=False,
                )
            )
            session.commit()
            return True
    finally:
        engine.dispose()


def cmd_migrate(settings: Settings, _args: argparse.Namespace) -> int:
    migrate.upgrade(settings)
    print(f"database at revision {migrate.current_revision(settings)}")
    return 0


def cmd_create_user(settings: Settings, args: argparse.Namespace) -> int:
    import msgspec

    from shared.wire.common import NewPassword, Username  # noqa: F401 - the same rules as the API
    from shared.wire.people import UserCreate

    if not args.password_stdin:
        print("error: pass the password on standard input with --password-stdin", file=sys.stderr)
        return 2
    password = sys.stdin.readline().rstrip("\r\n")
    try:
        msgspec.convert({"username": args.username, "password": password, "role": args.role}, UserCreate)
    except msgspec.ValidationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    migrate.upgrade(settings)
    if not _create_user(settings, args.username, args.role, password, args.display_name):
        print(f"error: user {args.username!r} already exists", file=sys.stderr)
        return 1
    print(f"created {args.role} {args.username.lower()}")
    return 0


def cmd_demo_seed(settings: Settings, _args: argparse.Namespace) -> int:
    migrate.upgrade(settings)
    for username, role, display_name in DEMO_USERS:
        _create_user(settings, username, role, DEMO_PASSWORD, display_name)
    engine = make_sync_engine(settings)
    try:
        with Session(engine) as session:
            teacher = session.execute(select(User).where(User.username == "teacher")).scalar_one()
            school_class = session.execute(
                select(SchoolClass).where(SchoolClass.name == "12C Computer Science")
            ).scalar_one_or_none()
            if school_class is None:
                school_class = SchoolClass(name="12C Computer Science", teacher_id=teacher.id)
                session.add(school_class)
                session.flush()
            pupils = session.execute(
                select(User).where(User.role == "pupil", User.username.like("pupil%"))
            ).scalars()
            for pupil in pupils:
                if session.get(Enrolment, (school_class.id, pupil.id)) is None:
                    session.add(Enrolment(class_id=school_class.id, pupil_id=pupil.id))
            session.commit()
    finally:
        engine.dispose()
    print(
        "demo users (password: {}): {}".format(
            DEMO_PASSWORD, ", ".join(f"{u} ({r})" for u, r, _ in DEMO_USERS)
        )
    )
    return 0


# Idle keep-alive connections stay open this long: longer than the reverse proxy keeps its idle
# connections to the API (deploy/Caddyfile*: `keepalive 30s`), so the proxy, not the API, closes them.
# With uvicorn's 5 s default the API closed connections Caddy was about to reuse: a request sent on one
# was reset (502), and Caddy's passive health check took the replica out of rotation
# (tests/integration/ops/test_trust_cluster.py found it).
KEEP_ALIVE_SECONDS = 75


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    migrate.upgrade(settings)
    if args.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="post16-metrics-")
    uvicorn.run(
        "server.app:create_app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        server_header=False,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="post16-server", description="Post16 Lessons server")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="bring the database schema up to date").set_defaults(func=cmd_migrate)
    serve = commands.add_parser("serve", help="run the API and admin console")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(func=cmd_serve)
    create = commands.add_parser("create-user", help="add a user (password read from standard input)")
    create.add_argument("--username", required=True)
    create.add_argument("--role", choices=ROLES, required=True)
    create.add_argument("--display-name")
    create.add_argument("--password-stdin", action="store_true")
    create.set_defaults(func=cmd_create_user)
    commands.add_parser("demo-seed", help="demo users and a class").set_defaults(func=cmd_demo_seed)
    add_backup_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    result: int = args.func(settings, args)
    return result


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["DEMO_PASSWORD", "DEMO_USERS", "main"]
