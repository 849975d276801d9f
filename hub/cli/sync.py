"""``hub sync pull`` / ``hub sync materialize`` / ``hub ingest``: the bureau's client, over HTTP only."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Optional

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn
from rich.table import Table

from hub.cli.support import EXIT_REJECTS, debugging
from hub.sync.charsets import csv_codec, detect_csv_codec, label
from hub.sync.client import Puller, Replica, SyncError, default_idempotency_key, file_format, upload

sync_app = typer.Typer(help="Keep a copy of a dataset: snapshot, then the change feed (HTTP).", no_args_is_help=True)
_err = Console(stderr=True, soft_wrap=True)

URL_OPTION = typer.Option(None, "--url", help="The hub's base URL (default HUB_URL, else http://HUB_HOST:HUB_PORT, "
                                              "else http://127.0.0.1:8000).")
TOKEN_OPTION = typer.Option(None, "--token", help="Bearer token (default HUB_TOKEN).")


def default_url(env: "os._Environ[str] | dict[str, str] | None" = None) -> str:
    """The hub a client command talks to: HUB_URL, else the HUB_HOST/HUB_PORT that `hub serve` listens on."""
    env = os.environ if env is None else env
    if env.get("HUB_URL"):
        return env["HUB_URL"]
    host = env.get("HUB_HOST") or "127.0.0.1"
    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # listening everywhere: ask this machine
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{env.get('HUB_PORT') or 8000}"


def _endpoint(url: Optional[str], token: Optional[str]) -> tuple[str, str]:
    url = url or default_url()
    token = token or os.environ.get("HUB_TOKEN")
    if not token:
        _err.print("[red]error:[/red] a token is required: --token or HUB_TOKEN")
        raise typer.Exit(2)
    return url, token


def _fail(exc: Exception) -> None:
    if debugging():
        raise exc
    _err.print(f"[red]error:[/red] {escape(str(exc))}")
    raise typer.Exit(1) from None


@sync_app.command("pull")
def pull(
    dataset: str = typer.Option(..., "--dataset", help="Catalog dataset, e.g. labor.job_postings."),
    to: Path = typer.Option(..., "--to", help="Directory for the NDJSON files and the checkpoint."),
    url: Optional[str] = URL_OPTION,
    token: Optional[str] = TOKEN_OPTION,
    limit: int = typer.Option(1000, "--limit", min=1, help="Changes per feed page."),
    follow: bool = typer.Option(True, "--follow/--no-follow", help="Keep following the feed, or stop when "
                                                                  "caught up."),
    poll: float = typer.Option(2.0, "--poll", min=0.05, help="Seconds between polls once caught up (--follow)."),
) -> None:
    """Take a snapshot into DIR (first run), then follow the change feed, one file per page and a checkpoint
    written atomically: killed at any moment and restarted, it continues where it left off."""
    url, token = _endpoint(url, token)
    stopping = {"now": False}

    def stop(*_args: object) -> None:
        stopping["now"] = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    puller = Puller(url, token, dataset, to, limit=limit, report=lambda m: _err.print(m))
    try:
        cp = puller.run(follow=follow, poll=poll, stop=lambda: stopping["now"])
    except KeyboardInterrupt:
        _err.print("stopped; the checkpoint is consistent: run again to continue")
        return
    except (SyncError, OSError) as exc:
        _fail(exc)
    finally:
        puller.close()
    _err.print(f"caught up: {len(cp.files)} change file(s) after {cp.snapshot}; cursor in {to / 'checkpoint.json'}")


@sync_app.command("materialize")
def materialize(
    source: Path = typer.Option(..., "--from", help="A directory written by hub sync pull."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the rows here (NDJSON; default stdout)."),
) -> None:
    """Apply the snapshot and change files of DIR: the dataset's rows at the checkpoint, one JSON per line."""
    try:
        rows = Replica.load(source).rows
    except (SyncError, OSError) as exc:
        _err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    data = b"".join(orjson.dumps(rows[k]) + b"\n" for k in sorted(rows))
    if out is None:
        typer.echo(data.decode(), nl=False)
    else:
        out.write_bytes(data)
        _err.print(f"{len(rows):,} rows written to {out}")


