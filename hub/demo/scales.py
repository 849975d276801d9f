"""The demo data's scales (row counts per table) and its tables' columns, in load order per department."""

from __future__ import annotations

from typing import Sequence

from hub.demo import names as N

# --- scales --------------------------------------------------------------------------------------

_TABLE_COUNT_KEYS = (
    "commerce.industries", "commerce.enterprises", "commerce.parks", "commerce.investment_projects",
    "labor.occupations", "labor.job_postings", "labor.job_seekers", "labor.training_programs",
    "labor.skill_certificates", "labor.apprenticeships",
    "science.research_projects", "science.tech_transfers", "science.innovation_platforms",
    "education.schools", "education.majors",
)


def _industry_catalog() -> list[tuple[str, str, float]]:
    rows = []
    for line in N.INDUSTRY_CATALOG.strip().splitlines():
        parts = line.split()
        rows.append((parts[0], parts[1], float(parts[2]) if len(parts) > 2 else 1.0))
    return rows


CATALOG = _industry_catalog()
FULL_INDUSTRY_COUNT = len(N.SECTIONS) + len(CATALOG)


def _scale(values: Sequence[int]) -> dict[str, int]:
    return dict(zip(_TABLE_COUNT_KEYS, values))


# Row counts per table. Derived tables (hub.districts, education.major_outcomes, major_industries,
# major_occupations) follow from these; load_demo returns the counts of every table.
SCALES: dict[str, dict[str, int]] = {
    "small": _scale([60, 300, 5, 30, 120, 3_000, 2_000, 150, 300, 60, 120, 60, 30, 6, 40]),
    "medium": _scale([160, 3_000, 10, 300, 600, 30_000, 20_000, 1_500, 3_000, 600, 1_200, 600, 200, 16, 130]),
    "large": _scale([FULL_INDUSTRY_COUNT, 20_000, 20, 2_000, 1_500, 200_000, 150_000, 3_000, 20_000, 2_000,
                     3_000, 1_500, 500, 40, 300]),
}

# --- columns per table, in load order per department ---------------------------------------------

COLUMNS: dict[str, tuple[str, ...]] = {
    "hub.districts": ("code", "name", "parent_code"),
    "commerce.industries": ("id", "code", "name", "level", "parent_code"),
    "commerce.enterprises": ("id", "uscc", "name", "industry_code", "district_code", "size", "founded_on",
                             "integration"),
    "commerce.parks": ("id", "code", "name", "district_code", "area_hectares"),
    "commerce.investment_projects": ("id", "code", "name", "enterprise_uscc", "park_code", "amount_wan",
                                     "starts_on"),
    "labor.occupations": ("id", "code", "name", "major_group"),
    "labor.job_postings": ("id", "title", "enterprise_uscc", "occupation_code", "headcount", "wage_min", "wage_max",
                           "education", "skill_level", "district_code", "posted_on", "closes_on"),
    "labor.job_seekers": ("id", "name", "id_number", "phone", "gender", "birth_year", "education", "occupation_code",
                          "skill_level", "district_code", "registered_on", "left_on"),
    "labor.training_programs": ("id", "code", "name", "occupation_code", "provider", "provider_uscc", "seats",
                                "skill_level", "district_code", "starts_on", "ends_on"),
    "labor.skill_certificates": ("id", "certificate_no", "seeker_id", "occupation_code", "skill_level", "issued_on"),
    "labor.apprenticeships": ("id", "code", "enterprise_uscc", "occupation_code", "school_code", "apprentices",
                              "starts_on", "ends_on"),
    "science.research_projects": ("id", "code", "title", "lead_enterprise_uscc", "partner_school_code",
                                  "industry_code", "field", "budget_wan", "starts_on", "ends_on"),
    "science.tech_transfers": ("id", "code", "project_code", "title", "buyer_uscc", "amount_wan", "transferred_on"),
    "science.innovation_platforms": ("id", "code", "name", "kind", "level", "host_uscc", "host_school_code",
                                     "district_code", "established_on"),
    "education.schools": ("id", "code", "name", "kind", "district_code"),
    "education.majors": ("id", "code", "name", "school_code"),
    "education.major_outcomes": ("id", "major_id", "year", "enrollment", "graduates", "employed"),
    "education.major_industries": ("major_code", "industry_code"),
    "education.major_occupations": ("major_code", "occupation_code"),
}
