"""What ingest accepts for each catalog dataset: columns and their kinds, the natural key it upserts by,
row rules, references inside the owning department (a row referring to an unknown one is rejected), and
codes of other departments (looked up through that department's pool; unknown ones are accepted with a
warning, since the other department may simply not have them yet).

Natural keys: the unique code of each table; ``(school_code, code)`` for majors; ``(major_id, year)`` for
major outcomes, whose input names the major by ``school_code`` + ``major_code``; and ``source_id`` — the
source system's own identifier, added by migration 0009 — for job postings and job seekers, which have no
code. Ids are the hub's own and are never ingested.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from hub.sync import validate as v
from hub.sync.validate import Integer, Invalid, Numeric

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


def _occupation_group(row: dict[str, Any]) -> None:
    group = int(row["code"][0])
    if row.get("major_group") is None:
        row["major_group"] = group
    elif row["major_group"] != group:
        raise Invalid(f"major_group {row['major_group']} does not match code {row['code']}", "major_group")


def _industry_level(row: dict[str, Any]) -> None:
    code, parent = row["code"], row.get("parent_code")
    level = 1 if code.isalpha() else len(code)
    if level == 1 and len(code) != 1:
        raise Invalid(f"{code!r} is not a GB/T 4754 code", "code")
    if row.get("level") is None:
        row["level"] = level
    elif row["level"] != level:
        raise Invalid(f"level {row['level']} does not match code {code} (level {level})", "level")
    if level == 1 and parent is not None:
        raise Invalid("a section (level 1) has no parent", "parent_code")
    if level == 2 and (parent is None or not (len(parent) == 1 and parent.isalpha())):
        raise Invalid("a division (2 digits) has a section letter as parent", "parent_code")
    if level > 2 and parent != code[:-1]:
        raise Invalid(f"the parent of {code} is {code[:-1]}", "parent_code")


def _employed(row: dict[str, Any]) -> None:
    if row["employed"] > row["graduates"]:
        raise Invalid(f"employed {row['employed']} exceeds graduates {row['graduates']}", "employed")


# --- the datasets ---------------------------------------------------------------------------------------

_COUNT = Integer(low=0)
_POSITIVE = Integer(low=1)
_USCC_COMMERCE = ("commerce", "commerce/known_usccs")
_SCHOOL_EDUCATION = ("education", "education/known_school_codes")


def _districts(*columns: str) -> tuple[Foreign, ...]:
    return tuple(Foreign(c, "bigdata", "hub/known_district_codes") for c in columns)


def _usccs(*columns: str) -> tuple[Foreign, ...]:
    return tuple(Foreign(c, *_USCC_COMMERCE) for c in columns)


_OCCUPATION_REF = Ref(("occupation_code",), "labor.occupations", ("code",))
_SCHOOL_REF = Ref(("school_code",), "education.schools", ("code",))
_YEAR = Integer(low=2000, high=2100, pg_type="smallint")


def _certified_is_integration(row: dict[str, Any]) -> None:
    if row.get("integration_certified_year") is not None and not row.get("integration"):
        raise Invalid("a certified enterprise is an integration enterprise: integration must be true",
                      "integration")

SPECS: dict[str, Spec] = {s.dataset: s for s in (
    Spec("commerce.industries", (
        Col("code", v.INDUSTRY), Col("name", v.TEXT), Col("level", Integer(low=1, high=4, pg_type="smallint"), False),
        Col("parent_code", v.INDUSTRY, False)),
        key=("code",), rules=(_industry_level,),
        refs=(Ref(("parent_code",), "commerce.industries", ("code",), in_batch=True),)),
    Spec("commerce.enterprises", (
        Col("uscc", v.USCC), Col("name", v.TEXT), Col("industry_code", v.INDUSTRY), Col("district_code", v.DISTRICT),
        Col("size", v.choice("MICRO", "SMALL", "MEDIUM", "LARGE")), Col("founded_on", v.DATE),
        Col("integration", v.BOOLEAN, False, default=False), Col("integration_certified_year", _YEAR, False)),
        key=("uscc",), rules=(_certified_is_integration,), refs=(Ref(("industry_code",), "commerce.industries",
                                                                     ("code",)),),
        foreign=_districts("district_code")),
    Spec("commerce.parks", (
        Col("code", v.code(r"^P[0-9]{4}$", "a park code P0000")), Col("name", v.TEXT), Col("district_code", v.DISTRICT),
        Col("area_hectares", Numeric(precision=10, scale=2, low_inclusive=False))),
        key=("code",), foreign=_districts("district_code")),
    Spec("commerce.investment_projects", (
        Col("code", v.code(r"^IP[0-9]{6}$", "a project code IP000000")), Col("name", v.TEXT),
        Col("enterprise_uscc", v.USCC), Col("park_code", v.code(r"^P[0-9]{4}$", "a park code P0000"), False),
        Col("amount_wan", Numeric(low_inclusive=False)), Col("starts_on", v.DATE)),
        key=("code",), refs=(Ref(("enterprise_uscc",), "commerce.enterprises", ("uscc",)),
                             Ref(("park_code",), "commerce.parks", ("code",)))),
    Spec("labor.occupations", (
        Col("code", v.OCCUPATION), Col("name", v.TEXT), Col("major_group", Integer(low=1, high=8, pg_type="smallint"),
                                                            False)),
        key=("code",), rules=(_occupation_group,)),
    Spec("labor.job_postings", (
        Col("source_id", v.SOURCE_ID), Col("title", v.TEXT), Col("enterprise_uscc", v.USCC),
        Col("occupation_code", v.OCCUPATION), Col("headcount", _POSITIVE), Col("wage_min", _COUNT),
        Col("wage_max", _COUNT), Col("education", v.EDUCATION), Col("skill_level", v.SKILL_LEVEL, False),
        Col("district_code", v.DISTRICT), Col("posted_on", v.DATE), Col("closes_on", v.DATE, False)),
        key=("source_id",), rules=(not_after("wage_min", "wage_max"), not_after("posted_on", "closes_on")),
        refs=(_OCCUPATION_REF,), foreign=(*_usccs("enterprise_uscc"), *_districts("district_code"))),
    Spec("labor.job_seekers", (
        Col("source_id", v.SOURCE_ID), Col("name", v.TEXT), Col("id_number", v.Kind(check=v.check_id_number)),
        Col("phone", v.Kind(check=v.check_phone)), Col("gender", v.choice("F", "M")),
        Col("birth_year", Integer(low=1940, high=2015, pg_type="smallint")), Col("education", v.EDUCATION),
        Col("occupation_code", v.OCCUPATION), Col("skill_level", v.SKILL_LEVEL, False),
        Col("district_code", v.DISTRICT), Col("registered_on", v.DATE), Col("left_on", v.DATE, False)),
        key=("source_id",), rules=(not_after("registered_on", "left_on"),), refs=(_OCCUPATION_REF,),
        foreign=_districts("district_code")),
    Spec("labor.training_programs", (
        Col("code", v.code(r"^TP[0-9]{6}$", "a program code TP000000")), Col("name", v.TEXT),
        Col("occupation_code", v.OCCUPATION), Col("provider", v.TEXT), Col("provider_uscc", v.USCC, False),
        Col("seats", _POSITIVE), Col("skill_level", v.SKILL_LEVEL, False), Col("district_code", v.DISTRICT),
        Col("starts_on", v.DATE), Col("ends_on", v.DATE)),
        key=("code",), rules=(not_after("starts_on", "ends_on"),), refs=(_OCCUPATION_REF,),
        foreign=(*_usccs("provider_uscc"), *_districts("district_code"))),
    Spec("labor.skill_certificates", (
        Col("certificate_no", v.code(r"^SC[0-9]{10}$", "a certificate number SC0000000000")),
        Col("seeker_id", Integer(low=1, high=2**63 - 1, pg_type="bigint")), Col("occupation_code", v.OCCUPATION),
        Col("skill_level", v.SKILL_LEVEL), Col("issued_on", v.DATE)),
        key=("certificate_no",),
        refs=(Ref(("seeker_id",), "labor.job_seekers", ("id",)), _OCCUPATION_REF)),
    Spec("labor.apprenticeships", (
        Col("code", v.code(r"^AP[0-9]{6}$", "an apprenticeship code AP000000")), Col("enterprise_uscc", v.USCC),
        Col("occupation_code", v.OCCUPATION), Col("school_code", v.SCHOOL, False), Col("apprentices", _POSITIVE),
        Col("starts_on", v.DATE), Col("ends_on", v.DATE, False)),
        key=("code",), rules=(not_after("starts_on", "ends_on"),), refs=(_OCCUPATION_REF,),
        foreign=(*_usccs("enterprise_uscc"), Foreign("school_code", *_SCHOOL_EDUCATION))),
    Spec("science.research_projects", (
        Col("code", v.code(r"^RP[0-9]{6}$", "a project code RP000000")), Col("title", v.TEXT),
        Col("lead_enterprise_uscc", v.USCC, False), Col("partner_school_code", v.SCHOOL, False),
        Col("industry_code", v.INDUSTRY, False), Col("field", v.TEXT), Col("budget_wan", Numeric()),
        Col("starts_on", v.DATE), Col("ends_on", v.DATE, False)),
        key=("code",), rules=(not_after("starts_on", "ends_on"), one_of("lead_enterprise_uscc", "partner_school_code")),
        foreign=(*_usccs("lead_enterprise_uscc"), Foreign("partner_school_code", *_SCHOOL_EDUCATION),
                 Foreign("industry_code", "commerce", "commerce/known_industry_codes"))),
    Spec("science.tech_transfers", (
        Col("code", v.code(r"^TT[0-9]{6}$", "a transfer code TT000000")),
        Col("project_code", v.code(r"^RP[0-9]{6}$", "a project code RP000000")), Col("title", v.TEXT),
        Col("buyer_uscc", v.USCC, False), Col("amount_wan", Numeric()), Col("transferred_on", v.DATE)),
        key=("code",), refs=(Ref(("project_code",), "science.research_projects", ("code",)),),
        foreign=_usccs("buyer_uscc")),
    Spec("science.innovation_platforms", (
        Col("code", v.code(r"^IPF[0-9]{5}$", "a platform code IPF00000")), Col("name", v.TEXT),
        Col("kind", v.choice("KEY_LAB", "ENGINEERING_CENTER", "INCUBATOR", "SKILL_MASTER_STUDIO", "TRAINING_BASE")),
        Col("level", v.choice("NATIONAL", "PROVINCIAL", "MUNICIPAL", "DISTRICT")), Col("host_uscc", v.USCC, False),
        Col("host_school_code", v.SCHOOL, False), Col("district_code", v.DISTRICT), Col("established_on", v.DATE)),
        key=("code",), rules=(one_of("host_uscc", "host_school_code"),),
        foreign=(*_usccs("host_uscc"), Foreign("host_school_code", *_SCHOOL_EDUCATION),
                 *_districts("district_code"))),
    Spec("education.schools", (
        Col("code", v.SCHOOL), Col("name", v.TEXT),
        Col("kind", v.choice("SECONDARY_VOCATIONAL", "HIGHER_VOCATIONAL", "VOCATIONAL_UNDERGRADUATE", "TECHNICIAN")),
        Col("district_code", v.DISTRICT)),
        key=("code",), foreign=_districts("district_code")),
    Spec("education.majors", (Col("code", v.MAJOR), Col("name", v.TEXT), Col("school_code", v.SCHOOL)),
         key=("school_code", "code"), refs=(Ref(("school_code",), "education.schools", ("code",)),)),
    Spec("education.major_outcomes", (
        Col("school_code", v.SCHOOL, stored=False), Col("major_code", v.MAJOR, stored=False),
        Col("year", Integer(low=2000, high=2100, pg_type="smallint")), Col("enrollment", _COUNT),
        Col("graduates", _COUNT), Col("employed", _COUNT)),
        key=("major_id", "year"), stage_key=("school_code", "major_code", "year"), rules=(_employed,),
        refs=(Ref(("school_code", "major_code"), "education.majors", ("school_code", "code")),),
        derived={"major_id": "(select m.id from education.majors m where m.school_code = s.school_code "
                             "and m.code = s.major_code)"}),
    # issue 16: the sources of the plan's indicators
    Spec("education.specialty_teachers", (
        Col("staff_no", v.code(r"^T[0-9]{8}$", "a teacher register number T00000000")), Col("name", v.TEXT),
        Col("school_code", v.SCHOOL), Col("major_code", v.MAJOR, False), Col("dual_qualified_since", _YEAR, False),
        Col("hired_on", v.DATE), Col("left_on", v.DATE, False)),
        key=("staff_no",), rules=(not_after("hired_on", "left_on"),), refs=(_SCHOOL_REF,)),
    Spec("education.school_enterprise_bases", (
        Col("code", v.code(r"^SEB[0-9]{5}$", "a base code SEB00000")), Col("name", v.TEXT),
        Col("kind", v.choice("DOUBLE_BASE", "TRAINING_BASE")), Col("school_code", v.SCHOOL),
        Col("enterprise_uscc", v.USCC), Col("established_year", _YEAR)),
        key=("code",), refs=(_SCHOOL_REF,), foreign=_usccs("enterprise_uscc")),
    Spec("education.major_designations", (
        Col("school_code", v.SCHOOL), Col("major_code", v.MAJOR),
        Col("kind", v.choice("KEY_GROUP", "SHORTAGE_SPECIALTY", "APPRENTICESHIP")), Col("year", _YEAR)),
        key=("school_code", "major_code", "kind"),
        refs=(Ref(("school_code", "major_code"), "education.majors", ("school_code", "code")),)),
    Spec("education.school_designations", (
        Col("school_code", v.SCHOOL), Col("kind", v.choice("CITY_HIGH_STANDARD")), Col("year", _YEAR)),
        key=("school_code", "kind"), refs=(_SCHOOL_REF,)),
)}


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
