"""The plan's indicators (issue 16), computed from the measured values the statistics refresh stored
(``resolvers.analytics.plan_refresh``) and the targets in ``hub.plan_targets``; used by the GraphQL field and the annual report.

Definitions (docs/statistics.md, definitions table):

* measured value of a year: cumulative as of 31 December — the designations made, bases established, enterprises
  certified in that year or before; for the dual-qualified share, the dual-qualified among the specialty teachers on
  the schools' staff on 31 December ÷ those teachers (from the counts the reader is shown: perturbed for readers
  other than education, cell-key method);
* base value: the measured value at the end of the target's base year; expected value in year y: the linear
  trajectory base + (target − base) × (y − base year) / (target year − base year), the target itself from the target
  year on; no expected value before the base year;
* progress = measured ÷ target; status MET when measured ≥ target, else ON_TRACK when measured ≥ expected, else
  BEHIND (so a target year that passed without the target met is BEHIND); no status without a target (the plan
  gives no number for the certified enterprises), before the base year, or without data for the year.

Comparisons are exact (fractions): a share of 3 of 5 teachers meets a 0.60 target.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from hub.errors import BadUserInput
from resolvers.analytics.figures import GRADUATES_OWNER, Reader, check_year
from resolvers.analytics.plan_types import (
    PlanIndicator, PlanIndicatorKey, PlanStatus, PlanTarget, PlanTeachers, PlanUnit, PlanValue, SchoolTeacherCount,
)

if TYPE_CHECKING:
    from hub.db.pools import Department
    from hub.governance.audit_outbox import Staged

TEACHERS_OWNER = GRADUATES_OWNER  # education owns its teachers
MAX_COUNT = 2**31 - 1  # a count target is a GraphQL Int: larger floats are not whole numbers the API carries exactly
FIRST_BASE_YEAR = 2015  # resolvers.analytics.plan_refresh.FIRST_YEAR: the statistics start there
# indicator -> (the plan's words, English, the department whose data measure it)
INDICATORS: dict[PlanIndicatorKey, tuple[str, str, str]] = {
    PlanIndicatorKey.KEY_MAJOR_GROUPS: ("骨干专业群", "Key major groups", "education"),
    PlanIndicatorKey.DOUBLE_BASES: ("校企双基地", "School–enterprise double bases", "education"),
    PlanIndicatorKey.TRAINING_BASES: ("产教融合实训基地", "Industry–education training bases", "education"),
    PlanIndicatorKey.SHORTAGE_SPECIALTY_MAJORS: ("产业急需紧缺骨干特色专业点", "Shortage-industry specialty majors",
                                                 "education"),
    PlanIndicatorKey.APPRENTICESHIP_MAJORS: ("现代学徒制专业点", "Modern-apprenticeship majors", "education"),
    PlanIndicatorKey.CITY_HIGH_STANDARD_SCHOOLS: ("市级高水平中职学校", "City-level high-standard vocational schools",
                                                  "education"),
    PlanIndicatorKey.DUAL_QUALIFIED_SHARE: ("“双师型”教师占专业教师比例",
                                            "Dual-qualified teachers' share of specialty teachers", "education"),
    PlanIndicatorKey.CERTIFIED_INTEGRATION_ENTERPRISES: ("产教融合型企业",
                                                         "Certified industry–education integration enterprises",
                                                         "commerce"),
}


def expected(target: Fraction, base: Fraction, base_year: int, target_year: int, year: int) -> Fraction | None:
    """The linear trajectory's value at the end of ``year`` (None before the base year)."""
    if year < base_year:
        return None
    if year >= target_year:
        return target
    return base + (target - base) * Fraction(year - base_year, target_year - base_year)


def status(measured: Fraction | None, target: Fraction | None, expected_value: Fraction | None) -> PlanStatus | None:
    if measured is None or target is None or expected_value is None:
        return None
    if measured >= target:
        return PlanStatus.MET
    return PlanStatus.ON_TRACK if measured >= expected_value else PlanStatus.BEHIND


