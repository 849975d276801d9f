"""``hub audit ...``: check the audit log's hash chain; sign and check checkpoints of its head."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Awaitable, Callable, List, Optional

import asyncpg
import typer
from rich.console import Console

from hub.cli.support import settings_or_exit
from hub.errors import SetupError
from hub.settings import Settings

audit_app = typer.Typer(help="The audit log (hub.audit_log): append-only and hash-chained, with signed checkpoints.",
                        no_args_is_help=True)

_err = Console(stderr=True, soft_wrap=True)  # a problem is one line, whatever the width
SHOWN_PROBLEMS = 20  # problems printed by verify; the rest are counted


def _settings() -> Settings:
    return settings_or_exit(_err)


def _fail(message: str, code: int = 1) -> None:
    _err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def _on_database(settings: Settings, work: Callable[[str], Awaitable[Any]]) -> Any:
    """``work(url of the hub schema's database)``, with the embedded server when no DATABASE_URL is set."""
    from hub.db.runtime import resolved  # deferred import: CLI start-up time

    try:
        with resolved(settings) as settings:
            return asyncio.run(work(settings.url_for("bigdata", settings.database_url)))
    except SetupError as exc:
        _fail(str(exc))


async def _verify(url: str, checkpoints: list):
    # deferred import: CLI start-up time
    from hub.db.runtime import connect
    from hub.governance.audit import verify

    conn = await connect(url)
    try:
        return await verify(conn, checkpoints=checkpoints)
    except asyncpg.UndefinedTableError as exc:
        raise SetupError("hub.audit_log does not exist: run `hub db migrate`") from exc
    finally:
        await conn.close()


def _public_keys(settings: Settings, files: list[Path]) -> dict:
    # deferred import: CLI start-up time (cryptography)
    from hub.governance.audit_keys import load_private_key, load_public_key
    from hub.governance.checkpoints import public_keys_by_id

    if files:
        return public_keys_by_id(load_public_key(f) for f in files)
    if settings.audit_signing_key is not None:
        return public_keys_by_id([load_private_key(settings.audit_signing_key).public_key()])
    _fail("no public key to check the checkpoints with: pass --public-key FILE (hub audit keygen wrote "
          "<key file>.pub) or set HUB_AUDIT_SIGNING_KEY", 2)
    return {}


def _checked_checkpoints(settings: Settings, path: Path, key_files: list[Path]) -> tuple[list, list[str]]:
    """The checkpoints of ``path`` whose signatures verify, and the problems of the others."""
    # deferred import: CLI start-up time
    from hub.governance.checkpoints import read_export, seq_gaps, signature_problem

    try:
        keys = _public_keys(settings, key_files)
    except SetupError as exc:
        _fail(str(exc), 2)
    try:
        lines, problems = read_export(path)
    except OSError as exc:
        _fail(f"cannot read the checkpoints file {path}: {exc.strerror or exc}", 2)
    good = []
    for number, head in lines:
        problem = signature_problem(head, keys)
        if problem is None:
            good.append(head)
        else:
            problems.append(f"{path.name} line {number}: {problem}")
    problems += seq_gaps(path.name, good)
    return good, problems


@audit_app.command("verify")
def audit_verify(
    checkpoints: Optional[Path] = typer.Option(
        None, "--checkpoints", help="An export file of signed checkpoints (HUB_AUDIT_CHECKPOINT_EXPORT): also fail "
                                    "when the chain no longer extends one of them."),
    public_key: Optional[List[Path]] = typer.Option(
        None, "--public-key", help="Public key file the checkpoints are signed with (repeatable; default: the key "
                                   "of HUB_AUDIT_SIGNING_KEY)."),
) -> None:
    """Recompute the hash chain in id order; exit 1 naming the first altered entry or the entry after a removed
    one, and (--checkpoints) every exported checkpoint the chain no longer extends."""
    settings = _settings()
    heads: list = []
    problems: list[str] = []
    if checkpoints is not None:
        heads, problems = _checked_checkpoints(settings, checkpoints, list(public_key or []))
    elif public_key:
        _fail("--public-key needs --checkpoints FILE", 2)
    result = _on_database(settings, lambda url: _verify(url, heads))
    problems = [*result.problems, *problems]
    if problems:
        where = f" at entry {result.first_bad_id}" if result.first_bad_id is not None else ""
        _err.print(f"[red]audit log BROKEN[/red]{where} ({result.checked} entries checked"
                   + (f", {len(heads)} checkpoints" if checkpoints is not None else "") + "):")
        for problem in problems[:SHOWN_PROBLEMS]:
            _err.print(f"  {problem}", markup=False, highlight=False)
        if len(problems) > SHOWN_PROBLEMS:
            _err.print(f"  ... and {len(problems) - SHOWN_PROBLEMS} more")
        raise typer.Exit(1)
    if result.checked == 0:
        typer.echo("audit log OK: 0 entries checked (empty)")
    else:
        typer.echo(f"audit log OK: {result.checked} entries checked; head entry {result.head_id} "
                   f"hash {result.head_hash}")
    if checkpoints is not None:
        if heads:
            newest = max(heads, key=lambda h: (h.entry_id, h.seq))
            typer.echo(f"extends all {len(heads)} checkpoints of {checkpoints.name}; the newest, {newest.label}, "
                       f"covers entries up to {newest.entry_id}: later entries are not covered yet")
        else:
            typer.echo(f"{checkpoints.name} holds no checkpoints: nothing proves the log's end")


@audit_app.command("keygen")
def audit_keygen(
    if_missing: bool = typer.Option(False, "--if-missing", help="Keep an existing key file (exit 0) instead of "
                                                                  "refusing to overwrite it."),
) -> None:
    """Write a new Ed25519 signing key to the file HUB_AUDIT_SIGNING_KEY names (mode 0600) and its public key
    beside it (<file>.pub, for the bureau); the key is never stored in the database."""
    # deferred import: CLI start-up time (cryptography)
    from hub.governance.audit_keys import generate, key_id, load_private_key, public_path

    settings = _settings()
    path = settings.audit_signing_key
    if path is None:
        _fail("HUB_AUDIT_SIGNING_KEY is not set: name the key file to write", 2)
        return
    try:
        key = generate(path)
    except FileExistsError:
        if not if_missing:
            _fail(f"{path} exists: refusing to overwrite a signing key (--if-missing keeps it)")
        try:
            existing = load_private_key(path)
        except SetupError as exc:
            _fail(str(exc))
            return
        typer.echo(f"audit signing key {path} exists (key id {key_id(existing.public_key())})")
        return
    except OSError as exc:
        _fail(f"cannot write {path}: {exc.strerror or exc}")
        return
    typer.echo(f"wrote audit signing key {path} (key id {key_id(key.public_key())}) and its public key "
               f"{public_path(path)}")


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign the chain's head now (unless it is the newest checkpoint's), store it, append it to
    HUB_AUDIT_CHECKPOINT_EXPORT, and print it as an export line."""
    from hub.governance.checkpoints import ChainRegression, signer_from_settings  # deferred import: CLI start-up time

    settings = _settings()
    if settings.audit_signing_key is None:
        _fail("HUB_AUDIT_SIGNING_KEY is not set: audit checkpoints are off (hub audit keygen)", 2)
    try:
        signer = signer_from_settings(settings)
    except SetupError as exc:
        _fail(str(exc), 2)
        return
    assert signer is not None

    async def go(url: str):
        try:
            return await signer.checkpoint(url)
        except ChainRegression as exc:
            raise SetupError(f"AUDIT LOG TAMPERED: {exc}; no checkpoint signed") from None
        except asyncpg.UndefinedTableError as exc:
            raise SetupError("hub.audit_checkpoints does not exist: run `hub db migrate`") from exc
        except (OSError, asyncpg.PostgresError) as exc:
            raise SetupError(f"checkpoint failed: {exc}") from exc

    outcome = _on_database(settings, go)
    if outcome.newest is None:
        _err.print("the audit log is empty: nothing to sign")
        return
    said = {"signed": "signed", "unchanged": "head unchanged since"}.get(outcome.status, outcome.status)
    _err.print(f"{said} {outcome.newest.label}: {outcome.newest.entry_count} entries"
               + (f"; appended to {signer.export}" if outcome.exported else ""))
    typer.echo(outcome.newest.to_line(), nl=False)


@audit_app.command("outbox")
def audit_outbox_command(
    drain: bool = typer.Option(False, "--drain", help="Append the pending entries now (the processes' drain does "
                                                      "it every HUB_AUDIT_OUTBOX_SECONDS)."),
    grace: float = typer.Option(60.0, "--grace", min=0.0, help="With --drain: only entries pending at least this "
                                                               "many seconds (a younger one's request may still be "
                                                               "writing it)."),
) -> None:
    """The audit outbox: the entries of writes made while the audit log could not take them. Prints what is
    pending per database; exits 1 while entries are pending (after --drain: those it could not write)."""
    from hub.db.pools import Databases  # deferred import: CLI start-up time
    from hub.db.runtime import resolved  # deferred import: CLI start-up time
    from hub.governance import audit_outbox  # deferred import: CLI start-up time

    settings = _settings()

    async def go(settings: Settings) -> tuple[Any, list]:
        db = await Databases(settings, settings.database_url).open()
        try:
            done = await audit_outbox.drain(db, grace=grace) if drain else None
            return done, await audit_outbox.counts(db)
        finally:
            await db.close()

    try:
        with resolved(settings) as settings:
            done, counts = asyncio.run(go(settings))
    except (SetupError, OSError, asyncpg.PostgresError) as exc:
        _fail(f"audit outbox: {exc}")
        return
    if done is not None:
        _err.print(f"drained: {done.appended} entr{'y' if done.appended == 1 else 'ies'} written, {done.found} found "
                   f"already in the log, {done.failed} failed, {done.forged} not the hub's (their MAC does not hold: "
                   "left in the outbox, never written)")
    for name, pending, oldest in counts:
        since = f" (oldest {oldest.isoformat(timespec='seconds')})" if oldest is not None else ""
        typer.echo(f"{name}: {pending} pending{since}")
    if any(pending for _, pending, _ in counts):
        raise typer.Exit(1)
