"""``make bench-ingest``: bulk ingest of 100,000 job postings vs a raw COPY of the same file, in one run.

Creates the ``hub_bench_ingest`` database (on DATABASE_URL's server, else the embedded one) with the small demo
data (for the occupations and enterprises the postings refer to), writes 100,000 postings as CSV and NDJSON
into ``.hub/bench/ingest/``, serves the hub with uvicorn on a free port and then, per round, into an emptied
``labor.job_postings`` (same indexes, constraints and capture triggers for all):

* ``COPY``: ``COPY labor.job_postings (...) FROM STDIN (FORMAT csv)`` of the CSV file (no validation, no
  upsert, no report: the floor);
* ``ingest csv`` / ``ingest ndjson``: ``POST /ingest/labor.job_postings`` over HTTP, streamed from the file
  (``hub.sync.client.upload``, as ``hub ingest`` does), i.e. parse + validate + staging COPY + upsert by
  source_id + report, in one transaction;
* ``ingest csv gb18030`` / ``ingest xlsx``: the same rows as a GB18030 CSV (``charset=gb18030``) and as an
  .xlsx workbook (openpyxl's read-only reader: expect a fraction of the CSV rate; not part of the goal).

Prints seconds and rows/s of each (best of ``--rounds``) and the ingest/COPY ratio (goal: >= 0.5).

    python -m tests.bench.ingest [--rows 100000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import datetime as dt
import os
import random
import socket
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Iterator

import asyncpg
import orjson

from hub import ROOT
from hub.settings import Settings

DATABASE = os.environ.get("HUB_BENCH_INGEST_DATABASE", "hub_bench_ingest")
OUT = ROOT / ".hub" / "bench" / "ingest"
COLUMNS = ("source_id", "title", "enterprise_uscc", "occupation_code", "headcount", "wage_min", "wage_max", "education",
           "skill_level", "district_code", "posted_on", "closes_on")


@contextlib.contextmanager
def database() -> Iterator[str]:
    from tests.bench.database import with_database

    external = os.environ.get("DATABASE_URL")
    if external:
        yield _recreate(with_database(external, "postgres"), with_database(external, DATABASE))
        return
    from hub.db.embedded import EmbeddedPostgres

    pg = EmbeddedPostgres(Settings.from_env({}).data_dir).start()
    try:
        yield _recreate(pg.admin_url(), pg.admin_url(DATABASE))
    finally:
        pg.stop()


def _recreate(admin: str, url: str) -> str:
    async def go() -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'drop database if exists "{DATABASE}" with (force)')
            await conn.execute(f'create database "{DATABASE}"')
        finally:
            await conn.close()
    asyncio.run(go())
    return url


async def prepare(url: str) -> tuple[Settings, str, list[str], list[str]]:
    from hub.governance.consumers import create_consumer
    from hub.db.pools import Databases
    from hub.db.runtime import migrate_all
    from hub.demo.load import load_demo

    settings = replace(Settings.from_env({}), database_url=url, rate_limit_per_second=0.0, access_log=False,
                       metrics=False)
    await migrate_all(settings)
    db = await Databases(settings, url).open()
    try:
        pools = {"hub": db.pools["bigdata"], **{d: db.pools[d] for d in ("commerce", "labor", "science", "education")}}
        await load_demo(pools, scale="small", seed=42)
        _, token = await create_consumer(db.hub, "labor", "bench ingest (labor)")
        occupations = [r[0] for r in await db.pools["labor"].fetch("select code from labor.occupations")]
        usccs = [r[0] for r in await db.pools["commerce"].fetch("select uscc from commerce.enterprises")]
    finally:
        await db.close()
    return settings, token, occupations, usccs


def write_files(n: int, occupations: list[str], usccs: list[str]) -> tuple[Path, Path]:
    rng = random.Random(42)
    OUT.mkdir(parents=True, exist_ok=True)
    csv_path, ndjson_path = OUT / "postings.csv", OUT / "postings.ndjson"
    with open(csv_path, "w", newline="", encoding="utf-8") as c, open(ndjson_path, "wb") as j:
        writer = csv.writer(c, lineterminator="\n")
        writer.writerow(COLUMNS)
        for i in range(n):
            posted = dt.date(2023, 1, 1) + dt.timedelta(days=rng.randrange(900))
            closes = posted + dt.timedelta(days=rng.randrange(14, 120)) if rng.random() < 0.8 else None
            wage_min = rng.randrange(3000, 15000, 100)
            row = (f"BENCH-{i:07d}", f"{rng.choice(['招聘', '急聘', '诚聘'])}技工{i % 997}", rng.choice(usccs),
                   rng.choice(occupations), rng.randint(1, 20), wage_min, wage_min + rng.randrange(0, 5000, 100),
                   rng.choice(["HIGH_SCHOOL", "SECONDARY_VOCATIONAL", "JUNIOR_COLLEGE", "BACHELOR"]),
                   rng.choice([None, 1, 2, 3, 4, 5]), rng.choice(["440103", "440104", "440106", "440111"]),
                   posted.isoformat(), closes.isoformat() if closes else None)
            writer.writerow(["" if v is None else v for v in row])
            j.write(orjson.dumps(dict(zip(COLUMNS, row))) + b"\n")
    return csv_path, ndjson_path


def write_other_files(csv_path: Path) -> tuple[Path, Path]:
    """The CSV file's rows as a GB18030 CSV and as an .xlsx workbook (the numeric columns as numbers)."""
    import openpyxl

    gb_path, xlsx_path = OUT / "postings-gb18030.csv", OUT / "postings.xlsx"
    gb_path.write_bytes(csv_path.read_text(encoding="utf-8").encode("gb18030"))
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet()
    with open(csv_path, newline="", encoding="utf-8") as f:
        numeric = [name in ("headcount", "wage_min", "wage_max", "skill_level") for name in COLUMNS]
        for row in csv.reader(f):
            sheet.append([int(v) if number and v.isdigit() else (v or None) for v, number in zip(row, numeric)])
    workbook.save(xlsx_path)
    return gb_path, xlsx_path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _empty(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("truncate labor.job_postings restart identity cascade")
        await conn.execute("delete from hub_sync.change_log")
        await conn.execute("vacuum analyze labor.job_postings, hub_sync.change_log")
    finally:
        await conn.close()


async def raw_copy(url: str, path: Path) -> float:
    conn = await asyncpg.connect(url)
    try:
        started = time.perf_counter()
        await conn.copy_to_table("job_postings", schema_name="labor", source=path, columns=list(COLUMNS),
                                 format="csv", header=True)
        return time.perf_counter() - started
    finally:
        await conn.close()


def _wait_for_refresh() -> None:
    """An ingest starts a statistics refresh in the background: let it finish before the next measurement."""
    from hub.sync import ingest

    deadline = time.monotonic() + 300
    while ingest._REFRESH and time.monotonic() < deadline:
        time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    import uvicorn

    from hub.app import create_app
    from hub.sync.client import upload

    with database() as url:
        print(f"preparing {DATABASE} (small demo data) ...", flush=True)
        settings, token, occupations, usccs = asyncio.run(prepare(url))
        csv_path, ndjson_path = write_files(args.rows, occupations, usccs)
        gb_path, xlsx_path = write_other_files(csv_path)
        print(f"{args.rows:,} postings: {csv_path} ({csv_path.stat().st_size / 1e6:.1f} MB), "
              f"{ndjson_path} ({ndjson_path.stat().st_size / 1e6:.1f} MB)", flush=True)
        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                                               log_level="warning", lifespan="on"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        best: dict[str, float] = {}
        try:
            for round_no in range(1, args.rounds + 1):
                for name, path, fmt, charset in (("COPY (raw, csv)", csv_path, None, None),
                                                 ("ingest csv", csv_path, "csv", None),
                                                 ("ingest ndjson", ndjson_path, "ndjson", None),
                                                 ("ingest csv gb18030", gb_path, "csv", "gb18030"),
                                                 ("ingest xlsx", xlsx_path, "xlsx", None)):
                    asyncio.run(_empty(url))
                    if fmt is None:
                        seconds = asyncio.run(raw_copy(url, path))
                    else:
                        started = time.perf_counter()
                        report = upload(base, token, "labor.job_postings", path, fmt,
                                        key=f"bench-{round_no}-{path.name}", charset=charset)
                        seconds = time.perf_counter() - started
                        assert report["inserted"] == args.rows and report["rejected"] == 0, report
                        _wait_for_refresh()
                    best[name] = min(best.get(name, seconds), seconds)
                    print(f"round {round_no}: {name:<18} {seconds:6.2f} s  {args.rows / seconds:>10,.0f} rows/s",
                          flush=True)
        finally:
            server.should_exit = True
            thread.join(timeout=30)
    floor = best["COPY (raw, csv)"]
    print(f"\nbest of {args.rounds} round(s), {args.rows:,} postings into labor.job_postings:")
    for name, seconds in best.items():
        print(f"  {name:<18} {seconds:6.2f} s  {args.rows / seconds:>10,.0f} rows/s  {floor / seconds:5.2f} x COPY")
    ratio = floor / min(best["ingest csv"], best["ingest ndjson"])
    print(f"ingest / COPY rate: {ratio:.2f} (goal >= 0.50) {'OK' if ratio >= 0.5 else 'BELOW GOAL'}")


if __name__ == "__main__":
    main()
