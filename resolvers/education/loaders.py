"""education DataLoaders: one statement per batch on the education pool."""

from __future__ import annotations

from hub.api.loaders import ByKeyLoader, ManyByKeyLoader, row_converter
from resolvers.education.types import Major, School, major_outcome_from_row


class SchoolByCodeLoader(ByKeyLoader):
    dept, query, key_column = "education", "education/schools_by_code", "code"
    convert = staticmethod(row_converter(School))


class MajorsBySchoolLoader(ManyByKeyLoader):
    dept, query, key_column = "education", "education/majors_by_school", "school_code"
    convert = staticmethod(row_converter(Major))


class MajorsByCodeLoader(ManyByKeyLoader):
    """Every school's offering of a catalog major code, in school-code order."""

    dept, query, key_column = "education", "education/majors_by_code", "code"
    convert = staticmethod(row_converter(Major))


class MajorsByIndustryLoader(ManyByKeyLoader):
    """Majors whose catalog code is mapped to this numeric industry code, a class below it or above it."""

    dept, query, key_column = "education", "education/majors_by_industry", "industry_key"
    convert = staticmethod(row_converter(Major))


class IndustryCodesByMajorLoader(ManyByKeyLoader):
    """Catalog major code -> GB/T 4754 industry codes (commerce's codes; resolve with IndustryByCodeLoader)."""

    dept, query, key_column = "education", "education/industry_codes_by_major", "major_code"
    convert = staticmethod(lambda r: r["industry_code"])


class OccupationCodesByMajorLoader(ManyByKeyLoader):
    """Catalog major code -> occupation codes (labor's codes; resolve with OccupationByCodeLoader)."""

    dept, query, key_column = "education", "education/occupation_codes_by_major", "major_code"
    convert = staticmethod(lambda r: r["occupation_code"])


class OutcomesByMajorLoader(ManyByKeyLoader):
    """Keyed by the major's internal id; outcomes in year order."""

    dept, query, key_column = "education", "education/outcomes_by_major", "major_id"
    convert = staticmethod(major_outcome_from_row)
