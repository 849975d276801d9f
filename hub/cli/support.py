"""What the ``hub`` commands share: one line a person can act on for every known failure, flags shown as
flags in ``--help``, and progress bars for long steps (``progress_bars``).

``run(app)`` is the one place that turns known exceptions (an unreachable or misnamed database, a hub that
does not answer, a bad setting, a file that cannot be read) into one line on stderr and an exit code; the
traceback is shown only with ``hub --debug ...`` or ``HUB_LOG_LEVEL=debug``. The connect points
(``hub.db.runtime.connect``, the sync client) name their target with ``database_problem`` / ``http_problem``.
"""

from __future__ import annotations

import errno
import os
import socket
import sys
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import asyncpg
import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from typer.core import TyperOption

from hub.errors import HubError, SetupError
from hub.problems import database_problem, http_problem, os_cause
from hub.settings import Settings, SettingsError

# Exit codes of the hub's commands (README "Command line").
EXIT_ERROR = 1       # the command failed: nothing (more) was done
EXIT_USAGE = 2       # bad options or settings
EXIT_REJECTS = 3     # hub ingest: the valid rows were applied, some rows were rejected

DEBUG = {"on": False}  # set by ``hub --debug``


def debugging() -> bool:
    return DEBUG["on"] or os.environ.get("HUB_LOG_LEVEL", "").lower() == "debug"


# --- flags in --help --------------------------------------------------------------------------------

_display_type_rich = TyperOption.display_type_rich


def _flag_display_type(self: TyperOption, ctx: Any) -> str | None:
    # typer 0.29.2's rich help prints a type for every option, so a flag reads "--check <bool>" and users type
    # "--check true". Click's own help shows no value for flags (and counts); this restores that for typer's
    # panels. Patched here, once, because typer builds the options itself (there is no option class to pass).
    if self.is_flag or self.count:
        return None
    return _display_type_rich(self, ctx)


TyperOption.display_type_rich = _flag_display_type  # type: ignore[method-assign]


def settings_or_exit(console: Console) -> Settings:
    """The settings from the environment; a bad one is a ``configuration error:`` line on ``console`` and exit 2."""
    try:
        return Settings.from_env()
    except SettingsError as exc:
        console.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(EXIT_USAGE) from None


# --- progress bars ---------------------------------------------------------------------------------------

@contextmanager
def progress_bars(console: Console) -> Iterator[Callable[[str, int, int], None]]:
    """A ``progress(step, done, total)`` callback (as ``hub seed``'s demo load and ``hub stats refresh`` take it)
    that shows one bar per step on ``console``, the bars kept on screen when the block ends."""
    with Progress(TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as progress:
        tasks: dict[str, TaskID] = {}

        def report(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = progress.add_task(step, total=max(total, 1))
            progress.update(tasks[step], completed=done, total=max(total, 1))

        yield report


# --- naming the target and the cause ---------------------------------------------------------------------

def port_problem(host: str, port: int) -> str | None:
    """Why ``hub serve`` could not listen on ``host:port`` (None: it can). Checked before anything is started,
    with the same socket options as uvicorn, so a busy port is said at once and in words."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        return f"cannot listen on {host}:{port}: unknown host — set HUB_HOST"
    family, _type, _proto, _name, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return f"port {port} is in use (another hub?) — set HUB_PORT"
            return f"cannot listen on {host}:{port}: {os_cause(exc) or exc} — set HUB_HOST/HUB_PORT"
    return None


def describe(exc: BaseException) -> tuple[str, int] | None:
    """(one line, exit code) for an exception a person can act on; None for a bug (the traceback is kept)."""
    if isinstance(exc, SettingsError):
        return f"configuration error: {exc}", EXIT_USAGE
    if isinstance(exc, SetupError):
        return f"error: {exc}", EXIT_ERROR
    if isinstance(exc, HubError):
        return f"error: {exc.code}: {getattr(exc, 'message', exc)}", EXIT_ERROR
    if isinstance(exc, httpx.HTTPError):
        try:
            url = str(exc.request.url)
        except RuntimeError:
            url = os.environ.get("HUB_URL", "the hub")
        return f"error: {http_problem(url, exc)}", EXIT_ERROR
    if isinstance(exc, (asyncpg.PostgresConnectionError, asyncpg.ClientConfigurationError,
                        asyncpg.InvalidAuthorizationSpecificationError, asyncpg.InvalidCatalogNameError,
                        socket.gaierror, ConnectionError, TimeoutError)):
        url = os.environ.get("DATABASE_URL") or "the embedded PostgreSQL"
        return f"error: {database_problem(url, exc)}", EXIT_ERROR
    if isinstance(exc, OSError):
        where = f" {exc.filename}" if exc.filename else ""
        return f"error:{where}: {os_cause(exc) or exc}", EXIT_ERROR
    return None


def run(app: typer.Typer) -> None:
    """Run the app; a known failure ends as one line on stderr and a non-zero exit, a bug with its traceback."""
    try:
        app()
    except Exception as exc:  # noqa: BLE001 - sorted by describe(): known ones become one line
        described = None if debugging() else describe(exc)
        if described is None:
            raise
        message, code = described
        print(message, file=sys.stderr)
        sys.exit(code)
