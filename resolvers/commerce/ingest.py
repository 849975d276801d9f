"""What ingest accepts for commerce's datasets (``POST /ingest/{dataset}``, ``hub ingest``): columns and their kinds,
the natural key, row rules, references inside commerce and codes of other departments (``hub.sync.specs``)."""

from __future__ import annotations

from typing import Any

from hub.sync import validate as v
from hub.sync.specs import Col, Ref, Spec, districts
from hub.sync.validate import Integer, Invalid, Numeric


def industry_level(row: dict[str, Any]) -> None:
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


def certified_is_integration(row: dict[str, Any]) -> None:
    if row.get("integration_certified_year") is not None and not row.get("integration"):
        raise Invalid("a certified enterprise is an integration enterprise: integration must be true",
                      "integration")


INGEST: tuple[Spec, ...] = (
    Spec("commerce.industries", (
        Col("code", v.INDUSTRY), Col("name", v.TEXT), Col("level", Integer(low=1, high=4, pg_type="smallint"), False),
        Col("parent_code", v.INDUSTRY, False)),
        key=("code",), rules=(industry_level,),
        refs=(Ref(("parent_code",), "commerce.industries", ("code",), in_batch=True),)),
    Spec("commerce.enterprises", (
        Col("uscc", v.USCC), Col("name", v.TEXT), Col("industry_code", v.INDUSTRY), Col("district_code", v.DISTRICT),
        Col("size", v.choice("MICRO", "SMALL", "MEDIUM", "LARGE")), Col("founded_on", v.DATE),
        Col("integration", v.BOOLEAN, False, default=False),
        Col("integration_certified_year", Integer(low=2000, high=2100, pg_type="smallint"), False)),
        key=("uscc",), rules=(certified_is_integration,), refs=(Ref(("industry_code",), "commerce.industries",
                                                                    ("code",)),),
        foreign=districts("district_code")),
    Spec("commerce.parks", (
        Col("code", v.code(r"^P[0-9]{4}$", "a park code P0000")), Col("name", v.TEXT), Col("district_code", v.DISTRICT),
        Col("area_hectares", Numeric(precision=10, scale=2, low_inclusive=False))),
        key=("code",), foreign=districts("district_code")),
    Spec("commerce.investment_projects", (
        Col("code", v.code(r"^IP[0-9]{6}$", "a project code IP000000")), Col("name", v.TEXT),
        Col("enterprise_uscc", v.USCC), Col("park_code", v.code(r"^P[0-9]{4}$", "a park code P0000"), False),
        Col("amount_wan", Numeric(low_inclusive=False)), Col("starts_on", v.DATE)),
        key=("code",), refs=(Ref(("enterprise_uscc",), "commerce.enterprises", ("uscc",)),
                             Ref(("park_code",), "commerce.parks", ("code",)))),
)