def _float(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


def _share(teachers: int | None, dual: int | None) -> Fraction | None:
    return Fraction(dual, teachers) if teachers else None


def target_from_row(r: Any) -> PlanTarget:
    return PlanTarget(indicator=PlanIndicatorKey(r["indicator"]), unit=PlanUnit(r["unit"]),
                      target_value=None if r["target_value"] is None else float(r["target_value"]),
                      base_year=r["base_year"], target_year=r["target_year"], updated_at=r["updated_at"],
                      updated_by=r["updated_by"])


async def plan_indicators(hub: "Department", reader: Reader, year: int) -> list[PlanIndicator]:
    """Every indicator of the plan in ``year``, as ``reader`` sees it (teacher counts exact for education only)."""
    check_year(year)
    exact = reader.sees_exact(TEACHERS_OWNER)
    series: dict[str, dict[int, Fraction | None]] = {}
    for r in await hub.fetch("hub/stats_plan_counts", year):
        series.setdefault(r["indicator"], {})[r["year"]] = Fraction(r["value"])
    city: dict[int, tuple[int, int]] = {}
    schools: list[SchoolTeacherCount] = []
    for r in await hub.fetch("hub/stats_plan_teachers", year):
        teachers, dual = (r["teachers"], r["dual"]) if exact else (r["public_teachers"], r["public_dual"])
        if r["school_code"] is None:
            city[r["year"]] = (teachers, dual)
        else:
            share = _share(teachers, dual)
            schools.append(SchoolTeacherCount(school_code=r["school_code"], school_name=r["school_name"],
                                              district_code=r["district_code"], specialty_teachers=teachers,
                                              dual_qualified=dual, share=_float(share), perturbed=not exact))
    series[PlanIndicatorKey.DUAL_QUALIFIED_SHARE.value] = {y: _share(t, d) for y, (t, d) in city.items()}
    out = []
    for t in await hub.fetch("hub/plan_targets_list"):
        key = PlanIndicatorKey(t["indicator"])
        values = series.get(key.value, {})
        measured = values.get(year)
        base = values.get(t["base_year"])
        target = None if t["target_value"] is None else Fraction(t["target_value"])
        exp = None if target is None else expected(target, base or Fraction(0), t["base_year"], t["target_year"],
                                                   year)
        name, _, owner = INDICATORS[key]
        teachers = None
        if key is PlanIndicatorKey.DUAL_QUALIFIED_SHARE:
            total, dual = city.get(year, (None, None))
            teachers = PlanTeachers(specialty_teachers=total, dual_qualified=dual, perturbed=not exact,
                                    schools=schools)
        out.append(PlanIndicator(
            indicator=key, name=name, owner=owner, unit=PlanUnit(t["unit"]), year=year,
            target_value=_float(target), base_year=t["base_year"], target_year=t["target_year"],
            base_value=_float(base), measured_value=_float(measured), expected_value=_float(exp),
            progress=_float(measured / target) if measured is not None and target else None,
            status=status(measured, target, exp),
            trend=[PlanValue(year=y, value=_float(v)) for y, v in sorted(values.items())], teachers=teachers))
    return out


async def set_target(hub: "Department", indicator: PlanIndicatorKey, target_value: float | None, base_year: int,
                     target_year: int, updated_by: str, staged: "Staged | None" = None) -> PlanTarget:
    """Change a target (the caller checked the admin role); BAD_USER_INPUT names the argument that is wrong.
    ``staged(tx)`` runs in the change's transaction (the audit outbox, ``hub.governance.audit_outbox``)."""
    if not FIRST_BASE_YEAR <= base_year <= 2100:
        raise BadUserInput(f"baseYear must be between {FIRST_BASE_YEAR} (the first year the statistics cover) and "
                           f"2100, got {base_year}", argument="baseYear")
    if not base_year <= target_year <= 2100:
        raise BadUserInput(f"targetYear must be between baseYear ({base_year}) and 2100, got {target_year}",
                           argument="targetYear")
    share = indicator is PlanIndicatorKey.DUAL_QUALIFIED_SHARE
    if target_value is not None:
        if share and not 0 <= target_value <= 1:
            raise BadUserInput(f"targetValue of {indicator.value} is a share between 0 and 1, got {target_value}",
                               argument="targetValue")
        if not share and not (0 <= target_value <= MAX_COUNT and target_value == int(target_value)):
            raise BadUserInput(f"targetValue of {indicator.value} is a count (a whole number from 0 to {MAX_COUNT}), "
                               f"got {target_value}", argument="targetValue")
    value = None if target_value is None else Decimal(str(target_value)) if share else Decimal(int(target_value))
    async with hub.transaction() as tx:
        row = await tx.fetchrow("hub/plan_target_update", indicator.value, value, base_year, target_year, updated_by)
        if staged is not None:
            await staged(tx)
    return target_from_row(row)
