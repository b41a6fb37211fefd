"""`post16-sandbox`: build the image, try a program, check the engine.

    post16-sandbox build-image [--if-missing] [--dockerfile]
    post16-sandbox run FILE [--stdin F] [--json]
    post16-sandbox check
    post16-sandbox serve [--host H] [--port P]

Engines and limits come from the environment (`POST16_SANDBOX_ENGINES`, `POST16_SANDBOX_*`); `serve`
also needs `POST16_RUNNER_SECRET` (or `POST16_RUNNER_SECRET_FILE`) and refuses to start without it.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import msgspec

from sandbox._engine import Engine, make_api_client
from sandbox._errors import SandboxError
from sandbox._image import ImageBuildError, build_from_dockerfile, build_offline, image_present
from sandbox._limits import SandboxLimits, engines_from_env
from sandbox._runner import SandboxRunner
from shared.wire.run import RunRequest, RunResult

DEFAULT_PORT = 8700


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="post16-sandbox", description="Post16 Lessons' Python sandbox.")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build-image", help="build the sandbox image on the first engine")
    build.add_argument("--if-missing", action="store_true", help="do nothing when the image is already there")
    build.add_argument(
        "--dockerfile",
        action="store_true",
        help="build from sandbox/image/Dockerfile (needs an image registry) instead of offline",
    )
    run = commands.add_parser("run", help="run a Python file in the sandbox and print what it printed")
    run.add_argument("file", type=Path, help="the program")
    run.add_argument("--stdin", type=Path, help="a file whose text the program reads on stdin")
    run.add_argument("--json", action="store_true", help="print the whole result object as JSON")
    commands.add_parser("check", help="is every engine reachable, and does it have the image?")
    serve = commands.add_parser("serve", help="run the runner service the API sends runs and checks to")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        limits = SandboxLimits.from_env()
        engines = engines_from_env()
    except ValueError as error:
        print(f"post16-sandbox: {error}", file=sys.stderr)
        return 2
    if args.command == "build-image":
        return _build_image(limits, engines[0], if_missing=args.if_missing, dockerfile=args.dockerfile)
    if args.command == "serve":
        return _serve(limits, engines, host=args.host, port=args.port, log_level=args.log_level)
    if args.command == "run":
        try:
            request = _read_request(args.file, args.stdin)
        except (OSError, ValueError) as error:
            print(f"post16-sandbox: {error}", file=sys.stderr)
            return 2
        return asyncio.run(_run(limits, engines, request, as_json=args.json))
    return _check(limits, engines)


def _build_image(limits: SandboxLimits, engine: str, *, if_missing: bool, dockerfile: bool) -> int:
    client = make_api_client(engine)
    try:
        if if_missing and image_present(client, limits.image):
            print(f"{limits.image} is already on {engine}")
            return 0
        if dockerfile:
            build_from_dockerfile(client, limits.image)
        else:
            build_offline(client, limits.image)
    except ImageBuildError as error:
        print(f"post16-sandbox: could not build {limits.image}: {error}", file=sys.stderr)
        return 1
    except Exception as error:
        print(f"post16-sandbox: could not build {limits.image} on {engine}: {error}", file=sys.stderr)
        return 1
    finally:
        client.close()
    print(f"built {limits.image} on {engine}")
    return 0


def _read_request(file: Path, stdin: Path | None) -> RunRequest:
    code = file.read_text(encoding="utf-8")
    stdin_text = stdin.read_text(encoding="utf-8") if stdin is not None else ""
    return RunRequest(code=code, stdin=stdin_text)


async def _run(limits: SandboxLimits, engines: list[str], request: RunRequest, *, as_json: bool) -> int:
    quick = msgspec.structs.replace(limits, pool_size=1, concurrency=1)
    async with SandboxRunner(quick, engines) as runner:
        try:
            result = await runner.run(request, owner="cli")
        except SandboxError as error:
            print(f"post16-sandbox: {error}", file=sys.stderr)
            return 1
    if as_json:
        print(msgspec.json.format(msgspec.json.encode(result)).decode())
    else:
        _print_plain(result)
    return 0 if result.status == "success" else 1


def _print_plain(result: RunResult) -> None:
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    if result.stdout_truncated or result.stderr_truncated:
        print("[output truncated]", file=sys.stderr)
    if result.status != "success":
        detail = f" (exit code {result.exit_code})" if result.exit_code is not None else ""
        message = f": {result.message}" if result.message else ""
        print(f"[{result.status}{detail}{message}]", file=sys.stderr)


def _serve(limits: SandboxLimits, engines: list[str], *, host: str, port: int, log_level: str) -> int:
    """One process (the pool and the queue live in it), no worker processes."""
    from sandbox._service import RunnerConfigError, create_runner_app, secret_from_env

    try:
        app = create_runner_app(secret_from_env(), limits=limits, engines=engines)
    except RunnerConfigError as error:
        print(f"post16-sandbox: {error}", file=sys.stderr)
        return 2
    import uvicorn

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False, server_header=False)
    return 0


def _check(limits: SandboxLimits, engines: list[str]) -> int:
    healthy = True
    for url in engines:
        engine = Engine(url, limits, instance_id="cli-check")
        try:
            reachable, present, problem = engine.check()
        finally:
            engine.close()
        if reachable and present:
            print(f"ok: {url} is reachable and has {limits.image}")
        else:
            healthy = False
            print(f"not ok: {problem}")
    return 0 if healthy else 1


__all__ = ["main"]


if __name__ == "__main__":
    sys.exit(main())
