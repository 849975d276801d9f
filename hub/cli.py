"""The ``hub`` command line (typer)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from dataclasses import replace
from typing import Optional

import typer
from rich.console import Console

from hub.errors import SetupError
from hub.settings import Settings, SettingsError

app = typer.Typer(help="Talent Data Hub: one GraphQL schema over the commerce, science, labor and education "
                       "departments' data, with government data-sharing rules.",
                  no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
schema_app = typer.Typer(help="The GraphQL schema contract (graphql/schema.graphql).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(schema_app, name="schema")

console = Console(stderr=True)


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        console.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from None


def _fail(exc: Exception) -> None:
    console.print(f"[red]error:[/red] {exc}")
    raise typer.Exit(1)


async def _load_demo(settings: Settings, scale: str, seed: int, only_if_empty: bool) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from hub.db import Databases
    from hub.seed import load_demo

    db = await Databases(settings, settings.database_url).open()
    try:
        if only_if_empty:
            marker = await db.hub.fetchval("hub/demo_data_status")
            if marker is not None:
                console.print("demo data already loaded; skipping (use [bold]hub seed[/bold] to reload)")
                return
        pools = {"hub": db.pools["bigdata"], **{d: db.pools[d] for d in ("commerce", "labor", "science", "education")}}
        with Progress(TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console) as progress:
            tasks: dict[str, int] = {}

            def report(step: str, done: int, total: int) -> None:
                if step not in tasks:
                    tasks[step] = progress.add_task(step, total=max(total, 1))
                progress.update(tasks[step], completed=done, total=max(total, 1))

            counts = await load_demo(pools, scale=scale, seed=seed, progress=report)
        total = sum(counts.values())
        console.print(f"loaded demo data: scale={scale} seed={seed}, {total:,} rows in {len(counts)} tables")
    finally:
        await db.close()


@app.command()
def serve(
    host: Optional[str] = typer.Option(None, help="Interface to bind (default HUB_HOST or 127.0.0.1)."),
    port: Optional[int] = typer.Option(None, help="Port (default HUB_PORT or 8000)."),
    workers: Optional[int] = typer.Option(None, help="Worker processes (default HUB_WORKERS or 1)."),
    migrate: bool = typer.Option(False, "--migrate", help="Apply pending migrations before serving."),
    demo: Optional[str] = typer.Option(None, help="Load demo data of this scale (small|medium|large) "
                                                  "unless demo data is already loaded."),
) -> None:
    """Serve GraphQL (POST/GET /graphql, GraphiQL in browsers), /healthz and /readyz."""
    import uvicorn

    from hub.runtime import migrate_all, redact, resolved

    settings = _settings()
    settings = replace(settings, host=host or settings.host, port=port or settings.port,
                       workers=workers or settings.workers)
    # uvicorn re-raises SIGTERM/SIGINT after its graceful shutdown, restoring the previous handlers
    # first: these turn the re-raised signal into SystemExit so the embedded PostgreSQL is stopped below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    try:
        with resolved(settings) as settings:
            if migrate:
                applied = asyncio.run(migrate_all(settings))
                n = sum(len(v) for v in applied.values())
                console.print(f"migrations: {n} applied" if n else "migrations: up to date")
            if demo:
                asyncio.run(_load_demo(settings, demo, 42, only_if_empty=True))
            console.print(f"database: {redact(settings.database_url or '')}")
            console.print(f"serving on http://{settings.host}:{settings.port}/graphql "
                          f"({settings.workers} worker{'s' if settings.workers > 1 else ''})")
            log_level = settings.log_level.lower()
            if settings.workers > 1:
                os.environ["DATABASE_URL"] = settings.database_url or ""
                uvicorn.run("hub.app:app_from_env", factory=True, host=settings.host, port=settings.port,
                            workers=settings.workers, log_level=log_level, lifespan="on")
            else:
                from hub.app import create_app

                uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=log_level,
                            lifespan="on")
    except SetupError as exc:
        _fail(exc)


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply pending migrations (forward-only, each in its own transaction)."""
    from hub.runtime import migrate_all, redact, resolved

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
    from rich.table import Table

    from hub.runtime import redact, resolved, status_all

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
    scale: str = typer.Option("small", help="small (seconds), medium, or large (~20k enterprises, 200k postings)."),
    seed_value: int = typer.Option(42, "--seed", help="Random seed; the same seed gives the same data."),
) -> None:
    """Replace the departments' data with deterministic demo data (migrates first)."""
    from hub.runtime import migrate_all, resolved
    from hub.seed import SCALES

    if scale not in SCALES:
        console.print(f"[red]error:[/red] --scale must be one of {', '.join(SCALES)}")
        raise typer.Exit(2)
    try:
        with resolved(_settings()) as settings:
            asyncio.run(migrate_all(settings))
            asyncio.run(_load_demo(settings, scale, seed_value, only_if_empty=False))
    except SetupError as exc:
        _fail(exc)


@schema_app.command("export")
def schema_export(
    check: bool = typer.Option(False, "--check", help="Do not write; exit 1 if the file differs from the code."),
) -> None:
    """Write the schema's SDL to graphql/schema.graphql."""
    from hub.schema import SCHEMA_FILE, export_sdl

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


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()


if __name__ == "__main__":
    main()
