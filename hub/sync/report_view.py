"""What an ingest report shows its reader: the rejected rows' input, masked like any read of the dataset.

A report (fresh, replayed, over HTTP or through the GraphQL mutation) holds, for the first rejected rows, their
input text (``raw``). The owning department sees it as sent. Any other reader — an admin ingesting into another
department's dataset — sees it under the masks of its own reads (``hub.governance.access.Access.maskers``: the PERSONAL
fields it may not read, unless a grant names them). The input is split into fields only where that is
reliable:

* a JSON object (an NDJSON line, a row of the GraphQL mutation, an .xlsx row — ``hub.sync.xlsx`` keeps it as
  one — or a row rebuilt from the staged values of a row rejected after validation) whose every key names a
  column of the dataset (camelCase accepted): shown re-serialised with those fields masked (a value that is
  not a string is masked as its JSON text);
* anything else is withheld (``raw`` null): a line that is not JSON or not an object, or was cut at 2,000
  characters; an object with a key naming no column (its value cannot be attributed to a field); a CSV record
  (its split depends on that request's header).

A reader that masks no field of the dataset sees every ``raw`` as sent. The reasons never repeat a personal
value: the validators of personal kinds (identity number, phone) do not echo the input (``hub.sync.validate``).

The counts do not tell a writer what was stored before its write either. Every report says ``applied``: the valid
rows of the batch, each now stored as sent (``inserted`` + ``updated`` + ``unchanged``). A writer who does not read the
dataset in clear — it may not read the dataset at all (an admin without a grant on a CONDITIONAL dataset, or ingesting
into another department's NOT_SHARED one), or sees a PERSONAL field masked (``Access.maskers``; such a writer is refused
before it writes, ``hub.sync.guard.authorize``, and this stays as a second line) — gets ``applied`` only:
``inserted``, ``updated`` and ``unchanged`` are withheld (null). Otherwise
``inserted`` against ``updated`` would say whether a record with a guessed natural key existed (a job seeker's source
id may be the person's identity number, ``sourceId`` in the catalog), and ``unchanged`` would confirm a guessed name,
identity number and phone, as a search by name would (refused, ``Access.check_arguments``). What the writer needs to
know of its own write stays: received, applied, rejected (with reasons and masked input), warnings. Its audit entry
counts the applied rows too (``audited_rows``): its department reads its entries (``auditLog``), so the entry must not
carry the split either. The stored report keeps the split (the owner and readers in clear see it, replays included).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, TypeVar

import orjson

from hub.sync.parse import snake

if TYPE_CHECKING:
    from hub.governance.access import Access
    from hub.governance.catalog import Dataset
    from hub.sync.specs import Spec


SPLIT = ("inserted", "updated", "unchanged")
T = TypeVar("T")


def report_for(access: "Access", dataset: "Dataset", spec: "Spec", report: dict[str, Any]) -> dict[str, Any]:
    """``report`` as this reader may see it (a copy with ``applied``; the split withheld and rejected rows' input masked
    for a writer who does not read the dataset in clear; the stored report is unchanged). Records the masked fields on
    ``access`` for the audit entry."""
    maskers = access.maskers(dataset)
    report = {**report, "applied": sum(report[name] for name in SPLIT)}
    if maskers or not access.allows(dataset):  # no word on what was stored before
        report.update(dict.fromkeys(SPLIT))
    rows = report.get("rejectedRows") or []
    if not maskers or not rows:
        return report
    columns = frozenset(spec.names)
    shown = [{**row, "raw": masked_raw(row.get("raw"), columns, maskers)} for row in rows]
    access.note_masked(dataset, maskers)
    return {**report, "rejectedRows": shown}


def writer_view(access: "Access", dataset: "Dataset", spec: "Spec", report: dict[str, Any]) -> dict[str, Any]:
    """The report its writer sees (``report_for``), with the rows its audit entry counts (``audited_rows``) set on
    ``access``. One rule for POST /ingest and the GraphQL mutation."""
    view = report_for(access, dataset, spec, report)
    access.rows[dataset.name] = audited_rows(view)
    return view


def drafted(access: "Access", dataset: "Dataset", spec: "Spec", report: dict[str, Any], build: Callable[[], T]) -> T:
    """What ``build`` makes (the audit entry kept with a batch in the outbox, ``hub.governance.audit_outbox``) while the
    writer's view of ``report`` is counted on ``access`` (``writer_view``), leaving ``access`` as it was: the entry is
    drafted inside the batch's transaction, which may still fail, and the entry of a request whose batch did not
    commit must not count its rows. The caller counts them once the batch has committed."""
    rows, masked = dict(access.rows), set(access.masked)
    try:
        writer_view(access, dataset, spec, report)
        return build()
    finally:
        access.rows.clear()
        access.rows.update(rows)
        access.masked.clear()
        access.masked.update(masked)


def audited_rows(view: dict[str, Any]) -> int:
    """The rows an ingest's audit entry counts, from the report its writer saw (``report_for``): the rows written
    (inserted + updated), or every applied row where the writer is not told which were written."""
    return view["applied"] if view["inserted"] is None else view["inserted"] + view["updated"]


def masked_raw(raw: str | None, columns: frozenset[str], maskers: dict[str, Callable[[str], str]]) -> str | None:
    """A rejected row's input with the masked fields masked, or None where it cannot be split into fields."""
    if raw is None:
        return None
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(obj, dict):
        return None
    out: dict[str, Any] = {}
    for key, value in obj.items():
        column = snake(key)
        if column not in columns:
            return None
        mask = maskers.get(column)
        if mask is None or value is None:
            out[key] = value
        else:
            out[key] = mask(value if isinstance(value, str) else orjson.dumps(value).decode())
    return orjson.dumps(out).decode()
