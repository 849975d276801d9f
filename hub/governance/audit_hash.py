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
    elif isinstance(value, (str, int, list, tuple)):  # subclasses: as their base type, whatever they override
        # (str(value) would call a subclass's __str__: a (str, Enum) member is "Outcome.OK" in Python 3.11 while it
        # equals "OK", and entry_rest's kept text, found by equality, would then differ from a text built afresh)
        _render(str.__str__(value) if isinstance(value, str) else int.__int__(value) if isinstance(value, int)
                else list(list.__iter__(value) if isinstance(value, list) else tuple.__iter__(value)), out)
    else:  # a float would be written differently by Python and by PostgreSQL: refuse rather than guess
        raise TypeError(f"cannot hash a {type(value).__name__} in an audit entry: {value!r}")


def canonical_json(value: Any) -> str:
    """``value`` (None, bool, int, str, lists, mappings) as jsonb writes it."""
    out: list[str] = []
    _render(value, out)
    return "".join(out)


_STR, _INT = {str}, {int}


def column_text(value: Any) -> str:
    """``canonical_json(value)`` of one column's value, without the general walk for the values every entry's
    columns hold: a string, null, an integer, a list of strings or of integers, a mapping of strings to integers
    (``rows``). Anything else (null elements, subclasses, nested values) takes the general walk."""
    kind = type(value)
    if kind is str:
        return _encode_string(value)
    if value is None:
        return "null"
    if kind is int:
        return str(value)
    if kind is list:
        if not value:
            return "[]"
        types = set(map(type, value))
        if types == _STR:
            return "[" + ", ".join(map(_encode_string, value)) + "]"
        if types == _INT:
            return "[" + ", ".join(map(str, value)) + "]"
    elif kind is dict and set(map(type, value)) <= _STR and set(map(type, value.values())) <= _INT:
        return "{" + ", ".join([f"{_encode_string(k)}: {value[k]}" for k in sorted(value, key=_key)]) + "}"
    return canonical_json(value)


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
if _FIELD_ORDER[:2] != ("at", "id"):  # content = the time and the id, then the rest (``rest``)
    raise AssertionError(f"the audit content no longer starts with at and id: {_FIELD_ORDER}")


def _rest_function() -> Any:
    """``rest(values)``: the content after its time and id, generated once from ``FIELDS`` as one expression (the
    names need no escaping): a loop over the fields with a test per field cost half of an entry's content, which
    is built on every request."""
    parts = []
    for name in _FIELD_ORDER[2:]:
        value = f"values[{name!r}]"
        parts += [repr(f', "{name}": '), f"_text(_rows({value}))" if name == "rows" else f"_text({value})"]
    source = f"def rest(values):\n    return ''.join(({', '.join(parts)}, '}}'))"
    namespace: dict[str, Any] = {"_text": column_text, "_rows": _rows}
    exec(compile(source, "<audit content rest>", "exec"), namespace)  # noqa: S102 - our own source, from FIELDS
    return namespace["rest"]


rest = _rest_function()


def content(values: Mapping[str, Any]) -> str:
    """The canonical content of an entry: ``values`` maps every name of ``FIELDS`` to the column's value
    (``at`` a timezone-aware datetime; ``rows`` a mapping, or jsonb text as asyncpg returns it).
    ``canonical_json`` of those values, field by field (``hub audit verify`` runs it per entry)."""
    missing = [f for f in FIELDS if f not in values]
    if missing:
        raise KeyError(f"audit entry values lack {', '.join(missing)}")
    return f'{{"at": {_encode_string(utc_text(values["at"]))}, "id": {column_text(values["id"])}{rest(values)}'


def chain_hash(prev_hash: str, entry_content: str) -> str:
    """sha256 hex of ``prev_hash || content``."""
    return hashlib.sha256((prev_hash + entry_content).encode("utf-8")).hexdigest()


def entry_hash(prev_hash: str, values: Mapping[str, Any]) -> str:
    """The hash of the entry with these column values, chained from ``prev_hash``."""
    return chain_hash(prev_hash, content(values))


def _integer(value: Any) -> int:
    """A grant or a row count as an integer: an int (or a subclass) as the integer it holds, whatever its ``__int__``
    says (``entry_rest`` finds a kept text by equality, and ``int.__eq__`` compares what it holds); anything else
    through ``int()`` (a float ``2.0``; equal numbers truncate alike)."""
    return int.__int__(value) if isinstance(value, int) else int(value)


