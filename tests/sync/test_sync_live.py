"""The bureau's client against a real HTTP server: ``hub sync pull`` killed with SIGKILL at random moments
and restarted ends with exactly the source's rows; ``hub ingest`` uploads and prints the report; the
``datasetChanged`` subscription over graphql-transport-ws announces new cursors."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
import pytest
from websockets.asyncio.client import connect

from hub.app import create_app
from hub.sync import client as sync_client
from hub.sync.client import Checkpoint, Puller, Replica
from hub.sync.cursor import Cursor
from tests.support.helpers import sql, sql_value
from tests.support.live import serve_in_thread
from tests.support.sync import DATASET, Writers, newest_txid, scratch, source_rows, wait_readable


@pytest.fixture(scope="module")
def live(server_url, settings):
    """A scratch database served by uvicorn on a free port, in a background thread."""
    s, tokens = scratch(server_url, settings, "hub_test_sync_live")
    with serve_in_thread(create_app(s)) as url:
        yield s, tokens, url


def _pull(url: str, token: str, directory: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "hub.cli", "sync", "pull", "--dataset", DATASET, "--to",
                             str(directory), "--url", url, "--token", token, *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _caught_up(directory: Path, past: int) -> bool:
    cp = Checkpoint.load(directory)
    return cp is not None and cp.cursor is not None and Cursor.decode(cp.cursor, DATASET).txid > past


def test_pull_killed_with_sigkill_and_restarted_converges(live, tmp_path: Path) -> None:
    s, tokens, url = live
    directory = tmp_path / "postings"
    writers = Writers(s.database_url, n=4, target=3_000, seed=23)
    writing = threading.Thread(target=lambda: asyncio.run(writers.run()))
    writing.start()
    rng = random.Random(5)
    states = []
    try:
        for _ in range(6):  # follow the feed, and be killed at a random moment
            proc = _pull(url, tokens["labor"], directory, "--limit", "40", "--poll", "0.05")
            time.sleep(rng.uniform(0.6, 2.0))
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            cp = Checkpoint.load(directory)
            states.append((cp.snapshot, len(cp.files)) if cp else None)
    finally:
        writing.join(timeout=120)
    assert writers.committed >= 3_000
    past = asyncio.run(newest_txid(s.database_url))
    deadline = time.monotonic() + 60
    while not _caught_up(directory, past):
        assert time.monotonic() < deadline, "the pull did not catch up"
        done = _pull(url, tokens["labor"], directory, "--no-follow", "--limit", "500")
        assert done.wait(timeout=60) == 0, done.stderr.read()
    assert any(state and state[1] for state in states), f"no kill landed while following the feed: {states}"
    assert Replica.load(directory).rows == asyncio.run(source_rows(s.database_url))
    assert not list(directory.glob("*.tmp"))


def test_pull_survives_a_crash_at_every_file_operation(live, tmp_path: Path, monkeypatch) -> None:
    """Crash (an exception standing for kill -9) at the k-th rename of a run — while taking the snapshot, and
    while reading feed pages — for every k in turn, then run again: the directory converges to the source."""
    s, tokens, url = live
    real_replace = os.replace

    class Crash(BaseException):
        pass

    def crash_at(k: int) -> None:
        calls = {"n": 0}

        def crashing_replace(src, dst):
            calls["n"] += 1
            if calls["n"] == k:
                raise Crash
            real_replace(src, dst)

        monkeypatch.setattr(sync_client.os, "replace", crashing_replace)

    def run_to_the_end(directory: Path) -> None:
        monkeypatch.setattr(sync_client.os, "replace", real_replace)
        past = asyncio.run(newest_txid(s.database_url))
        deadline = time.monotonic() + 30
        while not _caught_up(directory, past):
            assert time.monotonic() < deadline
            with contextlib.closing(Puller(url, tokens["labor"], DATASET, directory, limit=50)) as puller:
                puller.run()

    crashes = {"snapshot": 0, "feed": 0}
    following = tmp_path / "following"
    run_to_the_end(following)  # the feed phase continues in this directory, crash after crash
    for phase in ("snapshot", "feed"):
        for k in range(1, 40):
            directory = tmp_path / f"snapshot-{k}" if phase == "snapshot" else following
            if phase == "feed":  # changes that take several pages, readable before the run starts
                txid = sql_value(s.database_url, "update labor.job_postings set headcount = headcount % 30 + 1 "
                                                 "where id % 41 = $1 returning pg_current_xact_id()::text::bigint",
                                 k % 41)
                asyncio.run(wait_readable(s.database_url, txid))
            crash_at(k)
            try:
                with contextlib.closing(Puller(url, tokens["labor"], DATASET, directory, limit=15)) as puller:
                    puller.run()
            except Crash:
                crashes[phase] += 1
            else:
                break  # fewer than k renames in a run: every point was tried
            run_to_the_end(directory)
            assert Replica.load(directory).rows == asyncio.run(source_rows(s.database_url)), (phase, k)
    assert crashes["snapshot"] >= 2 and crashes["feed"] >= 6, crashes


def test_hub_ingest_cli_uploads_and_prints_the_report(live, tmp_path: Path) -> None:
    s, tokens, url = live
    occupation = sql_value(s.database_url, "select min(code) from labor.occupations")
    uscc = sql_value(s.database_url, "select min(uscc) from commerce.enterprises")
    rows = [{"source_id": f"CLI-{i}", "title": "电工", "enterprise_uscc": uscc, "occupation_code": occupation,
             "headcount": 1 + i % 5, "wage_min": 5000, "wage_max": 6500, "education": "HIGH_SCHOOL",
             "district_code": "440106", "posted_on": "2025-05-01"} for i in range(500)]
    rows.append({**rows[0], "source_id": "CLI-bad", "headcount": 0})
    path = tmp_path / "postings.ndjson"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    env = {**os.environ, "HUB_TOKEN": tokens["labor"]}
    command = [sys.executable, "-m", "hub.cli", "ingest", str(path), "--dataset", DATASET, "--url", url]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 3, first.stderr  # a row was rejected (the valid ones were applied)
    assert "500" in first.stdout and "rejected line 501: headcount:" in first.stdout
    assert "1 row(s) rejected" in first.stderr and "--allow-rejects" in first.stderr
    assert sql_value(s.database_url, "select count(*) from labor.job_postings where source_id like 'CLI-%'") == 500
    again = subprocess.run([*command, "--allow-rejects"], env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "already applied" in again.stdout
    wrong = subprocess.run([*command[:-2], "--url", url, "--token", tokens["commerce"]], capture_output=True,
                           text=True, timeout=120, env={k: v for k, v in os.environ.items() if k != "HUB_TOKEN"})
    assert wrong.returncode == 1 and "FORBIDDEN" in wrong.stderr


def test_hub_ingest_cli_file_lines_every_error_and_url_defaults(live, tmp_path: Path) -> None:
    """CSV lines are file lines (header = line 1, a quoted newline counts), a rejected row shows all its errors,
    rows rejected: exit 3 unless --allow-rejects; the URL comes from HUB_URL, else HUB_HOST/HUB_PORT."""
    s, tokens, url = live
    occupation = sql_value(s.database_url, "select min(code) from labor.occupations")
    uscc = sql_value(s.database_url, "select min(uscc) from commerce.enterprises")

    def row(source_id: str, title: str = "电工", headcount: str = "2", district: str = "440106") -> str:
        return (f"{source_id},{title},{uscc},{occupation},{headcount},5000,6000,HIGH_SCHOOL,,{district},"
                f"2025-05-01,\n")

    path = tmp_path / "postings.csv"
    path.write_text("source_id,title,enterprise_uscc,occupation_code,headcount,wage_min,wage_max,education,"
                    "skill_level,district_code,posted_on,closes_on\n"            # line 1
                    + row("LN-1")                                                # line 2
                    + row("LN-2", title='"two\nlines"')                          # lines 3-4
                    + row("LN-3", headcount="0", district="abc")                 # line 5: two errors
                    + row("LN-4"), encoding="utf-8")                             # line 6
    env = {k: v for k, v in os.environ.items() if k not in ("HUB_URL", "HUB_HOST", "HUB_PORT")}
    env.update(HUB_TOKEN=tokens["labor"], HUB_URL=url)
    command = [sys.executable, "-m", "hub.cli", "ingest", str(path), "--dataset", DATASET]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 3, (first.stdout, first.stderr)
    rejected = [line.strip() for line in first.stdout.splitlines() if "rejected line" in line]
    assert len(rejected) == 1 and rejected[0].startswith("rejected line 5: headcount: 0 is out of range"), rejected
    assert "; district_code: 'abc' is not a 6-digit district code" in rejected[0]
    assert sql_value(s.database_url, "select count(*) from labor.job_postings where source_id like 'LN-%'") == 3
    host, port = url.removeprefix("http://").split(":")
    env.pop("HUB_URL")
    env.update(HUB_HOST="0.0.0.0", HUB_PORT=port)  # where `hub serve` listens: the client asks this machine
    again = subprocess.run([*command, "--allow-rejects"], env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, (again.stdout, again.stderr)
    assert "already applied" in again.stdout and "rejected line 5:" in again.stdout


def test_dataset_changed_subscription(live) -> None:
    s, tokens, url = live
    ws_url = url.replace("http", "ws") + "/graphql"
    query = 'subscription { datasetChanged(dataset: "labor.job_postings") { dataset cursor version } }'

    async def session(token: str | None, document: str, write: bool):
        async with connect(ws_url, subprotocols=["graphql-transport-ws"], open_timeout=10) as ws:
            payload = {"Authorization": f"Bearer {token}"} if token else {}
            await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
            ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert ack["type"] == "connection_ack"
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": document}}))
            for attempt in range(10):
                if write:
                    await asyncio.sleep(0.3)
                    await asyncio.to_thread(sql, s.database_url, "update labor.job_postings set headcount = "
                                            "headcount % 30 + 1 where id = (select min(id) from labor.job_postings)")
                try:
                    return json.loads(await asyncio.wait_for(ws.recv(), 3))
                except asyncio.TimeoutError:
                    continue
            raise AssertionError("no event")

    event = asyncio.run(session(tokens["labor"], query, write=True))
    assert event["type"] == "next", event
    change = event["payload"]["data"]["datasetChanged"]
    cursor = Cursor.decode(change["cursor"], DATASET)
    assert change["dataset"] == DATASET and int(change["version"]) == cursor.seq
    logged = sql(s.database_url, "select txid, seq from hub_sync.change_log where dataset = $1 order by txid desc, "
                                 "seq desc limit 5", DATASET)
    assert (cursor.txid, cursor.seq) in [(r["txid"], r["seq"]) for r in logged]

    denied = asyncio.run(session(tokens["commerce"], query.replace("labor.job_postings", "labor.skill_certificates"),
                                 write=False))
    assert denied["type"] == "next" and denied["payload"]["data"] is None
    assert denied["payload"]["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    async def anonymous():
        async with connect(ws_url, subprotocols=["graphql-transport-ws"], open_timeout=10) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": "Bearer nope"}}))
            try:
                await asyncio.wait_for(ws.recv(), 10)
            except Exception as exc:  # noqa: BLE001 - closed by the server
                return getattr(exc, "rcvd", None)
            return None

    closed = asyncio.run(anonymous())
    assert closed is not None and closed.code == 4403
