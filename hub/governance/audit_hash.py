"""The one definition of an audit entry's hash (``hub.audit_log``).

    hash    = sha256 hex of UTF-8 ( prev_hash || content )
    content = the canonical JSON text of the entry's columns except ``prev_hash`` and ``hash`` (``FIELDS``)

Canonical JSON is PostgreSQL's ``jsonb`` text output, written down here so that any writer can produce it:

- an object's keys are sorted shorter first (in UTF-8 bytes), then by their UTF-8 bytes; members are
  separated by ``", "`` and a key from its value by ``": "``; arrays are ``[a, b]``;
- a string escapes ``"`` ``\\`` and ``\\b \\f \\n \\r \\t``, every other character below U+0020 as
  ``\\u00xx`` (lower-case hex), and keeps every other character as it is (no ``\\u`` escapes);
- a number is written as PostgreSQL's ``numeric`` writes it (an integer in decimal; ``rows`` read back
  from the database keep the digits the database wrote);
- ``at`` is the entry's time in UTC with microseconds: ``YYYY-MM-DDTHH:MM:SS.ffffffZ``;
- SQL NULL is ``null``; a text[] or bigint[] column is an array.

This module is the authority: ``hub audit verify`` recomputes every hash with it from the stored column
values, without asking the database how to hash. The database has the same definition in SQL for the
insert trigger (``hub.audit_content`` and ``hub.audit_hash``, migration 0007; a migration cannot be
edited, so the SQL text stays there), and ``tests/governance/test_audit_hash.py`` checks that the two agree on the
field list and on entries with unicode, control characters, nulls and empty lists. A writer that computes
hashes itself (instead of the trigger) calls ``entry_hash`` with the values it inserts (``entry_values``).

Hand-written rather than ``json.dumps``: no JSON library writes jsonb's key order (length first) and
separators; ``json``'s C string encoder is used for the strings (its escapes are exactly jsonb's).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from hub.governance.audit import AuditEntry

ZERO_HASH = "0" * 64  # the prev_hash of the first entry

# The hashed columns of hub.audit_log (every column but prev_hash and hash), in table order.
FIELDS: tuple[str, ...] = (
    "id", "at", "consumer_id", "department", "consumer_name", "operation_name", "operation_type",
    "document_hash", "datasets", "grants", "rows", "masked_fields", "denied", "outcome", "error_codes",
    "trace_id",
)

_encode_string = json.encoder.encode_basestring  # type: ignore[attr-defined]  # C: escapes as jsonb does


class _Number(str):
    """A JSON number kept as the digits it was read with (``rows`` from the database)."""


def _key(name: str) -> tuple[int, bytes]:
    raw = name.encode("utf-8")
    return len(raw), raw


def _render(value: Any, out: list[str]) -> None:
    kind = type(value)
    if kind is str:
        out.append(_encode_string(value))
    elif value is None:
        out.append("null")
    elif kind is _Number:
        out.append(value)
    elif kind is int:
        out.append(str(value))
    elif kind is list or kind is tuple:
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(", ")
            _render(item, out)
        out.append("]")
    elif kind is bool:
        out.append("true" if value else "false")
    elif isinstance(value, Mapping):
        out.append("{")
        for i, name in enumerate(sorted(value, key=_key)):
            if i:
                out.append(", ")
            out.append(_encode_string(name))
            out.append(": ")
            _render(value[name], out)
        out.append("}")
    elif isinstance(value, (str, int, list, tuple)):  # subclasses: as their base type
        _render((str if isinstance(value, str) else int if isinstance(value, int) else list)(value), out)
    else:  # a float would be written differently by Python and by PostgreSQL: refuse rather than guess
        raise TypeError(f"cannot hash a {type(value).__name__} in an audit entry: {value!r}")


def canonical_json(value: Any) -> str:
    """``value`` (None, bool, int, str, lists, mappings) as jsonb writes it."""
    out: list[str] = []
    _render(value, out)
    return "".join(out)


def utc_text(at: dt.datetime) -> str:
    """A timestamptz as ``content`` writes it (and as a checkpoint's ``signed_at`` is written)."""
    if at.tzinfo is None:
        raise ValueError("an audit time must carry its time zone")
    u = at.astimezone(dt.timezone.utc)
    return (f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}"
            f".{u.microsecond:06d}Z")


def _rows(value: Any) -> Any:
    if isinstance(value, (str, bytes)):  # jsonb as the database returned it: keep its numbers' digits
        return json.loads(value, parse_int=_Number, parse_float=_Number)
    return value


_FIELD_ORDER = tuple(sorted(FIELDS, key=_key))  # content's key order, fixed: sorted once


def content(values: Mapping[str, Any]) -> str:
    """The canonical content of an entry: ``values`` maps every name of ``FIELDS`` to the column's value
    (``at`` a timezone-aware datetime; ``rows`` a mapping, or jsonb text as asyncpg returns it).
    ``canonical_json`` of those values, written field by field (``hub audit verify`` runs it per entry)."""
    missing = [f for f in FIELDS if f not in values]
    if missing:
        raise KeyError(f"audit entry values lack {', '.join(missing)}")
    out = ["{"]
    for i, name in enumerate(_FIELD_ORDER):
        value = values[name]
        if name == "at":
            value = utc_text(value)
        elif name == "rows":
            value = _rows(value)
        out.append(f'"{name}": ' if not i else f', "{name}": ')  # the names need no escaping
        _render(value, out)
    out.append("}")
    return "".join(out)


def chain_hash(prev_hash: str, entry_content: str) -> str:
    """sha256 hex of ``prev_hash || content``."""
    return hashlib.sha256((prev_hash + entry_content).encode("utf-8")).hexdigest()


def entry_hash(prev_hash: str, values: Mapping[str, Any]) -> str:
    """The hash of the entry with these column values, chained from ``prev_hash``."""
    return chain_hash(prev_hash, content(values))


def entry_values(entry: "AuditEntry", *, id: int, at: dt.datetime | None) -> dict[str, Any]:
    """The column values an ``AuditEntry`` is stored with, given the id and time it is stored under: sets
    sorted, ``rows`` a mapping of integers (``AuditEntry.args()`` writes the same values as its parameters)."""
    return {
        "id": id, "at": at, "consumer_id": entry.consumer_id, "department": entry.department,
        "consumer_name": entry.consumer_name, "operation_name": entry.operation_name,
        "operation_type": entry.operation_type, "document_hash": entry.document_hash,
        "datasets": sorted(entry.datasets), "grants": sorted(int(g) for g in entry.grants),
        "rows": {k: int(v) for k, v in sorted(entry.rows.items())}, "masked_fields": sorted(entry.masked_fields),
        "denied": sorted(entry.denied), "outcome": entry.outcome, "error_codes": list(entry.error_codes),
        "trace_id": entry.trace_id,
    }
