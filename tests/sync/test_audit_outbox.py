"""The audit outbox (hub.governance.audit_outbox): a write (an ingest batch, a grant, a report, a plan target) made
while the audit log could not take its entry is audited later by the drain, once, with the entry its operation would
have written."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import orjson
import pytest
from typer.testing import CliRunner

from hub.cli.main import app as cli_app
from hub.db.pools import Databases
from hub.governance import audit_outbox
from hub.governance.audit import AuditEntry, insert_sql
from tests.support.audit_chain import verify_chain_ok
from tests.support.database import prepare, with_database
from tests.support.helpers import audit_refused, sql, sql_value
from tests.support.outbox import (ENTRIES, OPERATION, PENDING, POSTINGS, body, clearing_fails, graphql, known_codes, post,
                                   posting)
from tests.support.sync import drain_outbox as drain
from tests.support.sync import scratch

runner = CliRunner()


@pytest.fixture(scope="module")
def outbox_db(server_url, settings):
    return scratch(server_url, settings, "hub_test_audit_outbox")


@pytest.fixture(scope="module")
def known(outbox_db):
    return known_codes(outbox_db[0].database_url)


def refused_batch(settings, token: str, known: dict[str, str], source_id: str) -> None:
    """One batch applied while the audit log refuses its entry (503): its entry is left pending in the outbox."""
    with audit_refused(settings.database_url, OPERATION):
        response = post(settings, token, body([posting(known, source_id)]))
    assert response.status_code == 503, response.text


@pytest.fixture(autouse=True)
def nothing_pending_after(outbox_db):
    """Each test leaves no pending entry behind (the drain of a later app would write it)."""
    yield
    drain(outbox_db[0])
    assert sql_value(outbox_db[0].database_url, PENDING) == 0


def test_a_batch_applied_while_the_log_refuses_its_entry_is_audited_by_the_drain(outbox_db, known) -> None:
    """Before the outbox the batch stayed applied with no entry unless its writer retried with its key."""
    s, tokens = outbox_db
    url = s.database_url
    operation = f"ingest {POSTINGS}"
    before = sql_value(url, ENTRIES, operation)
    with audit_refused(url, operation):
        refused = post(s, tokens["labor"], body([posting(known, "OUTBOX-HTTP-1"), posting(known, "OUTBOX-HTTP-2")]))
        assert refused.status_code == 503, refused.text
        assert sql_value(url, "select count(*) from labor.job_postings where source_id like 'OUTBOX-HTTP-%'") == 2
        assert sql_value(url, PENDING) == 1
        assert sql_value(url, ENTRIES, operation) == before
        still = drain(s)  # the log still refuses it: it stays pending, nothing half-written
        assert (still.appended, still.failed) == (0, 1)
        assert sql_value(url, PENDING) == 1
    pending = orjson.loads(sql_value(url, "select entry::text from hub.audit_outbox"))
    assert drain(s, grace=3600).appended == 0  # younger than the grace period: its request may still be writing it
    done = drain(s)
    assert (done.appended, done.found, done.failed) == (1, 0, 0)
    [entry] = sql(url, "select * from hub.audit_log where operation_name = $1 order by id desc limit 1", operation)
    assert sql_value(url, ENTRIES, operation) == before + 1
    assert (entry["operation_type"], entry["outcome"], entry["department"], entry["datasets"]) == (
        "mutation", "OK", "labor", [POSTINGS])
    assert orjson.loads(entry["rows"]) == {POSTINGS: 2} and entry["trace_id"] == pending["trace_id"]
    assert entry["consumer_id"] == pending["consumer_id"] is not None
    assert drain(s).appended == 0  # written once
    verify_chain_ok(url)


def test_an_audited_batch_leaves_nothing_pending_and_a_replay_stores_no_entry(outbox_db, known) -> None:
    s, tokens = outbox_db
    url = s.database_url
    key = {"Idempotency-Key": "outbox-audited-1"}
    first = post(s, tokens["labor"], body([posting(known, "OUTBOX-OK-1")]), key)
    assert first.status_code == 200 and first.json()["inserted"] == 1
    assert sql_value(url, PENDING) == 0
    replay = post(s, tokens["labor"], body([posting(known, "OUTBOX-OK-1")]), key)
    assert replay.status_code == 200 and replay.json()["replayed"] is True
    assert sql_value(url, PENDING) == 0


def test_the_drain_does_not_write_again_an_entry_its_request_wrote(outbox_db, known) -> None:
    """The request's entry committed but could not be deleted from the outbox: the request marks it written in the
    hub's database (hub.audit_outbox_written), and the drain deletes it without writing it again."""
    s, tokens = outbox_db
    url = s.database_url
    operation = f"ingest {POSTINGS}"
    with clearing_fails(url):
        response = post(s, tokens["labor"], body([posting(known, "OUTBOX-UNCLEARED-1")]))
    assert response.status_code == 200, response.text
    assert sql_value(url, PENDING) == 1
    entries = sql_value(url, ENTRIES, operation)
    trace = orjson.loads(sql_value(url, "select entry::text from hub.audit_outbox"))["trace_id"]
    assert trace is not None and sql_value(url, "select count(*) from hub.audit_log where trace_id = $1", trace) == 1
    assert sql_value(url, "select count(*) from hub.audit_outbox_written where trace_id = $1", trace) == 1
    done = drain(s)
    assert (done.appended, done.found) == (0, 1)
    assert sql_value(url, ENTRIES, operation) == entries and sql_value(url, PENDING) == 0
    assert sql_value(url, "select count(*) from hub.audit_outbox_written") == 0  # the drain removed its marker


