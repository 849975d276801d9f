"""The ``hub`` command line (typer)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import Literal, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hub.assembly import commands, contributions
from hub.cli import support as cli_support
from hub.cli.audit import audit_app
from hub.cli.support import port_problem
from hub.cli.sync import ingest_command, sync_app
from hub.db.pools import Databases
from hub.demo.scales import SCALES
from hub.errors import HubError, SetupError
from hub.governance.consumers import create_consumer, create_demo_consumers, hash_token
from hub.http.rate_table import ENV_VAR, create_for_server
from hub.problems import redact
from hub.settings import Settings
from hub.telemetry.logs import configure_logging

app = typer.Typer(help="Talent Data Hub: one GraphQL schema over the commerce, science, labor and education "
                       "departments' data, with government data-sharing rules.",
                  no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
schema_app = typer.Typer(help="The GraphQL schema contract (graphql/schema.graphql).", no_args_is_help=True)
consumer_app = typer.Typer(help="Consumers (department systems) and their bearer tokens.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(schema_app, name="schema")
app.add_typer(consumer_app, name="consumer")
app.add_typer(audit_app, name="audit")
app.add_typer(sync_app, name="sync")  # hub sync pull / materialize (the bureau's client, over HTTP)
app.command("ingest")(ingest_command)  # hub ingest FILE --dataset D
for _name, _commands in commands():  # analytics: hub stats refresh, hub report YEAR --out FILE, hub report publish
    app.add_typer(_commands, name=_name)

console = Console(stderr=True, soft_wrap=True)  # an error is one line, whatever the terminal's width
Scale = Literal[tuple(SCALES)]  # type: ignore[valid-type]  # --scale / --demo: anything else is refused (exit 2)


@app.callback()
def _options(debug: bool = typer.Option(False, "--debug", help="Show the full traceback of a failure (also "
                                                               "HUB_LOG_LEVEL=debug).")) -> None:
    cli_support.DEBUG["on"] = debug


def _settings() -> Settings:
    return cli_support.settings_or_exit(console)


def _fail(exc: Exception | str) -> None:
    if isinstance(exc, Exception) and cli_support.debugging():
        raise exc  # hub --debug: the traceback

    console.print(f"[red]error:[/red] {escape(str(exc))}")
    raise typer.Exit(1)


async def _load_demo(settings: Settings, scale: str, seed: int, only_if_empty: bool) -> None:
    # deferred import: CLI start-up time (the demo generator)
    from hub.demo.load import load_demo, pools_of

    db = await Databases(settings, settings.database_url).open()
    try:
        if only_if_empty:
            marker = await db.hub.fetchval("hub/demo_data_status")
            if marker is not None:
                console.print("demo data already loaded; skipping (use [bold]hub seed[/bold] to reload)")
                for contribution in contributions():  # data loaded before the statistics existed: compute them
                    if contribution.refresh_if_missing is not None:
                        await contribution.refresh_if_missing(db)
                return
        with cli_support.progress_bars(console) as report:
            counts = await load_demo(pools_of(db), scale=scale, seed=seed, progress=report)
            for contribution in contributions():  # the published statistics' summary tables
                if contribution.refresh is not None:
                    await contribution.refresh(db, progress=report)
        total = sum(counts.values())
        console.print(f"loaded demo data: scale={scale} seed={seed}, {total:,} rows in {len(counts)} tables")
    finally:
        await db.close()


async def _demo_consumers(settings: Settings) -> None:
    """Create the demo consumers once and print their tokens (kept in <data dir>/demo-tokens.json,
    for the demo only: real tokens are shown once and never stored)."""
    path = settings.data_dir / "demo-tokens.json"
    db = await Databases(settings, settings.database_url).open()
    try:
        tokens = json.loads(path.read_text()) if path.exists() else None
        if tokens:
            known = [await db.hub.fetchrow("hub/consumer_by_token_hash", hash_token(t)) for t in tokens.values()]
            if not all(known):
                tokens = None
        if not tokens:
            tokens = await create_demo_consumers(db.hub)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(tokens, indent=2))
            path.chmod(0o600)
    finally:
        await db.close()
    table = Table(title="demo consumers (paste into GraphiQL's headers: {\"Authorization\": \"Bearer <token>\"})")
    table.add_column("consumer")
    table.add_column("token")
    for name, token in tokens.items():
        table.add_row(name, token)
    Console().print(table)


@app.command()
def serve(
    host: Optional[str] = typer.Option(None, help="Interface to bind (default HUB_HOST or 127.0.0.1)."),
    port: Optional[int] = typer.Option(None, help="Port (default HUB_PORT or 8000)."),
    workers: Optional[int] = typer.Option(None, help="Worker processes (default HUB_WORKERS, else the number of CPUs)."),
    migrate: bool = typer.Option(False, "--migrate", help="Apply pending migrations before serving."),
    demo: Optional[Scale] = typer.Option(None, help="Load demo data of this scale unless demo data is already loaded."),
) -> None:
    """Serve GraphQL (POST/GET /graphql, GraphiQL in browsers), /healthz and /readyz."""
    # deferred import: CLI start-up time (uvicorn, the database runtime)
    import uvicorn

    from hub.db.runtime import check_databases, migrate_all, resolved

    settings = _settings()
    settings = replace(settings, host=host or settings.host, port=port or settings.port,
                       workers=workers or settings.workers)
    problem = port_problem(settings.host, settings.port)  # before anything is started or printed
    if problem:
        _fail(problem)
    # uvicorn re-raises SIGTERM/SIGINT after its graceful shutdown, restoring the previous handlers
    # first: these turn the re-raised signal into SystemExit so the embedded PostgreSQL is stopped below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    # Closing the terminal (SIGHUP) stops the hub like Ctrl-C: uvicorn handles SIGTERM gracefully (one worker);
    # with several, the supervisor below does.
    signal.signal(signal.SIGHUP, lambda *_: signal.raise_signal(signal.SIGTERM))
    try:
        with resolved(settings) as settings:
            asyncio.run(check_databases(settings))  # an unreachable database is said before "serving on"
            if migrate:
                applied = asyncio.run(migrate_all(settings))
                n = sum(len(v) for v in applied.values())
                console.print(f"migrations: {n} applied" if n else "migrations: up to date")
            if demo:
                asyncio.run(_load_demo(settings, demo, 42, only_if_empty=True))
                asyncio.run(_demo_consumers(settings))
            console.print(f"database: {redact(settings.database_url or '')}")
            console.print(f"serving on http://{settings.host}:{settings.port}/graphql "
                          f"({settings.workers} worker{'s' if settings.workers > 1 else ''})")
            log_level = settings.log_level.lower()
            configure_logging(log_level, settings.log_format, uvicorn_access=not settings.access_log)
            # The hub writes its own JSON access line (hub.telemetry.observe); uvicorn's is on only without it.
            # A websocket message is a request body too (hub.http.limits): uvicorn refuses a frame declaring more than
            # HUB_MAX_BODY_BYTES from its header (1009) instead of buffering up to its default 16 MiB per socket,
            # which anyone may open without a token, before the hub's own check sees the whole message.
            server_options = {"log_level": log_level, "log_config": None, "access_log": not settings.access_log,
                              "ws_max_size": settings.max_body_bytes}
            if settings.workers > 1:
                metrics_dir = None
                if settings.metrics:
                    # Every scrape shows all workers: prometheus-client's multiprocess mode, in a fresh folder
                    # for this run (hub.telemetry.metrics), found by the workers through the environment they inherit.
                    # deferred import: CLI start-up time
                    from hub.telemetry.metrics import MULTIPROC_ENV, prepare_multiprocess_dir

                    metrics_dir = prepare_multiprocess_dir(settings.data_dir, settings.port)
                    os.environ[MULTIPROC_ENV] = str(metrics_dir)
                os.environ["DATABASE_URL"] = settings.database_url or ""
                table = None
                if settings.rate_limit_per_second > 0:
                    # The per-consumer rate holds for the host: the workers share one table (hub.http.rate_table),
                    # fresh for this run, found through the environment they inherit.
                    table = create_for_server(settings.data_dir, settings.port)
                    os.environ[ENV_VAR] = str(table)
                sockets = None
                if settings.ws_max_sockets_per_consumer > 0:
                    # A consumer's open websockets are capped for the host: the workers share one table
                    # (hub.http.socket_table), fresh for this run, found through the environment they inherit.
                    from hub.http import socket_table  # deferred import: CLI start-up time

                    sockets = socket_table.create_for_server(settings.data_dir, settings.port, settings.workers)
                    os.environ[socket_table.ENV_VAR] = str(sockets)
                turn = None
                if settings.audit_turn:
                    # deferred import: CLI start-up time
                    from hub.governance.audit_turn import TURN_ENV, create_for_server as create_turn

                    turn = create_turn(settings.data_dir, settings.port)  # hub.governance.audit_turn
                    os.environ[TURN_ENV] = str(turn)
                try:
                    _serve_workers(uvicorn.Config("hub.app:app_from_env", factory=True, host=settings.host,
                                                  port=settings.port, workers=settings.workers, lifespan="on",
                                                  **server_options))
                finally:
                    if turn is not None:
                        for each in (turn, turn.with_name(turn.name + ".waiting")):
                            each.unlink(missing_ok=True)
                    for each in (table, sockets):
                        if each is not None:
                            each.unlink(missing_ok=True)
                    if metrics_dir is not None:
                        shutil.rmtree(metrics_dir, ignore_errors=True)
            else:
                from hub.app import create_app  # deferred import: CLI start-up time (the whole application)

                uvicorn.run(create_app(settings), host=settings.host, port=settings.port, lifespan="on",
                            **server_options)
    except SetupError as exc:
        _fail(exc)


def _serve_workers(config: "uvicorn.Config") -> None:  # noqa: F821 - imported lazily
    """``uvicorn.run`` with several workers, except that SIGHUP stops them (uvicorn's supervisor restarts its
    workers on SIGHUP; closing the terminal must stop the hub, like Ctrl-C)."""
    from uvicorn.supervisors.multiprocess import Multiprocess  # deferred import: CLI start-up time

    class Supervisor(Multiprocess):
        def handle_hup(self) -> None:
            logging.getLogger("uvicorn.error").info("Received SIGHUP (terminal closed), exiting.")
            self.should_exit.set()

    sock = config.bind_socket()
    try:
        Supervisor(config, sockets=[sock]).run()
    finally:
        sock.close()


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply pending migrations (forward-only, each in its own transaction)."""
    from hub.db.runtime import migrate_all, resolved  # deferred import: CLI start-up time

    try:
        with resolved(_settings()) as settings:
            for url, done in asyncio.run(migrate_all(settings)).items():
                for m in done:
                    console.print(f"applied {m.path.name}")
                console.print(f"{redact(url)}: up to date")
    except SetupError as exc:
        _fail(exc)


