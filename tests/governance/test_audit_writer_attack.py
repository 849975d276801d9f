"""An attacker's review of the batch append (``hub.governance.audit_writer``, migration 0026): each test is a way
around "every operation leaves exactly one audit entry, committed before the answer, hash-chained" that worked on
the code before its fix, or an entry of a kind the review tried that the writer must still take.

Real PostgreSQL throughout (the governance tests' scratch database, ``audit_scratch``); a batch is held in flight
by taking the chain's lock on a connection of the test's own.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hub.db.pools import Databases
from hub.governance.audit import AuditEntry
from hub.governance.audit_writer import AuditWriter, UnbuildableEntry
from hub.settings import Settings
from tests.support.audit_chain import (
    last_audit_id,
    verify_chain_ok,
    writer_entry,
    written_while_the_chain_is_held,
)
from tests.support.helpers import sql


def _names_after(url: str, before: int) -> list[str]:
    return sorted(r["operation_name"] for r in sql(url, "select operation_name from hub.audit_log where id > $1",
                                                   before))


def test_an_entry_whose_content_cannot_be_built_fails_alone_in_its_batch(audit_scratch) -> None:
    """An entry ``batch_args`` cannot render (a float) failed its whole batch, every other operation's entry with
    it."""
    settings, _ = audit_scratch
    url = settings.database_url
    before = last_audit_id(url)
    odd = AuditEntry(operation_type="query", operation_name="Float", datasets=[1.5])  # type: ignore[list-item]
    first, second, odd, third = written_while_the_chain_is_held(
        settings, [writer_entry(8, 0), writer_entry(8, 1), odd, writer_entry(8, 2)])
    assert (first, second, third) == (None, None, None)
    assert isinstance(odd, UnbuildableEntry) and "cannot be a float" in str(odd)  # a text column
    assert _names_after(url, before) == ["W8Op0", "W8Op1", "W8Op2"]
    verify_chain_ok(url)


def test_an_entry_over_a_megabyte_or_with_a_count_over_64_bits_is_written_and_chains(audit_scratch) -> None:
    """Held: an operation name over 1 MB (HUB_MAX_BODY_BYTES can allow such a document) and a row count beyond a
    64-bit integer are written in a batch with other entries, and ``hub audit verify`` agrees with their hashes."""
    settings, _ = audit_scratch
    url = settings.database_url
    before = last_audit_id(url)
    big = AuditEntry(operation_type="query", operation_name="Big" + "x" * (1 << 20))
    huge = AuditEntry(operation_type="query", operation_name="Huge", rows={"labor.job_postings": 1 << 64})
    results = written_while_the_chain_is_held(settings, [writer_entry(7, 0), writer_entry(7, 1), big, huge, writer_entry(7, 2)])
    assert results == [None] * 5, results
    assert [name[:4] for name in _names_after(url, before)] == ["Bigx", "Huge", "W7Op", "W7Op", "W7Op"]
    verify_chain_ok(url)


def test_an_operation_name_with_a_nul_character_still_leaves_itswriter_entry(client, settings) -> None:
    """``operationName`` is the client's text, and PostgreSQL cannot store U+0000: the entry was refused and the
    answer (400, unknown operation) went out without it — a request that left no trace."""
    url = settings.database_url
    before = last_audit_id(url)
    response = client.post("/graphql", json={"query": "query Q { __typename }", "operationName": "a\x00b"})
    assert response.status_code == 400 and response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    rows = sql(url, "select operation_name, error_codes from hub.audit_log where id > $1", before)
    assert [(r["operation_name"], r["error_codes"]) for r in rows] == [("a\ufffdb", ["BAD_USER_INPUT"])]


@pytest.mark.parametrize("field,value", [
    ("document_hash", "\u0663" * 64),  # ARABIC-INDIC DIGIT THREE: a digit, not 0-9
    ("document_hash", "\uff10" * 64),  # FULLWIDTH DIGIT ZERO
    ("document_hash", "A" * 64),  # upper case
    ("document_hash", "0" * 63 + "\n"),  # '$' and a trailing newline
    ("document_hash", "é" * 32),  # 64 bytes, 32 characters
    ("trace_id", "0" * 31 + "g"),
], ids=["arabic-digits", "fullwidth", "upper", "newline", "bytes-not-chars", "trace-g"])
def test_the_rewritten_hex_checks_refuse_what_the_regexes_refused(audit_scratch, field: str, value: str) -> None:
    """Held: migration 0026's checks (length and a negated class) refuse every such value, as '^[0-9a-f]{64}$'
    did; the entry fails alone."""
    settings, _ = audit_scratch
    url = settings.database_url
    before = last_audit_id(url)

    async def go() -> Any:
        db = await Databases(settings, url).open()
        writer = AuditWriter(db.hub)
        try:
            odd = AuditEntry(operation_type="query", operation_name="Hex", **{field: value})
            return await asyncio.gather(writer.write(odd), writer.write(writer_entry(9, 0)), return_exceptions=True)
        finally:
            await writer.close()
            await db.close()

    odd, good = asyncio.run(go())
    assert good is None and isinstance(odd, Exception) and f"audit_log_{field}_check" in str(odd), odd
    assert _names_after(url, before) == ["W9Op0"]


def test_a_content_with_a_raw_line_feed_is_refused_alone(audit_scratch, monkeypatch) -> None:
    """A batch's contents are sent joined by line feeds (``audit_writer.SEPARATOR``); JSON escapes every line feed
    in a string, so a content never holds one. Were one built with a raw line feed, it would become two entries in
    the database (one of them forged from the text after it): it is refused alone, and line feeds in the entries'
    texts are stored as they were (escaped in the content)."""
    from hub.governance import audit_hash

    settings, _ = audit_scratch
    url = settings.database_url
    before = last_audit_id(url)
    built = audit_hash.entry_rest
    monkeypatch.setattr(audit_hash, "entry_rest",
                        lambda e: built(e).replace("Forged", '", "x": "\n') if e.operation_name == "Forged" else built(e))
    forged = AuditEntry(operation_type="query", operation_name="Forged")
    lines = AuditEntry(operation_type="query", operation_name="two\nlines\r\n")
    results = written_while_the_chain_is_held(settings, [writer_entry(9, 0), forged, lines, writer_entry(9, 1)])
    assert results[0] is None and results[2:] == [None, None]
    assert isinstance(results[1], UnbuildableEntry) and "line feed" in str(results[1])
    assert _names_after(url, before) == ["W9Op0", "W9Op1", "two\nlines\r\n"]
    verify_chain_ok(url)


def test_probe_separator_lookalikes_and_a_lone_surrogate_in_one_batch(audit_scratch) -> None:
    """Probe (passes on today's code): the batch goes to the database as one text split at line feeds. Entries whose
    texts hold everything else that ends a line somewhere (CR, U+2028, U+2029, U+0085, DEL, an escaped ``\\n``) are
    stored verbatim, one entry each; an entry with a lone surrogate (not UTF-8) fails alone, its batch's others are
    written; ``hub audit verify`` agrees with every stored entry."""
    settings, _ = audit_scratch
    url = settings.database_url
    before = last_audit_id(url)
    lookalike = AuditEntry(operation_type="query", operation_name="L\r\u2028\u2029\x85\x7f\\n\r\n",
                           consumer_name="c\u2028d", denied=["x\u2029y"])
    surrogate = AuditEntry(operation_type="query", operation_name="S\ud800")
    results = written_while_the_chain_is_held(
        settings, [writer_entry(9, 0), lookalike, surrogate, writer_entry(9, 1)])
    assert results[0] is None and results[1] is None and results[3] is None, results
    assert results[2] is not None and "surrogates not allowed" in str(results[2])
    assert _names_after(url, before) == ["L\r\u2028\u2029\x85\x7f\\n\r\n", "W9Op0", "W9Op1"]
    verify_chain_ok(url)