def test_two_drains_at_once_write_each_pending_entry_once(outbox_db, known) -> None:
    s, tokens = outbox_db
    url = s.database_url
    operation = f"ingest {POSTINGS}"
    for n in range(3):
        refused_batch(s, tokens["labor"], known, f"OUTBOX-TWICE-{n}")
    assert sql_value(url, PENDING) == 3
    before = sql_value(url, ENTRIES, operation)

    async def both() -> list[audit_outbox.Drained]:
        dbs = [await Databases(s, s.database_url).open() for _ in range(2)]
        try:
            return await asyncio.gather(*(audit_outbox.drain(db, grace=0, limit=1) for db in dbs))
        finally:
            for db in dbs:
                await db.close()

    done = asyncio.run(both())
    assert sum(d.appended for d in done) == 3 and sum(d.failed for d in done) == 0
    assert sql_value(url, ENTRIES, operation) == before + 3 and sql_value(url, PENDING) == 0
    verify_chain_ok(url)


def test_a_graphql_ingest_whose_operation_cannot_be_audited_is_audited_by_the_drain(outbox_db, known) -> None:
    s, tokens = outbox_db
    url = s.database_url
    query = ("mutation OutboxIngest($rows: [JSON!]!) { ingest(dataset: \"labor.job_postings\", rows: $rows) "
             "{ received inserted } }")
    with audit_refused(url, "OutboxIngest"):
        answer = graphql(s, tokens["labor"], query, rows=[posting(known, "OUTBOX-GQL-1")])
        assert answer["data"] is None
        assert answer["errors"][-1]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        assert sql_value(url, PENDING) == 1
    assert sql_value(url, "select count(*) from labor.job_postings where source_id = 'OUTBOX-GQL-1'") == 1
    assert sql_value(url, ENTRIES, "OutboxIngest") == 0
    assert drain(s).appended == 1
    [entry] = sql(url, "select * from hub.audit_log where operation_name = 'OutboxIngest'")
    assert (entry["operation_type"], entry["outcome"], entry["datasets"]) == ("mutation", "OK", [POSTINGS])
    assert orjson.loads(entry["rows"]) == {POSTINGS: 1} and entry["document_hash"] is not None
    # An operation whose entry is written clears its batch at once.
    answer = graphql(s, tokens["labor"], query, rows=[posting(known, "OUTBOX-GQL-2")])
    assert answer["data"]["ingest"]["inserted"] == 1 and sql_value(url, PENDING) == 0
    assert sql_value(url, ENTRIES, "OutboxIngest") == 2
    verify_chain_ok(url)


def test_each_process_drains_its_outbox_in_the_background(outbox_db, known) -> None:
    s, tokens = outbox_db
    url = s.database_url
    operation = OPERATION
    refused_batch(s, tokens["labor"], known, "OUTBOX-LOOP-1")
    before = sql_value(url, ENTRIES, operation)

    async def go() -> int:
        db = await Databases(s, s.database_url).open()
        task = asyncio.ensure_future(audit_outbox.run(db, every=0.05, grace=0))
        try:
            for _ in range(200):
                if await asyncio.to_thread(sql_value, url, PENDING) == 0:
                    break
                await asyncio.sleep(0.05)
            return await asyncio.to_thread(sql_value, url, ENTRIES, operation)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await db.close()

    assert asyncio.run(go()) == before + 1