def ingest_command(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="NDJSON, CSV or .xlsx file."),
    dataset: str = typer.Option(..., "--dataset", help="Catalog dataset of your department, e.g. "
                                                       "labor.job_postings."),
    url: Optional[str] = URL_OPTION,
    token: Optional[str] = TOKEN_OPTION,
    fmt: str = typer.Option("auto", "--format", help="auto (by file extension), ndjson, csv or xlsx."),
    encoding: Optional[str] = typer.Option(None, "--encoding", help="A CSV file's encoding: utf-8, gb18030, gbk "
                                           "or gb2312 (default: UTF-8, else GB18030 when the file is not UTF-8)."),
    key: Optional[str] = typer.Option(None, "--idempotency-key", help="Default: sha256 of the dataset and file, "
                                                                      "so the same file is applied once."),
    allow_rejects: bool = typer.Option(False, "--allow-rejects", help="Exit 0 even when rows were rejected "
                                                                      "(default: exit 3)."),
) -> None:
    """Upload FILE to POST /ingest/{dataset} with a progress bar, and print the ingest report: every rejected
    row with its file line (the CSV header is line 1) and all its errors. Exits 3 when rows were rejected (the
    valid rows were applied) unless --allow-rejects."""
    url, token = _endpoint(url, token)
    if fmt not in ("auto", "ndjson", "csv", "xlsx"):
        _err.print("[red]error:[/red] --format must be auto, ndjson, csv or xlsx")
        raise typer.Exit(2)
    try:
        fmt = file_format(file, fmt)
        encoding = _csv_encoding(file, fmt, encoding)
        key = key or default_idempotency_key(file, dataset)
        with Progress(TextColumn("uploading {task.description}"), BarColumn(), DownloadColumn(),
                      TransferSpeedColumn(), console=_err) as progress:
            task = progress.add_task(file.name, total=file.stat().st_size)
            report = upload(url, token, dataset, file, fmt, key, progress=lambda n: progress.advance(task, n),
                            charset=encoding)
    except SyncError as exc:
        _fail(exc)
    _print_report(report)
    if report["rejected"] and not allow_rejects:
        _err.print(f"{report['rejected']:,} row(s) rejected (the valid rows were applied): fix those lines and "
                   "upload them again, or pass --allow-rejects", soft_wrap=True)
        raise typer.Exit(EXIT_REJECTS)


def _csv_encoding(file: Path, fmt: str, encoding: Optional[str]) -> Optional[str]:
    """The charset to send a CSV file with: ``--encoding``, else UTF-8 or, for a file that is not, GB18030."""
    if encoding is not None:
        if fmt != "csv" or csv_codec(encoding) is None:
            why = "only a CSV file takes one" if fmt != "csv" else "a CSV file is read as utf-8, gb18030, gbk or gb2312"
            _err.print(f"[red]error:[/red] --encoding {encoding}: {why}")
            raise typer.Exit(2)
        return encoding
    if fmt != "csv":
        return None
    codec = detect_csv_codec(file)
    if codec is None:
        _err.print(f"{file.name} is neither UTF-8 nor GB18030: sent as UTF-8 (rows that are not are rejected); "
                   "pass --encoding")
    elif codec != "utf-8":
        _err.print(f"read {file.name} as {label(codec)} (not UTF-8)")
    return codec


def _print_report(report: dict) -> None:
    console = Console()
    title = f"ingest into {report['dataset']} (batch {report['batchId']})"
    if report.get("replayed"):
        title += " — already applied under this idempotency key: nothing was applied now"
    table = Table(title=title)
    # applied = inserted + updated + unchanged; the three are null for a writer who does not read the dataset in
    # clear (hub.sync.report_view): it is told how many rows were applied, not which keys were stored before.
    columns = [n for n in ("received", "applied", "inserted", "updated", "unchanged", "rejected", "warnings")
             if n in report and report[n] is not None]
    for name in columns:
        table.add_column(name, justify="right")
    table.add_row(*(f"{report[n]:,}" for n in columns))
    console.print(table)
    for label, rows in (("rejected", report["rejectedRows"]), ("warning", report["warningRows"])):
        for r in rows:
            field = f" {r['field']}:" if r.get("field") else ""
            console.print(f"  {label} line {r['line']}:{field} {r['reason']}", markup=False, highlight=False,
                          soft_wrap=True)
    shown = len(report["rejectedRows"])
    if report["rejected"] > shown:
        console.print(f"  ... and {report['rejected'] - shown:,} more rejected rows (kept with batch "
                      f"{report['batchId']} in hub_sync.ingest_issues)")
