"""``hub audit ...``: check the audit log's hash chain."""

from __future__ import annotations

import asyncio

import asyncpg
import typer
from rich.console import Console

from hub.errors import SetupError
from hub.settings import Settings, SettingsError

audit_app = typer.Typer(help="The audit log (hub.audit_log): append-only and hash-chained.", no_args_is_help=True)

_err = Console(stderr=True)


async def _verify(settings: Settings):
    from hub.audit import verify

    url = settings.url_for("bigdata", settings.database_url)
    try:
        conn = await asyncpg.connect(url)
    except (OSError, asyncpg.PostgresError) as exc:
        raise SetupError(f"cannot connect to the database: {exc}") from exc
    try:
        return await verify(conn)
    except asyncpg.UndefinedTableError as exc:
        raise SetupError("hub.audit_log does not exist: run `hub db migrate`") from exc
    finally:
        await conn.close()


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute the hash chain in id order; exit 1 naming the first altered entry or the entry after a removed one."""
    from hub.runtime import resolved

    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        _err.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from None
    try:
        with resolved(settings) as settings:
            result = asyncio.run(_verify(settings))
    except SetupError as exc:
        _err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    if not result.ok:
        _err.print(f"[red]audit log BROKEN[/red] at entry {result.first_bad_id} "
                   f"({result.checked} entries checked): {result.problem}")
        raise typer.Exit(1)
    if result.checked == 0:
        typer.echo("audit log OK: 0 entries checked (empty)")
    else:
        typer.echo(f"audit log OK: {result.checked} entries checked; head entry {result.head_id} "
                   f"hash {result.head_hash}")
