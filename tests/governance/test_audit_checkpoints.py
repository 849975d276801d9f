"""Signed checkpoints of the audit chain's head (hub.governance.checkpoints): the log proves its own end.

Removing the newest entries, or rewriting an entry and re-hashing every later one, leaves a chain that
`hub audit verify` accepts; with the exported signed heads (`--checkpoints FILE`) it fails, naming the
checkpoint. Each test gets a fresh scratch database (migrated, no demo data) and its own key and export file.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import stat
import time
from dataclasses import replace
from pathlib import Path

import asyncpg
import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from hub.app import create_app
from hub.governance.audit import verify
from hub.governance.audit_keys import generate, key_id, public_path
from hub.governance.checkpoints import ChainRegression, SignedHead, read_export, sign
from hub.cli.main import app as cli_app
from hub.db.pools import Databases
from hub.errors import SetupError
from hub.governance import checkpoints
from hub.governance.consumers import create_demo_consumers
from hub.settings import Settings
from tests.support.helpers import sql, sql_value
from tests.support.audit_chain import append_entries, checkpoint, entry_ids, rewrite_and_rehash, signer, tamper

runner = CliRunner()
LOCK_ID = 7642014  # sql/queries/hub/audit_checkpoint_lock.sql


def _chain_alone_ok(settings: Settings) -> bool:
    async def go() -> bool:
        conn = await asyncpg.connect(settings.database_url)
        try:
            return (await verify(conn)).ok
        finally:
            await conn.close()

    return asyncio.run(go())


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {"DATABASE_URL": settings.database_url, "HUB_AUDIT_SIGNING_KEY": "", "HUB_AUDIT_CHECKPOINT_EXPORT": ""}
    return {**env, **extra}


def _verify_cli(settings: Settings, *extra: str, env: dict[str, str] | None = None):
    """`hub audit verify --checkpoints FILE --public-key FILE.pub`: the bureau's check, with the public key only."""
    args = ["audit", "verify", "--checkpoints", str(settings.audit_checkpoint_export),
            "--public-key", str(public_path(settings.audit_signing_key)), *extra]
    return runner.invoke(cli_app, args, env=env or _env(settings))


# --- the two holes the chain alone cannot see ---------------------------------------------------------

def test_deleting_the_newest_entry_is_detected(audited: Settings) -> None:
    append_entries(audited, 10)
    outcome = checkpoint(audited)
    assert outcome.status == "signed" and outcome.exported
    ids = entry_ids(audited)
    assert (outcome.newest.entry_id, outcome.newest.entry_count) == (ids[-1], 10)
    assert _verify_cli(audited).exit_code == 0
    tamper(audited.database_url, ("delete from hub.audit_log where id = $1", ids[-1]))
    assert _chain_alone_ok(audited)  # the hole: a shorter chain is a valid chain
    plain = runner.invoke(cli_app, ["audit", "verify"], env=_env(audited))
    assert plain.exit_code == 0, plain.output
    result = _verify_cli(audited)
    assert result.exit_code == 1, result.output
    assert (f"checkpoint #1 (entry {ids[-1]}, signed {outcome.newest.signed_at}) not found: "
            f"the chain ends at entry {ids[-2]}") in result.output
    # ... and still once new entries hide the end again
    append_entries(audited, 2, start=100)
    assert _chain_alone_ok(audited)
    result = _verify_cli(audited)
    assert result.exit_code == 1, result.output
    assert f"the chain has no entry {ids[-1]} (entry {ids[-2]} is followed by entry" in result.output


def test_rewriting_and_rehashing_is_detected(audited: Settings) -> None:
    append_entries(audited, 5)
    first = checkpoint(audited).newest
    append_entries(audited, 5, start=6)
    second = checkpoint(audited).newest
    assert (first.seq, second.seq, first.entry_count, second.entry_count) == (1, 2, 5, 10)
    ids = entry_ids(audited)
    rewrite_and_rehash(audited.database_url, ids[6], "outcome = 'DENIED', consumer_id = 999")
    assert _chain_alone_ok(audited)  # the hole: the re-hashed chain verifies
    result = _verify_cli(audited)
    assert result.exit_code == 1, result.output
    assert f"entry {ids[-1]} hash differs from checkpoint #2 (entry {ids[-1]}, signed {second.signed_at})" \
        in result.output
    assert "checkpoint #1" not in result.output  # entries up to the first head are untouched
    # rewriting an entry the first head covers breaks both
    rewrite_and_rehash(audited.database_url, ids[1], "error_codes = '{FORBIDDEN}'")
    result = _verify_cli(audited)
    assert result.exit_code == 1
    assert f"entry {ids[4]} hash differs from checkpoint #1" in result.output
    assert f"entry {ids[-1]} hash differs from checkpoint #2" in result.output


