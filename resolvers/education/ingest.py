"""What ingest accepts for education's datasets (``POST /ingest/{dataset}``, ``hub ingest``): columns and their kinds,
the natural key, row rules, references inside education and codes of other departments (``hub.sync.specs``)."""

from __future__ import annotations

from typing import Any

from hub.sync import validate as v
from hub.sync.specs import (
    COUNT,
    Col,
    Ref,
    Spec,
    districts,
)
from hub.sync.validate import Integer, Invalid


def employed_not_above_graduates(row: dict[str, Any]) -> None:
    if row["employed"] > row["graduates"]:
        raise Invalid(f"employed {row['employed']} exceeds graduates {row['graduates']}", "employed")


INGEST: tuple[Spec, ...] = (
    Spec("education.schools", (
        Col("code", v.SCHOOL), Col("name", v.TEXT),
        Col("kind", v.choice("SECONDARY_VOCATIONAL", "HIGHER_VOCATIONAL", "VOCATIONAL_UNDERGRADUATE", "TECHNICIAN")),
        Col("district_code", v.DISTRICT)),
        key=("code",), foreign=districts("district_code")),
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
)
