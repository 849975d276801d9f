"""Are a hub answer and a PostGraphile answer the same data? (pure logic, tested without node)

PostGraphile's field names are mapped to the hub's (``allJobPostings`` -> ``jobPostings``,
``enterpriseByEnterpriseUscc`` -> ``enterprise``, ``majorsList`` -> ``majors``, ...), every scalar is
compared as a string (PostGraphile sends bigint ids as ``"22"``, the hub as ``22``), lists are compared in
order. Hand-written: the mapping between two servers' field names is specific to these two schemas.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

# PostGraphile field name -> the hub's, for the fields the bench shapes use.
RENAME = {
    "allJobPostings": "jobPostings",
    "allOccupations": "occupations",
    "allEnterprises": "enterprises",
    "allSchools": "schools",
    "enterpriseByUscc": "enterprise",
    "enterpriseByEnterpriseUscc": "enterprise",
    "industryByIndustryCode": "industry",
    "occupationByOccupationCode": "occupation",
    "jobPostingsByOccupationCode": "postings",
    "jobPostingsByEnterpriseUscc": "postings",
    "majorsBySchoolCodeList": "majors",
    "majorOutcomesByMajorIdList": "outcomes",
    "majorsList": "majors",
}


def normalise(value: Any, key: str | None = None) -> Any:
    """``value`` with PostGraphile's names mapped to the hub's and every scalar as a string."""
    if isinstance(value, dict):
        # a connection asked only for its totalCount: the hub's postingCount
        if key == "jobPostingsByOccupationCode" and set(value) == {"totalCount"}:
            return ("postingCount", str(value["totalCount"]))
        out: dict[str, Any] = {}
        for k, x in value.items():
            r = normalise(x, k)
            if isinstance(r, tuple):
                out[r[0]] = r[1]
            else:
                out[RENAME.get(k, k)] = r
        return out
    if isinstance(value, list):
        return [normalise(x) for x in value]
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def levels(value: Any, path: str = "", out: dict[str, int] | None = None) -> dict[str, int]:
    """{path: number of list items found at that path} (the items of every list at one path summed)."""
    out = {} if out is None else out
    if isinstance(value, dict):
        for k, x in value.items():
            levels(x, f"{path}.{k}" if path else k, out)
    elif isinstance(value, list):
        out[path] = out.get(path, 0) + len(value)
        for x in value:
            levels(x, path, out)
    return out


def first_difference(a: Any, b: Any, path: str = "data") -> str | None:
    """Where the (normalised) hub answer ``a`` and PostGraphile answer ``b`` first differ; None: the same."""
    if type(a) is not type(b):
        return f"{path}: {json.dumps(a, ensure_ascii=False)[:120]} != {json.dumps(b, ensure_ascii=False)[:120]}"
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return f"{path}.{k}: only on the {'PostGraphile' if k in b else 'hub'} side"
            d = first_difference(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items on the hub side, {len(b)} on the PostGraphile side"
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    return None if a == b else f"{path}: hub {a!r} != PostGraphile {b!r}"


@dataclass(frozen=True)
class Comparison:
    same: bool
    items: dict[str, int]  # list items per level, hub side
    difference: str | None  # the first difference, or why there is nothing to compare

    def summary(self) -> str:
        counts = ", ".join(f"{k}={v}" for k, v in sorted(self.items.items())) or "no lists"
        return f"same data ({counts})" if self.same else f"DIFFERENT: {self.difference}"


def compare(hub: dict, pgl: dict) -> Comparison:
    """Compare two GraphQL responses (``{"data": ...}``). An error answer or a side without data is never the
    same; neither is an answer without a single list item (nothing would have been compared)."""
    for side, body in (("hub", hub), ("PostGraphile", pgl)):
        if body.get("errors") or not isinstance(body.get("data"), dict):
            return Comparison(False, {}, f"{side} answered errors: "
                                         f"{json.dumps(body.get('errors'), ensure_ascii=False)[:300]}")
    h, p = normalise(hub["data"]), normalise(pgl["data"])
    items_h, items_p = levels(h), levels(p)
    d = first_difference(h, p)
    if d is None and items_h != items_p:  # cannot happen when the data are equal; kept as a guard
        d = f"items per level differ: hub {items_h}, PostGraphile {items_p}"
    if d is None and items_h and not any(items_h.values()):
        d = "both answers hold empty lists only: nothing was compared"
    return Comparison(d is None, items_h, d)