def test_the_verify_function_names_every_problem(audited: Settings) -> None:
    append_entries(audited, 6)
    head = checkpoint(audited).newest
    ids = entry_ids(audited)
    key = signer(audited).key
    # validly signed, but not what the chain holds: a count that does not match, an entry that is not there
    wrong_count = sign(key, seq=7, entry_id=ids[2], entry_hash=sql_value(
        audited.database_url, "select hash from hub.audit_log where id = $1", ids[2]), entry_count=2,
        signed_at=dt.datetime.now(dt.timezone.utc))
    missing = replace(head, seq=8, entry_id=ids[-1] + 50)

    async def go():
        conn = await asyncpg.connect(audited.database_url)
        try:
            return await verify(conn, checkpoints=[head, wrong_count, missing])
        finally:
            await conn.close()

    result = asyncio.run(go())
    assert not result.ok and result.checkpoints == 3 and result.first_bad_id is None
    assert result.problems == (
        f"{wrong_count.label} covers 2 entries, but the chain holds 3 up to entry {ids[2]}",
        f"{missing.label} not found: the chain ends at entry {ids[-1]}",
    )


# --- signatures ---------------------------------------------------------------------------------------

def test_a_forged_export_line_is_refused(audited: Settings) -> None:
    """After rewriting and re-hashing, editing the exported head to the new hash does not help: the
    signature no longer verifies."""
    append_entries(audited, 4)
    head = checkpoint(audited).newest
    ids = entry_ids(audited)
    rewrite_and_rehash(audited.database_url, ids[1], "outcome = 'ERROR'")
    new_hash = sql_value(audited.database_url, "select hash from hub.audit_log where id = $1", ids[-1])
    path = audited.audit_checkpoint_export
    line = json.loads(path.read_text())
    assert line["entry_hash"] == head.entry_hash != new_hash
    path.write_text(json.dumps({**line, "entry_hash": new_hash}) + "\n")
    result = _verify_cli(audited)
    assert result.exit_code == 1, result.output
    assert f"{path.name} line 1: checkpoint #1 (entry {ids[-1]}, signed {head.signed_at}): the signature does " \
           "not verify" in result.output


def test_a_head_signed_by_another_key_is_refused(audited: Settings, tmp_path: Path) -> None:
    append_entries(audited, 3)
    checkpoint(audited)
    other = generate(tmp_path / "other.pem")
    forged = sign(other, seq=2, entry_id=entry_ids(audited)[-1], entry_hash="f" * 64, entry_count=3,
                  signed_at=dt.datetime.now(dt.timezone.utc))
    with open(audited.audit_checkpoint_export, "a") as f:
        f.write(forged.to_line())
        f.write("this is not json\n")
    result = _verify_cli(audited)
    assert result.exit_code == 1, result.output
    assert f"line 2: checkpoint #2 (entry {forged.entry_id}, signed {forged.signed_at}) is signed by key " \
           f"{key_id(other.public_key())[:16]}" in result.output
    assert "line 3 is not a checkpoint" in result.output
    # with both public keys the second line's signature is good, and its hash is wrong
    result = _verify_cli(audited, "--public-key", str(public_path(tmp_path / "other.pem")))
    assert "hash differs from checkpoint #2" in result.output and "is signed by key" not in result.output


def test_verify_with_the_signing_key_or_without_any_key(audited: Settings) -> None:
    append_entries(audited, 3)
    checkpoint(audited)
    env = _env(audited, HUB_AUDIT_SIGNING_KEY=str(audited.audit_signing_key))
    result = runner.invoke(cli_app, ["audit", "verify", "--checkpoints", str(audited.audit_checkpoint_export)], env=env)
    assert result.exit_code == 0, result.output
    assert "audit log OK: 3 entries checked" in result.output
    assert "extends all 1 checkpoints of exported.jsonl" in result.output
    result = runner.invoke(cli_app, ["audit", "verify", "--checkpoints", str(audited.audit_checkpoint_export)],
                           env=_env(audited))
    assert result.exit_code == 2 and "no public key" in result.output
    result = runner.invoke(cli_app, ["audit", "verify", "--checkpoints", "no-such-file.jsonl"], env=env)
    assert result.exit_code == 2 and "cannot read the checkpoints file" in result.output


