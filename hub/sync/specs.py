"""What ingest accepts for a catalog dataset (each department's in ``resolvers/<dept>/ingest.py``, read through
``ingest_specs()``): columns and their kinds, the natural key it upserts by,
row rules, references inside the owning department (a row referring to an unknown one is rejected), and
codes of other departments (looked up through that department's pool; unknown ones are accepted with a
warning, since the other department may simply not have them yet).

Natural keys: the unique code of each table; ``(school_code, code)`` for majors; ``(major_id, year)`` for
major outcomes, whose input names the major by ``school_code`` + ``major_code``; and ``source_id`` — the
source system's own identifier, added by migration 0009 — for job postings and job seekers, which have no
code. Ids are the hub's own and are never ingested.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Callable

from hub.assembly import contributions
from hub.sync import validate as v
from hub.sync.validate import Integer, Invalid

Rule = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class Col:
    name: str
    kind: v.Kind
    required: bool = True  # False: may be null / absent (then ``default``)
    default: Any = None
    stored: bool = True  # False: input only (used to derive a stored column)


@dataclass(frozen=True)
class Ref:
    """Columns that must name a row of ``table`` in the same department (else the row is rejected)."""

    columns: tuple[str, ...]
    table: str
    target: tuple[str, ...]
    in_batch: bool = False  # a row of the same batch also satisfies it (self-references)


@dataclass(frozen=True)
class Foreign:
    """A code owned by another department: looked up there; unknown -> warning, row still applied."""

    column: str
    department: str
    query: str  # a statement of sql/queries returning column ``code`` for $1 = array of codes


@dataclass(frozen=True)
class Spec:
    dataset: str
    columns: tuple[Col, ...]
    key: tuple[str, ...]  # natural key (stored columns) for ON CONFLICT
    rules: tuple[Rule, ...] = ()
    refs: tuple[Ref, ...] = ()
    foreign: tuple[Foreign, ...] = ()
    derived: dict[str, str] = field(default_factory=dict)  # stored column -> SQL over staging alias s
    stage_key: tuple[str, ...] | None = None  # the key as input columns (default: key)

    @property
    def department(self) -> str:
        return self.dataset.split(".")[0]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def stored(self) -> tuple[str, ...]:
        """Target columns, in insert order."""
        return tuple(c.name for c in self.columns if c.stored) + tuple(self.derived)

    @property
    def input_key(self) -> tuple[str, ...]:
        return self.stage_key or self.key


# --- row rules ------------------------------------------------------------------------------------------

def not_after(first: str, second: str) -> Rule:
    def rule(row: dict[str, Any]) -> None:
        a, b = row.get(first), row.get(second)
        if a is not None and b is not None and a > b:
            word = "is after" if hasattr(a, "isoformat") else "exceeds"
            raise Invalid(f"{first} {a} {word} {second} {b}", second)
    return rule


def one_of(*names: str) -> Rule:
    def rule(row: dict[str, Any]) -> None:
        if all(row.get(n) is None for n in names):
            raise Invalid(f"one of {', '.join(names)} is required")
    return rule


# --- helpers of the departments' specs (resolvers/<dept>/ingest.py) -------------------------------------

COUNT = Integer(low=0)
POSITIVE = Integer(low=1)
SCHOOL_EDUCATION = ("education", "education/known_school_codes")  # a school code, looked up in education


def districts(*columns: str) -> tuple[Foreign, ...]:
    """District codes, looked up in the hub's own table."""
    return tuple(Foreign(c, "bigdata", "hub/known_district_codes") for c in columns)


def usccs(*columns: str) -> tuple[Foreign, ...]:
    """Enterprise codes (USCC), looked up in commerce."""
    return tuple(Foreign(c, "commerce", "commerce/known_usccs") for c in columns)


@functools.cache
def ingest_specs() -> dict[str, Spec]:
    """What ingest accepts, per dataset: the ``ingest`` of every department's contribution (``hub.assembly``)."""
    return {s.dataset: s for c in contributions() for s in c.ingest}


_PLANS: dict[str, tuple[tuple[str, Any, bool, Any], ...]] = {}


def _plan(spec: Spec) -> tuple[tuple[str, Any, bool, Any], ...]:
    """Per column: (name, convert, required with no default, default) — computed once per dataset."""
    plan = _PLANS.get(spec.dataset)
    if plan is None:
        plan = _PLANS[spec.dataset] = tuple((c.name, c.kind.convert, c.required and c.default is None, c.default)
                                            for c in spec.columns)
    return plan


def validate_row(spec: Spec, obj: dict[str, Any]) -> tuple[Any, ...]:
    """The row's values in ``spec.columns`` order; raises ``Invalid`` naming every problem found (its ``field``
    is the first one's; the others follow in its reason as ``field: reason``, separated by "; "). The row rules
    are checked when every field is valid, each of them. Absent, null and (for optional columns) empty values
    are null; ``obj`` is consumed."""
    values: dict[str, Any] = {}
    problems: list[Invalid] = []
    pop = obj.pop
    for name, convert, required, default in _plan(spec):
        raw = pop(name, None)
        if raw is None or (raw == "" and not required):
            if required:
                problems.append(Invalid("is required", name))
            values[name] = default
            continue
        try:
            values[name] = convert(raw)
        except Invalid as exc:
            problems.append(Invalid(exc.reason, name))
    if obj:
        unknown = ", ".join(sorted(map(str, obj)))
        problems.append(Invalid(f"unknown field(s) {unknown}; {spec.dataset} has {', '.join(spec.names)}"))
    if not problems:
        for rule in spec.rules:
            try:
                rule(values)
            except Invalid as exc:
                problems.append(exc)
    if len(problems) == 1:
        raise problems[0]
    if problems:
        first, *others = problems
        raise Invalid("; ".join([first.reason, *(f"{p.field}: {p.reason}" if p.field else p.reason
                                                  for p in others)]), first.field)
    return tuple(values.values())