def test_hub_audit_outbox_shows_and_drains_what_is_pending(outbox_db, known) -> None:
    s, tokens = outbox_db
    url = s.database_url
    operation = OPERATION
    refused_batch(s, tokens["labor"], known, "OUTBOX-CLI-1")
    env = {"DATABASE_URL": url}
    shown = runner.invoke(cli_app, ["audit", "outbox"], env=env)
    assert shown.exit_code == 1 and "primary: 1 pending (oldest " in shown.output, shown.output
    young = runner.invoke(cli_app, ["audit", "outbox", "--drain"], env=env)  # within the grace period: left alone
    assert young.exit_code == 1 and "0 entries written" in young.output, young.output
    before = sql_value(url, ENTRIES, operation)
    drained = runner.invoke(cli_app, ["audit", "outbox", "--drain", "--grace", "0"], env=env)
    assert drained.exit_code == 0 and "1 entry written" in drained.output and "primary: 0 pending" in drained.output
    assert sql_value(url, ENTRIES, operation) == before + 1


def test_an_entry_that_only_shares_the_trace_id_does_not_stand_in_for_a_pending_one(outbox_db, known) -> None:
    """A client may choose its trace id (``traceparent``): an entry of the same consumer and operation name under that
    trace, but with other values, must not make the drain skip the batch's entry."""
    s, tokens = outbox_db
    url = s.database_url
    refused_batch(s, tokens["labor"], known, "OUTBOX-LOOKALIKE-1")
    pending = orjson.loads(sql_value(url, "select entry::text from hub.audit_outbox"))
    assert pending["trace_id"] is not None
    lookalike = AuditEntry(**{**pending, "rows": {}, "datasets": []})
    sql(url, insert_sql(), *lookalike.args())
    done = drain(s)
    assert (done.appended, done.found) == (1, 0)
    assert sql_value(url, "select count(*) from hub.audit_log where trace_id = $1 and rows = $2::jsonb",
                     pending["trace_id"], orjson.dumps(pending["rows"]).decode()) == 1
    verify_chain_ok(url)


MUTATIONS = [  # (who, operation, document, variables, the write it leaves when its entry is refused)
    ("commerce", "OutboxAsk", 'mutation OutboxAsk($until: Date!) { requestAccess(dataset: "labor.job_seekers", '
     'purpose: "outbox test: match seekers", until: $until) { id } }', {},
     "select count(*) from hub.access_requests where purpose = 'outbox test: match seekers'"),
    ("labor", "OutboxReview", "mutation OutboxReview($id: Int!) { reviewAccessRequest(id: $id, decision: APPROVE) "
     "{ id } }", {}, "select count(*) from hub.access_requests where purpose = 'outbox test: match seekers' "
     "and status = 'APPROVED'"),
    ("labor", "OutboxRevoke", "mutation OutboxRevoke($id: Int!) { revokeGrant(id: $id) { id } }", {},
     "select count(*) from hub.grants g join hub.access_requests r on r.id = g.request_id "
     "where r.purpose = 'outbox test: match seekers' and g.revoked_at is not null"),
    ("admin", "OutboxPublish", "mutation OutboxPublish { publishReport(year: 2024) { version } }", {},
     "select count(*) from hub.stat_publications where year = 2024"),
    ("admin", "OutboxWithdraw", 'mutation OutboxWithdraw($version: Int!) { withdrawReport(year: 2024, '
     'version: $version, reason: "outbox test") { version } }', {},
     "select count(*) from hub.stat_withdrawals where reason = 'outbox test'"),
    ("admin", "OutboxTarget", "mutation OutboxTarget { setPlanTarget(indicator: DOUBLE_BASES, targetValue: 137, "
     "baseYear: 2020, targetYear: 2025) { targetValue } }", {},
     "select count(*) from hub.plan_targets where indicator = 'DOUBLE_BASES' and target_value = 137"),
]