def _text(value: Any) -> str | None:
    """The value of a text column or of a text[] column's element: a ``str`` (a subclass as the text it holds) or
    null. Anything else is refused: the database would store its JSON as text (``1``, ``true``, ``["a"]``) while the
    hash covers the JSON value, and ``hub audit verify`` would then name the entry as altered."""
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"an audit entry's text cannot be a {type(value).__name__}: {value!r}")


def _texts(values: Any) -> list[str | None]:
    return [_text(v) for v in values]


def _consumer_id(value: Any) -> int | None:
    """The consumer id: an integer or null (a text such as ``"5"`` would be stored as the number 5 under a hash of the
    text; a bool is refused by the database's bigint column, alone)."""
    if value is None or isinstance(value, int):
        return value
    raise TypeError(f"an audit entry's consumer id cannot be a {type(value).__name__}: {value!r}")


def entry_values(entry: "AuditEntry", *, id: int, at: dt.datetime | None) -> dict[str, Any]:
    """The column values an ``AuditEntry`` is stored with, given the id and time it is stored under: sets
    sorted, ``rows`` a mapping of integers (``AuditEntry.args()`` writes the same values as its parameters).
    TypeError for a value its column cannot hold as the content writes it (``_text``, ``_consumer_id``)."""
    return {
        "id": id, "at": at, "consumer_id": _consumer_id(entry.consumer_id), "department": _text(entry.department),
        "consumer_name": _text(entry.consumer_name), "operation_name": _text(entry.operation_name),
        "operation_type": _text(entry.operation_type), "document_hash": _text(entry.document_hash),
        "datasets": sorted(_texts(entry.datasets)), "grants": sorted(map(_integer, entry.grants)),
        "rows": {_text(k): _integer(v) for k, v in sorted(entry.rows.items())},
        "masked_fields": sorted(_texts(entry.masked_fields)), "denied": sorted(_texts(entry.denied)),
        "outcome": _text(entry.outcome), "error_codes": _texts(entry.error_codes), "trace_id": _text(entry.trace_id),
    }


# entry_rest's texts by the entry's values except its trace id: (the text before the trace id, the text after it)
_RESTS: dict[tuple[Any, ...], tuple[str, str]] = {}
_RESTS_MAX = 1024
_TRACE_LEAD = ', "trace_id": '


def entry_rest(entry: "AuditEntry") -> str:
    """``rest(entry_values(entry, ...))``: the content after the time and the id of the entry a writer stores
    (``hub.governance.audit_writer``), on every request. The entries of one operation of one consumer differ in
    their trace id and little else, so the text around the trace id is kept by the other values (at most
    ``_RESTS_MAX``, then cleared): building it each time was a sixth of the instructions of a single lookup.

    A text is kept only when every text value is a ``str`` (or null where the column allows it) and the consumer
    id an ``int`` or null: values equal to those render alike (a subclass of ``str`` as its base, and grants and
    row counts through ``int`` in ``entry_values``), and the consumer id's type is part of the key (``True == 1``).
    Anything else (a trace id that is not text), and every first sight, is built by ``entry_values`` and ``rest``."""
    trace = entry.trace_id
    middle = "null" if trace is None else _encode_string(trace) if type(trace) is str else None
    try:
        key: tuple[Any, ...] | None = (
            entry.outcome, entry.operation_type, entry.operation_name, entry.document_hash, entry.consumer_id,
            type(entry.consumer_id), entry.department, entry.consumer_name, tuple(entry.datasets),
            tuple(entry.grants), tuple(entry.rows.items()), tuple(entry.masked_fields), tuple(entry.denied),
            tuple(entry.error_codes))
        kept = _RESTS.get(key)  # type: ignore[arg-type]
    except TypeError:  # an unhashable value: built every time
        key, kept = None, None
    if kept is not None and middle is not None:
        return kept[0] + middle + kept[1]
    text = rest(entry_values(entry, id=0, at=None))
    if key is not None and middle is not None and _plain(entry):
        start = text.index(_TRACE_LEAD) + len(_TRACE_LEAD)
        if len(_RESTS) >= _RESTS_MAX:
            _RESTS.clear()
        _RESTS[key] = (text[:start], text[start + len(middle):])
    return text


def _plain(entry: "AuditEntry") -> bool:
    """Are the entry's texts all ``str`` (or null where the column allows it), its consumer id an int or null?"""
    nullable = (entry.operation_name, entry.document_hash, entry.department, entry.consumer_name)
    texts = [entry.outcome, entry.operation_type, *entry.datasets, *entry.rows, *entry.masked_fields,
             *entry.denied, *entry.error_codes]
    return (type(entry.consumer_id) in (int, type(None)) and all(type(t) is str for t in texts)
            and all(t is None or type(t) is str for t in nullable))
