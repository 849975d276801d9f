"""An attacker's review of ``hub.governance.audit_hash.entry_rest`` and its kept texts (``_RESTS``): a kept text is
found by equality of the entry's other values, so values that are equal must render alike, whether the text was
kept or is built afresh; and every entry written through the real writer is stored as hashed (``hub audit verify``).
"""

from __future__ import annotations

import asyncio
import enum
import unicodedata
from typing import Any

import pytest

from hub.db.pools import Databases
from hub.governance import audit_hash
from hub.governance.audit import AuditEntry
from hub.governance.audit_writer import AuditWriter, UnbuildableEntry
from hub.settings import Settings
from tests.support.audit_chain import last_audit_id, verify_chain_ok, writer_entry, written_while_the_chain_is_held
from tests.support.helpers import sql


class Outcome(str, enum.Enum):
    """A str-mixin enum member equals (and hashes as) its value, but ``str()`` of it is ``"Outcome.OK"`` (3.11)."""

    OK = "OK"


class Loud(str):
    """A str subclass overriding ``__str__``: still the text it holds."""

    def __str__(self) -> str:
        return self.upper()


class Counted(int):
    """An int subclass whose ``__int__`` says another number: still the integer it holds."""

    def __int__(self) -> int:
        return 9


TRACE = "0123456789abcdef" * 2


def _entry(**values: Any) -> AuditEntry:
    return AuditEntry(operation_type="query", operation_name="Attack", department="labor", trace_id=TRACE, **values)


@pytest.mark.parametrize("odd", [
    {"outcome": Outcome.OK}, {"datasets": [Loud("labor.job_postings")]}, {"consumer_name": Loud("name")},
    {"grants": [Counted(3)]}, {"rows": {"labor.job_postings": Counted(3)}},
], ids=["str-enum", "str-subclass-in-list", "str-subclass", "int-subclass-grant", "int-subclass-row-count"])
def test_an_equal_value_renders_alike_kept_or_built(odd: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """Was: an entry holding a str subclass that overrides ``__str__`` rendered through it when built ("Outcome.OK"),
    but as the kept text of an equal plain entry ("OK") once that one had been seen: the content depended on what
    the process had audited before."""
    plain = {name: str.__str__(v) if isinstance(v, str) else {k: int.__int__(n) for k, n in v.items()}
             if isinstance(v, dict) else [str.__str__(x) if isinstance(x, str) else int.__int__(x) for x in v]
             for name, v in odd.items()}
    monkeypatch.setattr(audit_hash, "_RESTS", {})
    built = audit_hash.entry_rest(_entry(**odd))  # first sight: built
    monkeypatch.setattr(audit_hash, "_RESTS", {})
    audit_hash.entry_rest(_entry(**plain))  # kept
    assert audit_hash.entry_rest(_entry(**odd)) == built == audit_hash.entry_rest(_entry(**plain))


def _write(settings: Settings, entries: list[AuditEntry]) -> None:
    async def go() -> None:
        db = await Databases(settings, settings.database_url).open()
        writer = AuditWriter(db.hub)
        try:
            for entry in entries:
                await writer.write(entry)
        finally:
            await writer.close()
            await db.close()

    asyncio.run(go())


def test_crafted_entries_are_stored_as_rendered_and_verify(audit_scratch, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the real writer, first sight and kept text alike: a str-enum outcome and str subclasses are stored
    as the text they hold; NFC and NFD spellings of one name stay two names; control characters, bools among the
    grants and row counts, tuples for lists and -0 round-trip; and the chain verifies."""
    settings, _ = audit_scratch
    url = settings.database_url
    before = last_audit_id(url)
    nfc = unicodedata.normalize("NFC", "Café\u00e9")
    nfd = unicodedata.normalize("NFD", nfc)
    monkeypatch.setattr(audit_hash, "_RESTS", {})
    entries = [
        _entry(outcome=Outcome.OK, consumer_name=Loud("first"), grants=[Counted(3)]),  # first sight: built
        _entry(outcome="OK", consumer_name="first", grants=[3]),  # the same values, plain: kept text
        _entry(outcome=Outcome.OK, consumer_name=Loud("first"), grants=[Counted(3)]),  # kept text again
        _entry(consumer_name=nfc), _entry(consumer_name=nfd),
        _entry(consumer_name="tab\tnl\n\x01\x7f\u2028\"\\", grants=(True, 2), rows={"labor.x": True, "b": -0},
               datasets=("b", "a")),
    ]
    _write(settings, entries)
    rows = sql(url, "select outcome, consumer_name, grants, rows::text as rows, datasets from hub.audit_log "
                    "where id > $1 order by id", before)
    assert [r["outcome"] for r in rows[:3]] == ["OK"] * 3 and [r["grants"] for r in rows[:3]] == [[3]] * 3
    assert [r["consumer_name"] for r in rows] == ["first"] * 3 + [nfc, nfd, "tab\tnl\n\x01\x7f\u2028\"\\"]
    assert nfc != nfd
    assert rows[5]["grants"] == [1, 2] and rows[5]["rows"] == '{"b": 0, "labor.x": 1}'
    assert rows[5]["datasets"] == ["a", "b"]
    verify_chain_ok(url)


@pytest.mark.parametrize("odd", [
    {"datasets": [["labor.job_postings"]]}, {"datasets": [{"a": 1}]}, {"masked_fields": [1]}, {"denied": [True]},
    {"error_codes": [1]}, {"outcome": 1}, {"department": True}, {"consumer_name": ["a"]}, {"consumer_id": "5"},
    {"rows": {1: 2}},
], ids=["nested-list", "object", "int-in-texts", "bool-in-texts", "int-code", "int-text", "bool-text",
        "list-text", "text-consumer-id", "int-row-key"])
def test_a_value_its_column_would_store_otherwise_is_refused_alone(audit_scratch, odd: dict[str, Any]) -> None:
    """Was: ``jsonb_to_record`` stored such a value as its JSON text (``datasets`` ``{'["labor.job_postings"]'}``,
    ``outcome`` ``'1'``) or converted it (consumer id ``"5"`` as 5), under a hash of the JSON value: the entry was
    written with the batch, and ``hub audit verify`` named it as altered from then on (an integer row key raised
    AttributeError instead). Now the entry fails alone when queued, and the chain verifies."""
    settings, _ = audit_scratch
    url = settings.database_url
    before = last_audit_id(url)
    odd_entry = AuditEntry(**{"operation_type": "query", "operation_name": "Odd", **odd})
    first, second, refused, third = written_while_the_chain_is_held(
        settings, [writer_entry(7, 0), writer_entry(7, 1), odd_entry, writer_entry(7, 2)])
    assert (first, second, third) == (None, None, None)
    assert isinstance(refused, UnbuildableEntry) and "cannot be a" in str(refused)
    names = sql(url, "select operation_name from hub.audit_log where id > $1 order by id", before)
    assert [r["operation_name"] for r in names] == ["W7Op0", "W7Op1", "W7Op2"]
    verify_chain_ok(url)
