"""Demo data behind the plan's indicators (issue 16), generated with the rest of the demo data (``hub.demo.seed``;
columns in ``hub.demo.scales.COLUMNS``).

education: specialty teachers per school (the dual-qualified share rises from about 45 % in 2020 towards the
plan's 60 %, a little short of it in 2025), the school-enterprise bases, the major and school designations;
commerce: the year each industry-education integration enterprise was certified. The designation and base
numbers are the district's, not the scale's (the plan's targets are absolute): by 2022 the demo district is short
of the key-major-group and double-base targets, meets the training-base, shortage-specialty and high-standard
school targets, and reaches the apprenticeship target later — so every status occurs. Teacher counts grow with
the scale (a school has about 30 teachers at ``small``, 60 at ``large``), one school has only one or two (small
cells for the disclosure control).

``extend(gen)`` is called once by ``hub.demo.seed.Generator.run`` after every other table is generated; like the rest, a pure
function of the scale and the seed (its own random generators, so the other tables do not change).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from hub.demo import names as N
from hub.demo import random_data as R

if TYPE_CHECKING:
    from hub.demo.seed import Generator

# How many of each are designated or established per year (the district's own pace, any scale).
MAJOR_DESIGNATIONS = {  # kind -> {year: number}
    "KEY_GROUP": {2019: 8, 2020: 9, 2021: 7, 2022: 6, 2023: 4, 2024: 3},          # 30 by 2022 (target 35)
    "SHORTAGE_SPECIALTY": {2019: 10, 2020: 10, 2021: 9, 2022: 7, 2024: 2},        # 36 by 2022 (target 35)
    "APPRENTICESHIP": {2020: 5, 2021: 7, 2022: 6, 2023: 4, 2024: 3, 2025: 1},     # 18 by 2022, 26 by 2025 (24)
}
BASES = {
    "DOUBLE_BASE": {2020: 3, 2021: 4, 2022: 3, 2023: 2, 2024: 1},                # 10 by 2022 (target 12)
    "TRAINING_BASE": {2019: 6, 2020: 9, 2021: 11, 2022: 10, 2023: 3, 2025: 2},   # 36 by 2022 (target 35)
}
HIGH_STANDARD_YEAR = 2021
TEACHERS_PER_SCHOOL = {"small": 30, "medium": 45, "large": 60}
TINY_SCHOOLS = 1  # schools with one or two specialty teachers
CERTIFIED_SHARE = 0.9  # of the integration enterprises, those whose certification year the register keeps
CERTIFIED_YEARS = {2019: 1.0, 2020: 1.5, 2021: 2.0, 2022: 2.5, 2023: 3.0, 2024: 3.0, 2025: 2.5}


def extend(gen: "Generator") -> None:
    """Add the plan's tables to ``gen.data`` and the certification year to every enterprise row."""
    _certified(gen)
    _teachers(gen)
    _bases(gen)
    _designations(gen)


def _certified(gen: "Generator") -> None:
    rng = gen.rng("plan.certified")
    year_pick = R.Picker(list(CERTIFIED_YEARS), list(CERTIFIED_YEARS.values()))
    rows = []
    for row in gen.data["commerce.enterprises"]:
        integration = row[7]
        year = year_pick(rng) if integration and rng.random() < CERTIFIED_SHARE else None
        rows.append((*row, year))
    gen.data["commerce.enterprises"] = rows


def _teachers(gen: "Generator") -> None:
    rng = gen.rng("plan.teachers")
    mean = TEACHERS_PER_SCHOOL.get(gen.scale, 30)
    majors_of: dict[str, list[str]] = {}
    for _, code, _, school in gen.major_rows:
        majors_of.setdefault(school, []).append(code)
    surname_pick = R.Picker([s for s, _ in N.SURNAMES], [w for _, w in N.SURNAMES])
    chars = N.GIVEN_FEMALE + N.GIVEN_MALE + N.GIVEN_ANY
    # the year a qualified teacher became dual-qualified: most by 2020 (about 45 % of the staff), then 2-3 % more
    # of the staff each year (a teacher hired later qualifies at the earliest the year of hiring)
    year_pick = R.Picker(list(range(2010, 2026)), [0.7] * 11 + [0.25] * 5)
    schools = gen.school_rows
    tiny = {s[1] for s in schools[-TINY_SCHOOLS:]} if len(schools) > TINY_SCHOOLS + 2 else set()
    rows: list[tuple[Any, ...]] = []
    for school in schools:
        code = school[1]
        count = rng.randint(1, 2) if code in tiny else max(3, int(rng.lognormvariate(0, 0.3) * mean))
        qualified = 0.58 + rng.uniform(-0.12, 0.12)  # some schools are ahead of the plan, some behind
        for _ in range(count):
            hired = R.date_in_year(rng, rng.randint(2000, 2025))
            left = hired + dt.timedelta(days=rng.randint(200, 6000)) if rng.random() < 0.2 else None
            if left is not None and left.year > 2025:
                left = None
            since = max(year_pick(rng), hired.year) if rng.random() < qualified else None
            name = surname_pick(rng) + rng.choice(chars) + (rng.choice(chars) if rng.random() < 0.7 else "")
            major = rng.choice(majors_of[code]) if code in majors_of and rng.random() < 0.95 else None
            rows.append((len(rows) + 1, f"T{len(rows) + 1:08d}", name, code, major, since, hired, left))
    gen.data["education.specialty_teachers"] = rows


def _bases(gen: "Generator") -> None:
    rng = gen.rng("plan.bases")
    schools = [s for s in gen.school_rows]
    partners = [r for r in gen.data["commerce.enterprises"] if r[7]] or gen.data["commerce.enterprises"]
    rows = []
    for kind, per_year in BASES.items():
        for year, n in per_year.items():
            for _ in range(n):
                school = rng.choice(schools)
                enterprise = rng.choice(partners)
                label = "校企双基地" if kind == "DOUBLE_BASE" else "产教融合实训基地"
                name = f"{school[2]}{enterprise[2].removeprefix('广州市')[:4]}{label}"
                rows.append((len(rows) + 1, f"SEB{len(rows) + 1:05d}", name, kind, school[1], enterprise[1], year))
    gen.data["education.school_enterprise_bases"] = rows


def _designations(gen: "Generator") -> None:
    rng = gen.rng("plan.designations")
    offerings = [(m[3], m[1]) for m in gen.major_rows]  # (school code, major code)
    rows = []
    for kind, per_year in MAJOR_DESIGNATIONS.items():
        pool = list(offerings)
        rng.shuffle(pool)
        for year, n in per_year.items():
            for _ in range(min(n, len(pool))):
                school, major = pool.pop()
                rows.append((len(rows) + 1, school, major, kind, year))
    gen.data["education.major_designations"] = rows
    secondary = [s for s in gen.school_rows if s[3] == "SECONDARY_VOCATIONAL"] or gen.school_rows
    gen.data["education.school_designations"] = [(1, rng.choice(secondary)[1], "CITY_HIGH_STANDARD",
                                                  HIGH_STANDARD_YEAR)]
