"""Ways around this round's rules found by an attacker's review (issue 12), each closed since; each test states
the rule and failed while the hole was open (``test_http_refuses_...`` is the reference behaviour). The holes:

* CSV: a text cell holding a carriage return is written unquoted by the sync snapshot's CSV (line terminator
  LF: the csv module quotes only the terminator's own characters), so a spreadsheet starts a new row at the CR
  and the text after it is a live formula; the cell rule of ``hub.sync.csv_cells`` only looks at the first character.
* Websockets: ``HUB_TRUSTED_DOCUMENTS_ONLY=true`` is applied to HTTP bodies only (``HubGraphQL.parse_http_body``);
  a socket runs any document.
* Websockets: ``HUB_MAX_BODY_BYTES`` (HTTP 413) does not bound a socket message (only uvicorn's 16 MiB frame
  limit does), and socket operations run outside admission (``HUB_MAX_IN_FLIGHT``/``HUB_MAX_QUEUED``).
* Audit checkpoints: the signer continues from the newest row of ``hub.audit_checkpoints`` without checking its
  signature, so a row inserted by someone with database access makes the real key sign a tampered chain.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import socket
import time
from typing import Any, Iterator
from urllib.parse import urlparse

import httpx
import orjson
import pytest
from websockets.exceptions import ConnectionClosed

from hub import GRAPHQL_DIR
from hub.app import create_app
from hub.governance.audit_keys import key_id, load_private_key
from hub.sync.csv_cells import writer
from tests.support.helpers import sql
from tests.support.live import serve_in_thread
from tests.support.sync import hub_client, scratch
from tests.support.audit_chain import append_entries, checkpoint, entry_ids, rewrite_and_rehash
from tests.support.websockets import codes, open_socket

# A formula without double quotes (a cell holding a double quote is quoted by the csv module anyway).
FORMULA = "=cmd|' /C calc'!A0"


@pytest.fixture(scope="module")
def trusted_only(server_url, settings) -> Iterator[tuple[Any, dict[str, str], str]]:
    """A live hub that accepts only the registered documents (HUB_TRUSTED_DOCUMENTS_ONLY=true)."""
    s, tokens = scratch(server_url, settings, "hub_test_attack_round12", trusted_documents_only=True)
    with serve_in_thread(create_app(s)) as url:
        yield s, tokens, url


# --- CSV: a carriage return inside a cell ---------------------------------------------------------

def _spreadsheet_rows(text: str) -> list[list[str]]:
    """Rows as a spreadsheet splits them: CR, LF and CRLF end a record outside quotes (Python's csv reader does
    the same when given the text with newline='')."""
    return list(csv.reader(io.StringIO(text, newline="")))


def test_a_carriage_return_inside_a_snapshot_csv_cell_does_not_start_a_formula_row(trusted_only) -> None:
    """labor (the owner) stores a provider name holding a CR followed by a formula; commerce downloads the
    snapshot as CSV and opens it in a spreadsheet: no cell may start with '=' (OWASP), and every row must have
    as many cells as the header."""
    s, tokens, _url = trusted_only
    (row,) = sql(s.database_url, "select code, name, occupation_code, provider, provider_uscc, seats, skill_level, "
                                 "district_code, starts_on::text, ends_on::text from labor.training_programs "
                                 "order by id limit 1")
    hostile = {**dict(row), "code": "TP999001", "provider": "Training Ltd\r" + FORMULA}

    async def go() -> tuple[Any, Any]:
        async with hub_client(s, tokens["labor"]) as labor:
            ingested = await labor.post("/ingest/labor.training_programs", content=orjson.dumps(hostile) + b"\n",
                                        headers={"Content-Type": "application/x-ndjson"})
        async with hub_client(s, tokens["commerce"]) as commerce:
            snapshot = await commerce.get("/sync/labor.training_programs/snapshot", params={"format": "csv"})
        return ingested, snapshot

    ingested, snapshot = asyncio.run(go())
    assert ingested.status_code == 200 and ingested.json()["inserted"] == 1, ingested.text
    assert snapshot.status_code == 200, snapshot.text
    body = snapshot.text.rstrip("\n").rsplit("\n", 1)[0]  # without the final #cursor line
    rows = _spreadsheet_rows(body)
    header = rows[0]
    assert [r for r in rows if r and r[0].startswith("=")] == [], "a cell starts a live formula"
    assert all(len(r) == len(header) for r in rows), [r for r in rows if len(r) != len(header)]
    (planted,) = [dict(zip(header, r)) for r in rows[1:] if r[header.index("code")] == "TP999001"]
    assert planted["provider"] == "Training Ltd\r" + FORMULA


def test_the_csv_writer_quotes_a_carriage_return_whatever_its_line_terminator() -> None:
    """The same hole at the unit level: ``hub.sync.csv_cells.writer`` with the snapshot's LF terminator."""
    out = io.StringIO()
    writer(out, lineterminator="\n").writerow(["x\r" + FORMULA, 1])
    assert _spreadsheet_rows(out.getvalue()) == [["x\r" + FORMULA, "1"]]


# --- websockets: the trusted-documents allow-list -------------------------------------------------

UNREGISTERED = "{ jobSeekers(first: 1) { nodes { name } } }"  # any document not in graphql/operations/


def test_http_refuses_an_unregistered_document_when_only_trusted_documents_are_allowed(trusted_only) -> None:
    """The rule as HTTP applies it (this passes: it shows what the socket must do too)."""
    _s, tokens, url = trusted_only
    response = httpx.post(url + "/graphql", json={"query": UNREGISTERED},
                          headers={"Authorization": f"Bearer {tokens['labor']}"}, timeout=30)
    assert response.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED", response.text


