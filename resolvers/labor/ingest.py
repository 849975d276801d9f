"""What ingest accepts for labor's datasets (``POST /ingest/{dataset}``, ``hub ingest``): columns and their kinds,
the natural key, row rules, references inside labor and codes of other departments (``hub.sync.specs``)."""

from __future__ import annotations

from typing import Any

from hub.sync import validate as v
from hub.sync.specs import COUNT, POSITIVE, SCHOOL_EDUCATION, Col, Foreign, Ref, Spec, districts, not_after, usccs
from hub.sync.validate import Integer, Invalid


def occupation_group(row: dict[str, Any]) -> None:
    group = int(row["code"][0])
    if row.get("major_group") is None:
        row["major_group"] = group
    elif row["major_group"] != group:
        raise Invalid(f"major_group {row['major_group']} does not match code {row['code']}", "major_group")


OCCUPATION_REF = Ref(("occupation_code",), "labor.occupations", ("code",))


INGEST: tuple[Spec, ...] = (
    Spec("labor.occupations", (
        Col("code", v.OCCUPATION), Col("name", v.TEXT), Col("major_group", Integer(low=1, high=8, pg_type="smallint"),
                                                            False)),
        key=("code",), rules=(occupation_group,)),
    Spec("labor.job_postings", (
        Col("source_id", v.SOURCE_ID), Col("title", v.TEXT), Col("enterprise_uscc", v.USCC),
        Col("occupation_code", v.OCCUPATION), Col("headcount", POSITIVE), Col("wage_min", COUNT),
        Col("wage_max", COUNT), Col("education", v.EDUCATION), Col("skill_level", v.SKILL_LEVEL, False),
        Col("district_code", v.DISTRICT), Col("posted_on", v.DATE), Col("closes_on", v.DATE, False)),
        key=("source_id",), rules=(not_after("wage_min", "wage_max"), not_after("posted_on", "closes_on")),
        refs=(OCCUPATION_REF,), foreign=(*usccs("enterprise_uscc"), *districts("district_code"))),
    Spec("labor.job_seekers", (
        Col("source_id", v.SOURCE_ID), Col("name", v.TEXT), Col("id_number", v.Kind(check=v.check_id_number)),
        Col("phone", v.Kind(check=v.check_phone)), Col("gender", v.choice("F", "M")),
        Col("birth_year", Integer(low=1940, high=2015, pg_type="smallint")), Col("education", v.EDUCATION),
        Col("occupation_code", v.OCCUPATION), Col("skill_level", v.SKILL_LEVEL, False),
        Col("district_code", v.DISTRICT), Col("registered_on", v.DATE), Col("left_on", v.DATE, False)),
        key=("source_id",), rules=(not_after("registered_on", "left_on"),), refs=(OCCUPATION_REF,),
        foreign=districts("district_code")),
    Spec("labor.training_programs", (
        Col("code", v.code(r"^TP[0-9]{6}$", "a program code TP000000")), Col("name", v.TEXT),
        Col("occupation_code", v.OCCUPATION), Col("provider", v.TEXT), Col("provider_uscc", v.USCC, False),
        Col("seats", POSITIVE), Col("skill_level", v.SKILL_LEVEL, False), Col("district_code", v.DISTRICT),
        Col("starts_on", v.DATE), Col("ends_on", v.DATE)),
        key=("code",), rules=(not_after("starts_on", "ends_on"),), refs=(OCCUPATION_REF,),
        foreign=(*usccs("provider_uscc"), *districts("district_code"))),
    Spec("labor.skill_certificates", (
        Col("certificate_no", v.code(r"^SC[0-9]{10}$", "a certificate number SC0000000000")),
        Col("seeker_id", Integer(low=1, high=2**63 - 1, pg_type="bigint")), Col("occupation_code", v.OCCUPATION),
        Col("skill_level", v.SKILL_LEVEL), Col("issued_on", v.DATE)),
        key=("certificate_no",),
        refs=(Ref(("seeker_id",), "labor.job_seekers", ("id",)), OCCUPATION_REF)),
    Spec("labor.apprenticeships", (
        Col("code", v.code(r"^AP[0-9]{6}$", "an apprenticeship code AP000000")), Col("enterprise_uscc", v.USCC),
        Col("occupation_code", v.OCCUPATION), Col("school_code", v.SCHOOL, False), Col("apprentices", POSITIVE),
        Col("starts_on", v.DATE), Col("ends_on", v.DATE, False)),
        key=("code",), rules=(not_after("starts_on", "ends_on"),), refs=(OCCUPATION_REF,),
        foreign=(*usccs("enterprise_uscc"), Foreign("school_code", *SCHOOL_EDUCATION))),
)