# --- the signer ---------------------------------------------------------------------------------------

def test_one_signer_at_a_time_and_only_when_the_head_moved(audited: Settings) -> None:
    url = audited.database_url
    assert checkpoint(audited).status == "empty"
    append_entries(audited, 2)

    async def with_lock_held() -> str:
        holder = await asyncpg.connect(url)
        try:
            await holder.execute("select pg_advisory_lock($1)", LOCK_ID)
            return (await signer(audited).checkpoint(url, periodic=True)).status
        finally:
            await holder.close()

    assert asyncio.run(with_lock_held()) == "busy"
    assert sql_value(url, "select count(*) from hub.audit_checkpoints") == 0

    async def concurrently() -> list[str]:
        signers = [signer(audited) for _ in range(4)]
        return [o.status for o in await asyncio.gather(*(s.checkpoint(url) for s in signers))]

    statuses = asyncio.run(concurrently())
    assert sorted(statuses) == ["signed", "unchanged", "unchanged", "unchanged"]
    assert sql_value(url, "select count(*) from hub.audit_checkpoints") == 1
    append_entries(audited, 1, start=3)
    assert checkpoint(audited, periodic=True).status == "not due"  # another process signed within the interval
    assert checkpoint(audited).status == "signed"  # hub audit checkpoint signs at once
    assert [r["seq"] for r in sql(url, "select seq from hub.audit_checkpoints order by seq")] == [1, 2]
    heads, problems = read_export(audited.audit_checkpoint_export)
    assert problems == [] and [h.seq for _, h in heads] == [1, 2]


def test_a_lost_export_line_is_made_good(audited: Settings) -> None:
    append_entries(audited, 2)
    assert checkpoint(audited).exported
    audited.audit_checkpoint_export.write_text('{"partial": ')  # e.g. the file was replaced; a crash left half a line
    outcome = checkpoint(audited)
    assert (outcome.status, outcome.exported) == ("unchanged", True)
    lines = audited.audit_checkpoint_export.read_text().splitlines()
    assert lines[0] == '{"partial": ' and SignedHead.from_json(json.loads(lines[1])) == outcome.newest
    assert checkpoint(audited).exported is False  # the file ends with the newest checkpoint: nothing to add


@pytest.mark.parametrize("tampering", ["delete the newest", "rewrite and re-hash"])
def test_the_signer_refuses_to_sign_over_a_tampered_chain(audited: Settings, tampering: str) -> None:
    append_entries(audited, 4)
    head = checkpoint(audited).newest
    ids = entry_ids(audited)
    if tampering == "delete the newest":
        tamper(audited.database_url, ("delete from hub.audit_log where id = $1", ids[-1]))
        expected = rf"{head.label.replace('(', '[(]').replace(')', '[)]')} not found: the log has no entry {ids[-1]}"
    else:
        rewrite_and_rehash(audited.database_url, ids[0], "outcome = 'ERROR'")
        expected = rf"entry {ids[-1]} hash differs from checkpoint #1"
    append_entries(audited, 1, start=50)
    with pytest.raises(ChainRegression, match=expected):
        checkpoint(audited)
    assert sql_value(audited.database_url, "select count(*) from hub.audit_checkpoints") == 1


@pytest.mark.parametrize("statement", ["update hub.audit_checkpoints set entry_count = 1",
                                       "delete from hub.audit_checkpoints", "truncate hub.audit_checkpoints"])
def test_the_checkpoint_table_is_append_only(audited: Settings, statement: str) -> None:
    append_entries(audited, 2)
    checkpoint(audited)
    with pytest.raises(asyncpg.PostgresError) as info:
        sql(audited.database_url, statement)
    assert info.value.sqlstate == "2F003" and "hub.audit_checkpoints is append-only" in str(info.value)
    assert sql_value(audited.database_url, "select entry_count from hub.audit_checkpoints") == 2


# --- the command line ---------------------------------------------------------------------------------