def test_a_socket_refuses_an_unregistered_document_when_only_trusted_documents_are_allowed(trusted_only) -> None:
    _s, tokens, url = trusted_only

    async def go() -> list[dict[str, Any]]:
        async with open_socket(url.replace("http://", "ws://") + "/graphql", tokens["labor"]) as sock:
            return await sock.op(UNREGISTERED)

    messages = asyncio.run(go())
    assert "PERSISTED_QUERY_NOT_ALLOWED" in codes(messages), json.dumps(messages, ensure_ascii=False)
    assert not any((m.get("payload") or {}).get("data") for m in messages if m["type"] == "next"), messages


# --- audit checkpoints: the signer trusts the newest row of the table --------------------------------


def test_the_signer_does_not_continue_from_a_checkpoint_row_it_did_not_sign(audited) -> None:
    """Someone with the database rewrites an old entry and re-hashes the chain (the signer alone would refuse to
    sign over that: AUDIT LOG TAMPERED), then INSERTs (the table is append-only, not insert-proof) a checkpoint
    row for the new head with a signature that does not verify. The signer must not take that row as its
    previous checkpoint and sign the tampered chain with the real key."""
    url = audited.database_url
    append_entries(audited, 4)
    first = checkpoint(audited).newest
    ids = entry_ids(audited)
    rewrite_and_rehash(url, ids[0], "outcome = 'ERROR'")  # hides that entry 1 read anything
    head_hash = sql(url, "select hash from hub.audit_log where id = $1", ids[-1])[0]["hash"]
    sql(url, "insert into hub.audit_checkpoints (seq, entry_id, entry_hash, entry_count, signed_at, key_id, "
             "signature) values ($1, $2, $3, 4, now(), $4, $5)",
        first.seq + 1, ids[-1], head_hash, key_id(load_private_key(audited.audit_signing_key).public_key()),
        "A" * 86 + "==")  # 64 zero bytes: not a signature of anything
    append_entries(audited, 1, start=50)
    try:
        checkpoint(audited)
    except Exception:  # noqa: BLE001 - refusing (ChainRegression or any other refusal) is what the test wants
        pass
    signed = sql(url, "select seq from hub.audit_checkpoints where seq > $1", first.seq + 1)
    assert signed == [], "the real key signed a head of the tampered chain, continuing from the forged row"


# --- websockets: the body-size limit ----------------------------------------------------------------

def test_a_socket_message_over_the_body_limit_is_refused_like_an_http_body(trusted_only) -> None:
    """HUB_MAX_BODY_BYTES bounds what one request may make the hub read and decode (HTTP 413). A socket message is
    a request too, but only uvicorn's websocket frame limit (16 MiB by default) bounds it: the operation runs."""
    s, tokens, url = trusted_only
    document = (GRAPHQL_DIR / "operations" / "bench" / "occupation_counts.graphql").read_text(encoding="utf-8")
    variables = {"first": 1, "padding": "x" * (s.max_body_bytes + 10_000)}  # an unused variable: ignored
    over_http = httpx.post(url + "/graphql", json={"query": document, "variables": variables},
                           headers={"Authorization": f"Bearer {tokens['labor']}"}, timeout=30)
    assert over_http.status_code == 413, over_http.text

    async def go() -> list[dict[str, Any]] | None:
        async with open_socket(url.replace("http://", "ws://") + "/graphql", tokens["labor"]) as sock:
            try:
                return await sock.op(document, variables)
            except ConnectionClosed:
                return None  # refused by closing the socket (e.g. 1009 message too big): fine

    messages = asyncio.run(go())
    assert messages is None or not any((m.get("payload") or {}).get("data") for m in messages
                                       if m["type"] == "next"), str(messages)[:500]


# --- websockets: admission (HUB_MAX_IN_FLIGHT / HUB_MAX_QUEUED) ----------------------------------------

@pytest.fixture(scope="module")
def one_slot(server_url, settings) -> Iterator[tuple[Any, dict[str, str], str]]:
    """A live hub that serves one request at a time and queues none (HUB_MAX_IN_FLIGHT=1, HUB_MAX_QUEUED=0)."""
    s, tokens = scratch(server_url, settings, "hub_test_attack_round12_admission", max_in_flight=1, max_queued=0)
    with serve_in_thread(create_app(s)) as url:
        yield s, tokens, url


def test_socket_operations_are_admitted_like_http_requests(one_slot) -> None:
    """The hub's one slot is taken (a request whose body has not arrived yet): an HTTP request is refused at
    once with 503 (overloaded) so that the pools are not piled on. A socket operation is a request too, but
    it is run outside admission: any number of them run at once, whatever HUB_MAX_IN_FLIGHT says."""
    _s, tokens, url = one_slot
    auth = {"Authorization": f"Bearer {tokens['labor']}"}
    address = urlparse(url)
    holder = socket.create_connection((address.hostname, address.port), timeout=10)
    try:
        holder.sendall(f"POST /graphql HTTP/1.1\r\nHost: hub\r\nAuthorization: {auth['Authorization']}\r\n"
                       "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n".encode())  # no body yet
        refused = None
        for _ in range(50):  # until the held request has its slot
            refused = httpx.get(url + "/graphql", params={"query": "{ __typename }"}, headers=auth, timeout=30)
            if refused.status_code == 503:
                break
            time.sleep(0.05)
        assert refused is not None and refused.status_code == 503, refused.text if refused else None

        async def go() -> list[dict[str, Any]]:
            async with open_socket(url.replace("http://", "ws://") + "/graphql", tokens["labor"]) as sock:
                return await sock.op("{ jobPostings(first: 1) { nodes { id } } }")

        messages = asyncio.run(go())
        assert "SERVICE_UNAVAILABLE" in codes(messages), str(messages)[:500]
    finally:
        holder.close()