@db_app.command("status")
def db_status() -> None:
    """Show applied and pending migrations."""
    from hub.db.runtime import resolved, status_all  # deferred import: CLI start-up time

    try:
        with resolved(_settings()) as settings:
            for url, states in asyncio.run(status_all(settings)).items():
                table = Table(title=redact(url))
                table.add_column("version")
                table.add_column("name")
                table.add_column("state")
                table.add_column("applied at")
                for s in states:
                    table.add_row(f"{s.migration.version:04d}", s.migration.name,
                                  "applied" if s.applied else "[yellow]pending[/yellow]",
                                  str(s.applied_at or ""))
                Console().print(table)
    except SetupError as exc:
        _fail(exc)


@app.command()
def seed(
    scale: Scale = typer.Option("small", help="small (seconds), medium, or large (~20k enterprises, 200k postings)."),
    seed_value: int = typer.Option(42, "--seed", help="Random seed; the same seed gives the same data."),
) -> None:
    """Replace the departments' data with deterministic demo data (migrates first)."""
    from hub.db.runtime import migrate_all, resolved  # deferred import: CLI start-up time

    try:
        with resolved(_settings()) as settings:
            asyncio.run(migrate_all(settings))
            asyncio.run(_load_demo(settings, scale, seed_value, only_if_empty=False))
    except SetupError as exc:
        _fail(exc)