def test_keygen_writes_a_private_and_a_public_key_once(tmp_path: Path) -> None:
    path = tmp_path / "new" / "key.pem"
    result = runner.invoke(cli_app, ["audit", "keygen"], env={"HUB_AUDIT_SIGNING_KEY": str(path)})
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert public_path(path).read_text().startswith("-----BEGIN PUBLIC KEY-----")
    written = path.read_bytes()
    result = runner.invoke(cli_app, ["audit", "keygen"], env={"HUB_AUDIT_SIGNING_KEY": str(path)})
    assert result.exit_code == 1 and "refusing to overwrite" in result.output
    result = runner.invoke(cli_app, ["audit", "keygen", "--if-missing"], env={"HUB_AUDIT_SIGNING_KEY": str(path)})
    assert result.exit_code == 0 and "exists (key id" in result.output
    assert path.read_bytes() == written
    result = runner.invoke(cli_app, ["audit", "keygen"], env={"HUB_AUDIT_SIGNING_KEY": ""})
    assert result.exit_code == 2 and "HUB_AUDIT_SIGNING_KEY is not set" in result.output


def test_cli_checkpoint_signs_stores_exports_and_prints(audited: Settings) -> None:
    append_entries(audited, 3)
    env = _env(audited, HUB_AUDIT_SIGNING_KEY=str(audited.audit_signing_key),
               HUB_AUDIT_CHECKPOINT_EXPORT=str(audited.audit_checkpoint_export))
    result = runner.invoke(cli_app, ["audit", "checkpoint"], env=env)
    assert result.exit_code == 0, result.output
    printed = SignedHead.from_json(json.loads(result.stdout.strip().splitlines()[-1]))
    [(_, exported)] = read_export(audited.audit_checkpoint_export)[0]
    assert printed == exported and (printed.seq, printed.entry_count) == (1, 3)
    again = runner.invoke(cli_app, ["audit", "checkpoint"], env=env)
    assert again.exit_code == 0 and "head unchanged since checkpoint #1" in again.output
    off = runner.invoke(cli_app, ["audit", "checkpoint"], env=_env(audited))
    assert off.exit_code == 2 and "audit checkpoints are off" in off.output
    tamper(audited.database_url, ("delete from hub.audit_log where id = $1", printed.entry_id))
    tampered = runner.invoke(cli_app, ["audit", "checkpoint"], env=env)
    assert tampered.exit_code == 1 and "AUDIT LOG TAMPERED" in tampered.output


@pytest.mark.parametrize("args", [["audit", "keygen"], ["audit", "checkpoint"]])
def test_checkpoint_commands_have_help(args: list[str]) -> None:
    result = runner.invoke(cli_app, [*args, "--help"])
    assert result.exit_code == 0 and "Usage" in result.output


# --- the running hub ----------------------------------------------------------------------------------

