"""What ingest accepts for education's datasets (``POST /ingest/{dataset}``, ``hub ingest``): columns and their kinds,
the natural key, row rules, references inside education and codes of other departments (``hub.sync.specs``)."""

from __future__ import annotations

from typing import Any

from hub.sync import validate as v
from hub.sync.specs import COUNT, Col, Ref, Spec, districts, not_after, usccs
from hub.sync.validate import Integer, Invalid


YEAR = Integer(low=2000, high=2100, pg_type="smallint")
SCHOOL_REF = Ref(("school_code",), "education.schools", ("code",))


def employed_not_above_graduates(row: dict[str, Any]) -> None:
    if row["employed"] > row["graduates"]:
        raise Invalid(f"employed {row['employed']} exceeds graduates {row['graduates']}", "employed")


INGEST: tuple[Spec, ...] = (
    Spec("education.schools", (
        Col("code", v.SCHOOL), Col("name", v.TEXT),
        Col("kind", v.choice("SECONDARY_VOCATIONAL", "HIGHER_VOCATIONAL", "VOCATIONAL_UNDERGRADUATE", "TECHNICIAN")),
        Col("district_code", v.DISTRICT)),
        key=("code",), foreign=districts("district_code")),
    Spec("education.major_catalog", (Col("code", v.MAJOR), Col("name", v.TEXT), Col("category", v.TEXT)),
         key=("code",)),
    Spec("education.majors", (Col("code", v.MAJOR), Col("name", v.TEXT), Col("school_code", v.SCHOOL)),
         key=("school_code", "code"), refs=(Ref(("school_code",), "education.schools", ("code",)),)),
    Spec("education.major_outcomes", (
        Col("school_code", v.SCHOOL, stored=False), Col("major_code", v.MAJOR, stored=False),
        Col("year", Integer(low=2000, high=2100, pg_type="smallint")), Col("enrollment", COUNT),
        Col("graduates", COUNT), Col("employed", COUNT)),
        key=("major_id", "year"), stage_key=("school_code", "major_code", "year"), rules=(employed_not_above_graduates,),
        refs=(Ref(("school_code", "major_code"), "education.majors", ("school_code", "code")),),
        derived={"major_id": "(select m.id from education.majors m where m.school_code = s.school_code "
                             "and m.code = s.major_code)"}),
    # issue 16: the sources of the plan's indicators
    Spec("education.specialty_teachers", (
        Col("staff_no", v.code(r"^T[0-9]{8}$", "a teacher register number T00000000")), Col("name", v.TEXT),
        Col("school_code", v.SCHOOL), Col("major_code", v.MAJOR, False), Col("dual_qualified_since", YEAR, False),
        Col("hired_on", v.DATE), Col("left_on", v.DATE, False)),
        key=("staff_no",), rules=(not_after("hired_on", "left_on"),), refs=(SCHOOL_REF,)),
    Spec("education.school_enterprise_bases", (
        Col("code", v.code(r"^SEB[0-9]{5}$", "a base code SEB00000")), Col("name", v.TEXT),
        Col("kind", v.choice("DOUBLE_BASE", "TRAINING_BASE")), Col("school_code", v.SCHOOL),
        Col("enterprise_uscc", v.USCC), Col("established_year", YEAR)),
        key=("code",), refs=(SCHOOL_REF,), foreign=usccs("enterprise_uscc")),
    Spec("education.major_designations", (
        Col("school_code", v.SCHOOL), Col("major_code", v.MAJOR),
        Col("kind", v.choice("KEY_GROUP", "SHORTAGE_SPECIALTY", "APPRENTICESHIP")), Col("year", YEAR)),
        key=("school_code", "major_code", "kind"),
        refs=(Ref(("school_code", "major_code"), "education.majors", ("school_code", "code")),)),
    Spec("education.school_designations", (
        Col("school_code", v.SCHOOL), Col("kind", v.choice("CITY_HIGH_STANDARD")), Col("year", YEAR)),
        key=("school_code", "kind"), refs=(SCHOOL_REF,)),
)