def _hub_db_call(fn):
    """Run ``fn(hub_department)`` against the hub's own schema, with the embedded server if needed."""
    from hub.db.runtime import migrate_all, resolved  # deferred import: CLI start-up time

    async def go(settings: Settings):
        await migrate_all(settings)
        db = await Databases(settings, settings.database_url).open()
        try:
            return await fn(db.hub)
        finally:
            await db.close()

    try:
        with resolved(_settings()) as settings:
            return asyncio.run(go(settings))
    except SetupError as exc:
        _fail(exc)


@consumer_app.command("create")
def consumer_create(
    department: str = typer.Option(..., help="commerce, labor, science, education or bigdata."),
    name: str = typer.Option(..., help="The system's name, e.g. \"labor statistics system\"."),
    role: str = typer.Option("consumer", help="consumer, or admin (the big-data bureau)."),
) -> None:
    """Register a consumer and print its bearer token (shown once; only its hash is stored)."""
    try:
        consumer, token = _hub_db_call(lambda hub: create_consumer(hub, department, name, role))
    except HubError as exc:
        _fail(exc)
        return
    console.print(f"consumer {consumer.id}: {consumer.department} / {consumer.name} ({consumer.role})")
    console.print("token (shown once, store it now):")
    print(token)


@consumer_app.command("list")
def consumer_list() -> None:
    """List consumers (tokens are never shown again)."""
    rows = _hub_db_call(lambda hub: hub.fetch("hub/consumers_list"))
    table = Table()
    for col in ("id", "department", "name", "role", "created", "revoked"):
        table.add_column(col)
    for r in rows:
        table.add_row(str(r["id"]), r["department"], r["name"], r["role"], f"{r['created_at']:%Y-%m-%d %H:%M}",
                      f"{r['revoked_at']:%Y-%m-%d %H:%M}" if r["revoked_at"] else "")
    Console().print(table)