def test_the_hub_signs_its_head_periodically(audited: Settings, tokens_for) -> None:
    """The lifespan's signer signs within an interval of new entries and exports the head; the export then
    verifies against the log; shutting down cancels the signer."""
    settings = replace(audited, audit_checkpoint_seconds=1.0)
    token = tokens_for(settings)
    with TestClient(create_app(settings)) as client:
        assert client.app.state.checkpoints is not None
        for _ in range(3):
            response = client.post("/graphql", json={"query": "query Ping { catalog { name } }"},
                                   headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 200
        count = sql_value(settings.database_url, "select count(*) from hub.audit_log")
        for _ in range(100):  # the signer wakes every second; it exports a checkpoint after committing it
            newest = sql(settings.database_url, "select entry_count from hub.audit_checkpoints order by seq desc limit 1")
            if newest and newest[0]["entry_count"] >= count and _exported(settings, newest[0]["entry_count"]):
                break
            time.sleep(0.1)
        else:
            pytest.fail("no checkpoint covering the new entries signed and exported within 10 s")
    assert read_export(settings.audit_checkpoint_export)[0]
    result = _verify_cli(settings)
    assert result.exit_code == 0, result.output


def _exported(settings: Settings, entry_count: int) -> bool:
    """Is a checkpoint covering ``entry_count`` entries in the export file yet?"""
    try:
        heads, _ = read_export(settings.audit_checkpoint_export)
    except OSError:
        return False
    return any(head.entry_count >= entry_count for _, head in heads)


@pytest.fixture()
def tokens_for():
    def make(settings: Settings) -> str:
        async def go() -> str:
            db = await Databases(settings, settings.database_url).open()
            try:
                return (await create_demo_consumers(db.hub))["labor"]
            finally:
                await db.close()

        return asyncio.run(go())

    return make


def test_without_a_key_the_hub_runs_and_says_once_that_checkpoints_are_off(
        audited: Settings, tokens_for, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checkpoints, "_said_off", False)  # as in a fresh process
    settings = replace(audited, audit_signing_key=None, audit_checkpoint_export=None)
    token = tokens_for(settings)
    with caplog.at_level(logging.WARNING, logger="hub.checkpoints"):
        for _ in range(2):
            with TestClient(create_app(settings)) as client:
                assert client.app.state.checkpoints is None
                response = client.post("/graphql", json={"query": "query Ping { catalog { name } }"},
                                       headers={"Authorization": f"Bearer {token}"})
                assert response.status_code == 200 and "errors" not in response.json()
    said = [r for r in caplog.records if "audit checkpoints are off" in r.getMessage()]
    assert len(said) == 1 and said[0].levelno == logging.WARNING
    assert sql_value(settings.database_url, "select count(*) from hub.audit_checkpoints") == 0


def test_a_bad_key_file_stops_the_hub_with_its_name(audited: Settings, tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key")
    with pytest.raises(SetupError, match="bad.pem cannot be used"):
        create_app(replace(audited, audit_signing_key=bad))
    with pytest.raises(SetupError, match="cannot read the audit signing key"):
        create_app(replace(audited, audit_signing_key=tmp_path / "missing.pem"))


def test_the_session_hub_runs_with_checkpoints_on(settings: Settings, gql) -> None:
    """The test suite's own hub signs (conftest gives it a key): sign its head now and check the whole session
    log against the export, with the public key only."""
    signer = gql.http.app.state.checkpoints
    assert signer is not None and settings.audit_checkpoint_export is not None
    assert "errors" not in gql("query Ping { catalog { name } }")
    outcome = asyncio.run(signer.checkpoint(settings.database_url))
    assert outcome.status in ("signed", "unchanged")
    assert read_export(settings.audit_checkpoint_export)[0][-1][1] == outcome.newest
    result = _verify_cli(settings, env=_env(settings))
    assert result.exit_code == 0, result.output
    assert f"audit log OK: {sql_value(settings.database_url, 'select count(*) from hub.audit_log')} entries" \
        in result.output


def test_every_checkpoint_reaches_the_export_and_a_removed_line_is_named(audited: Settings) -> None:
    """The export holds every checkpoint in seq order, so that removing a line (and with it what it covered) shows:
    a checkpoint signed while the file could not be written is appended with the next one, and verify names a
    gap in the seqs."""
    export = audited.audit_checkpoint_export
    append_entries(audited, 2)
    first = checkpoint(audited).newest
    export.rename(export.with_suffix(".away"))  # the export disk is gone: the next checkpoint is stored only
    export.mkdir()
    append_entries(audited, 1, start=20)
    try:
        second = checkpoint(audited).newest
    except OSError:
        second = None
    export.rmdir()
    export.with_suffix(".away").rename(export)
    append_entries(audited, 1, start=40)
    third = checkpoint(audited).newest
    seqs = [SignedHead.from_json(json.loads(line)).seq for line in export.read_text().splitlines()]
    assert seqs == [first.seq, first.seq + 1, first.seq + 2] and third.seq == first.seq + 2, (seqs, second)
    assert _verify_cli(audited).exit_code == 0
    lines = export.read_text().splitlines()
    export.write_text("\n".join([lines[0], lines[2]]) + "\n")  # the middle line removed
    result = _verify_cli(audited)
    assert result.exit_code == 1, result.output
    assert f"checkpoint #{first.seq + 1} missing between checkpoint #{first.seq}" in result.output


def test_a_new_key_continues_the_seqs_and_verify_takes_both_public_keys(audited: Settings, tmp_path: Path) -> None:
    """Key rotation: the new key's signer does not vouch for the old key's checkpoints (it cannot check them) but
    goes on with the next seq over the whole chain; verify with both public keys accepts the export."""
    append_entries(audited, 3)
    old = checkpoint(audited).newest
    new_key = tmp_path / "keys" / "rotated.pem"
    generate(new_key)
    rotated = replace(audited, audit_signing_key=new_key)
    append_entries(audited, 2, start=10)
    newest = checkpoint(rotated).newest
    assert (newest.seq, newest.entry_count) == (old.seq + 1, 5) and newest.key_id != old.key_id
    both = ["--public-key", f"{audited.audit_signing_key}.pub", "--public-key", f"{new_key}.pub"]
    result = _verify_cli(rotated, *both)
    assert result.exit_code == 0, result.output