def test_every_mutation_whose_entry_is_refused_keeps_it_in_the_outbox(outbox_db) -> None:
    """Access requests, reviews, revocations, report publications and withdrawals and plan targets commit before their
    entry is appended, as an ingest does: each is audited by the drain when the log refused its entry."""
    import datetime

    s, tokens = outbox_db
    url = s.database_url
    ids: dict[str, int] = {}
    for who, operation, document, variables, written in MUTATIONS:
        variables = {**variables, **{"until": (datetime.date.today() + datetime.timedelta(days=30)).isoformat(),
                                     "id": ids.get("id"), "version": ids.get("version")}}
        variables = {k: v for k, v in variables.items() if f"${k}" in document}
        before = sql_value(url, written)
        with audit_refused(url, operation):
            answer = graphql(s, tokens[who], document, **variables)
        assert answer["data"] is None and answer["errors"][-1]["extensions"]["code"] == "SERVICE_UNAVAILABLE", answer
        assert sql_value(url, written) == before + 1, operation  # the write stands...
        assert sql_value(url, PENDING) == 1, operation  # ...and its entry waits in the outbox
        assert drain(s).appended == 1
        [entry] = sql(url, "select operation_type, outcome, consumer_id from hub.audit_log where operation_name = $1",
                      operation)
        assert (entry["operation_type"], entry["outcome"]) == ("mutation", "OK"), operation
        if operation == "OutboxAsk":
            ids["id"] = sql_value(url, "select max(id) from hub.access_requests")
        elif operation == "OutboxReview":
            ids["id"] = sql_value(url, "select max(id) from hub.grants")
        elif operation == "OutboxPublish":
            ids["version"] = sql_value(url, "select max(version) from hub.stat_publications where year = 2024")
    verify_chain_ok(url)


def test_a_department_in_its_own_database_keeps_its_entries_in_that_database(server_url, settings, known) -> None:
    """Labor in a database of its own: its batch's entry is kept there (in the batch's transaction), and the drain,
    which reads every database's outbox, appends it to the log of the primary."""
    main_url = with_database(server_url, "hub_test_outbox_main")
    labor_url = with_database(server_url, "hub_test_outbox_labor")
    # The hub's own schema (consumers, grants, the log) follows DATABASE_URL: the main database's tokens.
    tokens = asyncio.run(prepare(replace(settings, database_url=main_url, department_urls={}), server_url,
                                 "hub_test_outbox_main"))
    asyncio.run(prepare(replace(settings, database_url=labor_url, department_urls={}), server_url,
                        "hub_test_outbox_labor"))
    split = replace(settings, database_url=main_url, department_urls={"labor": labor_url}, rate_limit_per_second=0.0)
    with audit_refused(main_url, OPERATION):
        assert post(split, tokens["labor"], body([posting(known, "OUTBOX-SPLIT-1")])).status_code == 503
    assert sql_value(labor_url, "select count(*) from labor.job_postings where source_id = 'OUTBOX-SPLIT-1'") == 1
    assert (sql_value(labor_url, PENDING), sql_value(main_url, PENDING)) == (1, 0)
    before = sql_value(main_url, ENTRIES, OPERATION)
    done = drain(split)
    assert (done.appended, done.failed) == (1, 0)
    assert sql_value(main_url, ENTRIES, OPERATION) == before + 1 and sql_value(labor_url, PENDING) == 0
    verify_chain_ok(main_url)


def test_an_entry_the_hub_did_not_keep_is_never_appended(outbox_db, known) -> None:
    """A department's database may be run by others (Settings.department_urls): whoever can write to its outbox must not
    have the drain put an entry of their own into the hub's log, for any consumer. Every kept entry carries an HMAC
    under the hub's key; a made-up one, or a kept one altered, is left in the outbox and never appended."""
    s, tokens = outbox_db
    url = s.database_url
    refused_batch(s, tokens["labor"], known, "OUTBOX-FORGED-1")
    real, real_mac = sql(url, "select entry, mac from hub.audit_outbox")[0]
    made_up = audit_outbox.pending_json(AuditEntry(operation_type="query", operation_name="Forged", consumer_id=1,
                                                   department="commerce", datasets=["labor.job_seekers"]))
    altered = real.replace('"outcome":"OK"', '"outcome":"DENIED"')
    assert altered != real
    sql(url, "insert into hub.audit_outbox (entry, mac) values ($1, $2), ($3, $4)", made_up, "0" * 64, altered,
        real_mac)
    done = drain(s)
    assert (done.appended, done.forged) == (1, 2)  # the hub's own entry, and nothing of the two others
    assert sql_value(url, "select count(*) from hub.audit_log where operation_name = 'Forged' or outcome = 'DENIED' "
                          "and trace_id = $1", orjson.loads(real)["trace_id"]) == 0
    shown = runner.invoke(cli_app, ["audit", "outbox", "--drain", "--grace", "0"], env={"DATABASE_URL": url})
    assert shown.exit_code == 1 and "2 not the hub's" in shown.output and "primary: 2 pending" in shown.output
    sql(url, "delete from hub.audit_outbox")  # an operator's clean-up, after looking
    verify_chain_ok(url)
