"""``hub stats refresh``, ``hub report YEAR --out FILE`` and ``hub report publish YEAR``."""

from __future__ import annotations

import asyncio
import getpass
import sys
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional

import typer
from rich.console import Console
from typer.core import TyperGroup

from hub.cli.support import progress_bars, settings_or_exit
from hub.db.pools import Databases
from hub.errors import HubError, SetupError
from hub.settings import Settings
from resolvers.analytics.report.withdrawn import MAX_VERSION

_err = Console(stderr=True, soft_wrap=True)


class _ReportGroup(TyperGroup):
    """``hub report YEAR ...`` runs the ``render`` command; ``hub report publish YEAR`` the subcommand."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["render", *args]
        return super().parse_args(ctx, args)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """``hub report --help`` is the help of ``hub report YEAR``: its options, where users look (its text
        names ``hub report publish``)."""
        render = self.commands["render"]
        render.format_help(type(ctx)(render, info_name=ctx.info_name, parent=ctx.parent), formatter)


stats_app = typer.Typer(help="The published statistics' summary tables (hub.stat_*).", no_args_is_help=True)
report_app = typer.Typer(cls=_ReportGroup, no_args_is_help=True,
                         help="The annual report: `hub report YEAR --out FILE.html` writes its pages, CSV and JSON "
                              "(the latest published version, else the draft); `hub report publish YEAR` publishes "
                              "a version.")


def _run(fn: Callable[[Any, Settings], Awaitable[Any]]) -> Any:
    """Run ``fn(databases, settings)`` on a migrated database (the embedded server when no DATABASE_URL)."""
    from hub.db.runtime import migrate_all, resolved  # deferred import: CLI start-up time

    settings = settings_or_exit(_err)

    async def go(s: Settings) -> Any:
        await migrate_all(s)
        db = await Databases(s, s.database_url).open()
        try:
            return await fn(db, s)
        finally:
            await db.close()

    try:
        with resolved(settings) as s:
            return asyncio.run(go(s))
    except (SetupError, HubError) as exc:
        _err.print(f"[red]error:[/red] {getattr(exc, 'message', exc)}")
        raise typer.Exit(1) from None


@stats_app.command("refresh")
def stats_refresh() -> None:
    """Recompute the summary tables from every department's current data (readers are never blocked)."""
    from resolvers.analytics.statistics import refresh_statistics  # deferred import: CLI start-up time

    async def go(db: Any, settings: Settings) -> Any:
        with progress_bars(_err) as report:
            return await refresh_statistics(db, progress=report)

    w = _run(go)
    _err.print(f"statistics refresh #{w.refresh_id} done at {w.refreshed_at:%Y-%m-%d %H:%M:%S}; watermark: "
               + ", ".join(f"{dept} xmin {src['snapshotXmin']}" for dept, src in sorted(w.sources.items())))


