"""GraphQL types of the plan's indicators (issue 16; docs/statistics.md, "The plan's indicators")."""

from __future__ import annotations

import datetime
from enum import Enum

import strawberry

from resolvers.analytics.types import perturbed_field


@strawberry.enum(description="An indicator of the district plan.")
class PlanIndicatorKey(Enum):
    KEY_MAJOR_GROUPS = "KEY_MAJOR_GROUPS"
    DOUBLE_BASES = "DOUBLE_BASES"
    TRAINING_BASES = "TRAINING_BASES"
    SHORTAGE_SPECIALTY_MAJORS = "SHORTAGE_SPECIALTY_MAJORS"
    APPRENTICESHIP_MAJORS = "APPRENTICESHIP_MAJORS"
    CITY_HIGH_STANDARD_SCHOOLS = "CITY_HIGH_STANDARD_SCHOOLS"
    DUAL_QUALIFIED_SHARE = "DUAL_QUALIFIED_SHARE"
    CERTIFIED_INTEGRATION_ENTERPRISES = "CERTIFIED_INTEGRATION_ENTERPRISES"


@strawberry.enum(description="COUNT: a number of designations, bases, schools or enterprises; SHARE: a proportion "
                             "between 0 and 1.")
class PlanUnit(Enum):
    COUNT = "COUNT"
    SHARE = "SHARE"


@strawberry.enum(description="MET: the measured value reached the target. ON_TRACK: not yet, but at or above the "
                             "linear trajectory from the base year's value to the target. BEHIND: below it (or the "
                             "target year has passed without the target being met).")
class PlanStatus(Enum):
    MET = "MET"
    ON_TRACK = "ON_TRACK"
    BEHIND = "BEHIND"


@strawberry.type(description="An indicator's measured value at the end of a year.")
class PlanValue:
    year: int
    value: float | None = strawberry.field(description="Null: no data for the year.")


@strawberry.type(description="A school's specialty teachers on its staff at the year's end and the dual-qualified "
                             "among them.")
class SchoolTeacherCount:
    school_code: str
    school_name: str | None
    district_code: str | None
    specialty_teachers: int
    dual_qualified: int
    share: float | None = strawberry.field(description="dualQualified / specialtyTeachers (null: no teachers).")
    perturbed: bool = perturbed_field("Teacher counts")


@strawberry.type(description="The counts behind the dual-qualified share: the city's and each school's.")
class PlanTeachers:
    specialty_teachers: int | None
    dual_qualified: int | None
    perturbed: bool = perturbed_field("Teacher counts")
    schools: list[SchoolTeacherCount]


@strawberry.type(description="One of the plan's indicators in a year: its target, the value measured as of the "
                             "year's end (cumulative), the progress ratio and the status.")
class PlanIndicator:
    indicator: PlanIndicatorKey
    name: str = strawberry.field(description="As the plan words it.")
    owner: str = strawberry.field(description="The department whose data measure it.")
    unit: PlanUnit
    year: int
    target_value: float | None = strawberry.field(description="Null: the plan sets no number (count and trend only, "
                                                              "no status).")
    base_year: int
    target_year: int
    base_value: float | None = strawberry.field(description="The measured value at the end of the base year.")
    measured_value: float | None = strawberry.field(description="As of the end of the year (null: no data).")
    expected_value: float | None = strawberry.field(description="On the linear trajectory from baseValue (end of "
                                                                "baseYear) to targetValue (end of targetYear).")
    progress: float | None = strawberry.field(description="measuredValue / targetValue.")
    status: PlanStatus | None
    trend: list[PlanValue] = strawberry.field(description="The measured value at the end of every year up to the "
                                                          "year (from 2015).")
    teachers: PlanTeachers | None = strawberry.field(description="DUAL_QUALIFIED_SHARE only: the counts behind it.")


@strawberry.type(description="A target of the plan, as the bureau's admins keep it (hub.plan_targets).")
class PlanTarget:
    indicator: PlanIndicatorKey
    unit: PlanUnit
    target_value: float | None
    base_year: int
    target_year: int
    updated_at: datetime.datetime
    updated_by: str
