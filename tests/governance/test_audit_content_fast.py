"""The writer's shortcuts to an entry's canonical content (hub.governance.audit_hash) give the bytes of the general
walk: ``content`` renders each column by ``column_text`` (fast paths for the shapes entries hold), and
``entry_rest`` keeps the text around the trace id per entry. The database side is checked by
test_audit_hash.py (through ``content``); here the shortcuts are compared with ``canonical_json``, the walk they
bypass, on any values, including the odd ones the shortcuts must hand to the walk."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings as hypothesis_settings, strategies as st

from hub.governance import audit_hash
from hub.governance.audit import AuditEntry
from hub.governance.audit_hash import canonical_json, column_text, content, entry_values, rest, utc_text


class Text(str):
    """A subclass of str: rendered as its base type."""


_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=8)
_odd = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | _text.map(Text)
_lists = st.lists(_text, max_size=4) | st.lists(st.integers(-(2**63), 2**63), max_size=4) | st.lists(
    _text | _odd, max_size=4)
_rows = st.dictionaries(_text, st.integers(-(2**63), 2**63), max_size=5) | st.dictionaries(
    _text | _text.map(Text), st.integers() | st.booleans(), max_size=3)


@hypothesis_settings(max_examples=400, deadline=None)
@given(value=_text | _odd | _lists | _rows)
def test_a_columns_text_is_the_general_walks(value: Any) -> None:
    assert column_text(value) == canonical_json(value)


def _reference(values: dict[str, Any]) -> str:
    """``content`` as the general walk writes it: the whole entry as one mapping."""
    return canonical_json({**values, "at": utc_text(values["at"])})


_entries = st.builds(
    AuditEntry,
    outcome=st.sampled_from(["OK", "ERROR", "DENIED"]) | _text.map(Text),
    operation_type=st.sampled_from(["query", "mutation"]),
    operation_name=st.none() | _text,
    document_hash=st.none() | st.just("a" * 64),
    consumer_id=st.none() | st.integers(-(2**63), 2**63 - 1) | st.booleans(),
    department=st.none() | _text | _text.map(Text),
    consumer_name=st.none() | _text,
    datasets=st.lists(_text | _text.map(Text), max_size=3, unique=True) | st.lists(st.none(), max_size=1),
    grants=st.lists(st.integers(0, 2**40) | st.booleans(), max_size=3),
    rows=st.dictionaries(st.sampled_from(["labor.job_postings", "é", "ab", "b"]), st.integers(0, 9) | st.booleans(),
                         max_size=3),
    masked_fields=st.lists(_text, max_size=2, unique=True),
    denied=st.lists(_text, max_size=2, unique=True),
    error_codes=st.lists(st.sampled_from(["FORBIDDEN", "BAD_USER_INPUT"]), max_size=2),
    trace_id=st.none() | st.text("0123456789abcdef", min_size=32, max_size=32),
)


@hypothesis_settings(max_examples=400, deadline=None)
@given(entry=_entries, other_trace=st.none() | st.text("0123456789abcdef", min_size=32, max_size=32))
def test_an_entrys_rest_is_its_contents_tail_first_and_again(entry: AuditEntry, other_trace: str | None) -> None:
    """First sight, a second sight (the kept text) and the same entry with another trace id: each time the tail of
    the general walk's content after its time and id."""
    at = dt.datetime(2026, 12, 5, 18, 0, tzinfo=dt.timezone.utc)
    for trace in (entry.trace_id, entry.trace_id, other_trace):
        entry.trace_id = trace
        values = entry_values(entry, id=7, at=at)
        whole = _reference(values)
        assert content(values) == whole
        head = f'{{"at": "{utc_text(at)}", "id": 7'
        assert whole.startswith(head)
        assert audit_hash.entry_rest(entry) == whole[len(head):] == rest(values)


def test_a_kept_text_is_not_reused_for_a_consumer_id_that_only_equals_it() -> None:
    """``True == 1`` and both hash alike: an entry kept for consumer 1 must not answer for consumer ``True``."""
    first = AuditEntry(operation_type="query", consumer_id=1, trace_id="0" * 32)
    audit_hash.entry_rest(first)
    audit_hash.entry_rest(first)
    odd = AuditEntry(operation_type="query", consumer_id=True, trace_id="1" * 32)
    assert '"consumer_id": true' in audit_hash.entry_rest(odd)


def test_a_number_among_the_texts_is_refused_kept_or_not() -> None:
    """A number or a bool among the datasets is refused (the database would store ``1`` as the text "1" under a hash
    of the number; tests/governance/test_audit_rest_attack.py), so ``[1]`` cannot answer for ``[True]`` either."""
    for datasets in ([1], [True], [1]):
        with pytest.raises(TypeError, match="text cannot be"):
            audit_hash.entry_rest(AuditEntry(operation_type="query", datasets=datasets, trace_id="0" * 32))


def test_kept_texts_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit_hash, "_RESTS", {})
    for i in range(audit_hash._RESTS_MAX + 5):
        audit_hash.entry_rest(AuditEntry(operation_type="query", consumer_id=i, trace_id="0" * 32))
    assert 0 < len(audit_hash._RESTS) <= audit_hash._RESTS_MAX