@consumer_app.command("revoke")
def consumer_revoke(consumer_id: int = typer.Argument(..., help="The consumer's id (hub consumer list).")) -> None:
    """Revoke a consumer's token: its requests get HTTP 401 from then on."""
    row = _hub_db_call(lambda hub: hub.fetchrow("hub/consumer_revoke", consumer_id))
    if row is None:
        console.print(f"[red]error:[/red] no consumer {consumer_id}")
        raise typer.Exit(1)
    console.print(f"revoked consumer {row['id']} ({row['department']} / {row['name']})")


@schema_app.command("export")
def schema_export(
    check: bool = typer.Option(False, "--check", help="Do not write; exit 1 if the file differs from the code."),
) -> None:
    """Write the schema's SDL to graphql/schema.graphql."""
    from hub.api.schema import SCHEMA_FILE, export_sdl  # deferred import: CLI start-up time (the whole schema)

    sdl = export_sdl()
    if check:
        current = SCHEMA_FILE.read_text(encoding="utf-8") if SCHEMA_FILE.exists() else ""
        if current != sdl:
            console.print(f"[red]{SCHEMA_FILE.name} is out of date[/red]: run hub schema export")
            raise typer.Exit(1)
        console.print(f"{SCHEMA_FILE.name} is up to date")
        return
    SCHEMA_FILE.write_text(sdl, encoding="utf-8")
    console.print(f"wrote {SCHEMA_FILE} ({len(sdl.splitlines())} lines)")


@app.command("plan")
def plan(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="A .graphql document."),
    explain: bool = typer.Option(False, "--explain", help="Print every statement, generated ones in full."),
) -> None:
    """How the compiled path answers a query document (hub.api.plan_explain); no database needed."""
    # deferred import: CLI start-up time (the whole schema)
    from hub.api.plan_explain import explain as explain_document

    text = file.read_text(encoding="utf-8")
    print(explain_document(text, _settings(), with_sql=explain))


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    cli_support.run(app)


if __name__ == "__main__":
    main()
