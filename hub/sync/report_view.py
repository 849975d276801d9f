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

The counts do not confirm stored values either: a row upserted by its natural key is ``unchanged`` when every value
sent equals the stored one, so for a writer who may not read the dataset in clear (an admin seeing its PERSONAL fields
masked, or without the grant that lets it read the dataset at all) an ``unchanged`` row would confirm a guessed name,
identity number and phone, as a search by name would (refused, ``Access.check_arguments``). Such a writer sees its
unchanged rows counted as updated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import orjson

from hub.sync.parse import snake

if TYPE_CHECKING:
    from hub.governance.access import Access
    from hub.governance.catalog import Dataset
    from hub.sync.specs import Spec


def report_for(access: "Access", dataset: "Dataset", spec: "Spec", report: dict[str, Any]) -> dict[str, Any]:
    """``report`` as this reader may see it (a copy when anything is masked or unchanged rows are counted as updated;
    the stored report is unchanged). Records the masked fields on ``access`` for the audit entry."""
    maskers = access.maskers(dataset)
    if report.get("unchanged") and (maskers or not access.allows(dataset)):  # no confirmation of stored values
        report = {**report, "updated": report["updated"] + report["unchanged"], "unchanged": 0}
    rows = report.get("rejectedRows") or []
    if not maskers or not rows:
        return report
    columns = frozenset(spec.names)
    shown = [{**row, "raw": masked_raw(row.get("raw"), columns, maskers)} for row in rows]
    access.note_masked(dataset, maskers)
    return {**report, "rejectedRows": shown}


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