@report_app.command("render")
def report_render(
    year: int = typer.Argument(..., help="The report year, e.g. 2025."),
    out: Optional[Path] = typer.Option(
        None, "--out", help="HTML file to write, with the other language's page (NAME.en.html or NAME.zh.html), "
                            "NAME.csv and NAME.json beside it, linked by file name (default: the page to standard "
                            "output)."),
    lang: str = typer.Option("zh", help="zh (as published) or en (English labels)."),
    version: Optional[int] = typer.Option(None, min=1, max=MAX_VERSION,
                                          help="A published version (default: the latest not withdrawn; a withdrawn "
                                               "one is written for the operator, audited, with a warning: its "
                                               "figures are no longer public)."),
    draft: bool = typer.Option(False, "--draft", help="The live draft, even when a version is published."),
    hub_url: Optional[str] = typer.Option(
        None, "--hub-url", envvar="HUB_URL", help="The hub's public URL: links to what is not written (other "
                                                  "versions; on standard output, every link) point there. Without "
                                                  "it they are shown as text."),
) -> None:
    """Write the year's report page: the latest published version, else the draft.

    `hub report publish YEAR` freezes the year's figures as its next published version (see its --help)."""
    # deferred import: CLI start-up time (the figures, the report's templates)
    from resolvers.analytics.figures import check_year
    from resolvers.analytics.report.build import draft_report, published_report
    from resolvers.analytics.report.files import ReportFiles, write
    from resolvers.analytics.report.html import LANGUAGES, Links, render, served_links
    from resolvers.analytics.report import withdrawn

    if lang not in LANGUAGES:
        _err.print(f"[red]error:[/red] --lang must be one of {', '.join(LANGUAGES)}")
        raise typer.Exit(2)
    if draft and version is not None:
        _err.print("[red]error:[/red] ask for --version or for --draft, not both")
        raise typer.Exit(2)
    if hub_url is not None and not hub_url.startswith(("http://", "https://")):
        _err.print(f"[red]error:[/red] --hub-url (or HUB_URL) must be an http:// or https:// URL, not {hub_url!r}")
        raise typer.Exit(2)
    try:
        files = ReportFiles.beside(out, lang) if out is not None else None
    except ValueError as exc:
        _err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None

    formats = "html" if files is None else "html, csv, json"

    async def go(db: Any, settings: Settings) -> Any:
        check_year(year)
        report = None if draft else await published_report(db.hub, year, version)
        if report is None and version is not None:
            raise SetupError(f"{year} has no published version {version}")
        if report is None:
            report = await draft_report(db.hub, settings, year)
            await _audit(db, f"report.draft {year} ({formats})", "the draft")
        elif report.withdrawal is not None:  # the operator reads it (database access), audited like an admin's read
            await _audit(db, withdrawn.operation(year, report.version, formats), "the withdrawn version")
        return report  # a published version not withdrawn: public, not audited

    report = _run(go)
    what = "draft" if report.draft else f"version {report.version}"
    if report.withdrawal is not None:
        _err.print(f"[yellow]warning:[/yellow] {year} version {report.version} was withdrawn on "
                   f"{report.withdrawal['withdrawnAt'][:10]} ({report.withdrawal['reason']}): its figures are no "
                   "longer public (the hub answers 410 Gone to everyone but admins); do not publish these files")
    if files is None:
        links = (served_links(report, lang, hub_url.rstrip("/")) if hub_url else
                 Links(None, None, None, {v["version"]: None for v in report.versions}))
        sys.stdout.write(render(report, lang, links))
        return
    for path, size in write(report, files, lang, hub_url):
        _err.print(f"wrote {path} ({year}, {what}, {size:,} bytes)")


async def _audit(db: Any, operation: str, what: str) -> None:
    """A draft or a withdrawn version is not public: reading it from the command line (which has database access:
    the operator) is audited like over HTTP (``report.draft YEAR (FORMATS)``, ``report.withdrawn YEAR vN
    (FORMATS)``, by ``cli: <user>``); without the entry nothing is written (fail closed)."""
    from hub.governance.audit import AuditEntry, append  # deferred import: CLI start-up time

    entry = AuditEntry(operation_type="query", operation_name=operation, consumer_name=f"cli: {getpass.getuser()}")
    try:
        await append(db, entry)
    except Exception as exc:  # noqa: BLE001 - any failure: the report is withheld
        raise SetupError(f"audit log unavailable ({type(exc).__name__}): {what} was not written") from exc


@report_app.command("withdraw")
def report_withdraw(year: int = typer.Argument(..., help="The report year, e.g. 2025."),
                    version: int = typer.Argument(..., min=1, max=MAX_VERSION,
                                                  help="The published version to withdraw."),
                    reason: str = typer.Option(..., "--reason", help="Why (shown on the version's page).")) -> None:
    """Mark a published version withdrawn (append-only): its figures are no longer public (the hub answers 410 Gone
    with the withdrawal and a link to the latest version to everyone but admins)."""
    from resolvers.analytics.report.build import withdraw  # deferred import: CLI start-up time

    by = f"cli: {getpass.getuser()}"
    row = _run(lambda db, settings: withdraw(db.hub, year, version, reason, withdrawn_by=by))
    _err.print(f"withdrew {year} version {row['version']} at {row['withdrawn_at']:%Y-%m-%d %H:%M:%S}: {row['reason']}")


@report_app.command("publish")
def report_publish(year: int = typer.Argument(..., help="The report year, e.g. 2025.")) -> None:
    """Freeze the year's figures (from the latest statistics refresh) as its next published version."""
    from resolvers.analytics.report.build import publish  # deferred import: CLI start-up time

    by = f"cli: {getpass.getuser()}"
    row = _run(lambda db, settings: publish(db.hub, settings, year, published_by=by))
    _err.print(f"published {year} version {row['version']} at {row['published_at']:%Y-%m-%d %H:%M:%S} "
               f"(statistics refresh #{row['refresh_id']}): /reports/{year}?version={row['version']}")


# The `hub` sub-commands analytics adds (hub.assembly.commands): hub stats refresh, hub report YEAR ...
COMMANDS = (("stats", stats_app), ("report", report_app))
