"""education DataLoaders of the plan's sources (issue 16): one statement per batch on the education pool."""

from __future__ import annotations

from hub.api.loaders import ManyByKeyLoader, PageByKeyLoader
from resolvers.education.plan_types import base_from_row, major_designation_from_row, school_designation_from_row


class TeachersBySchoolLoader(PageByKeyLoader):
    """Keys: (school code, fetch, after id, dual-qualified filter)."""

    dept, query, key_column = "education", "education/specialty_teachers_by_school", "school_code"


class BasesBySchoolLoader(ManyByKeyLoader):
    dept, query, key_column = "education", "education/school_enterprise_bases_by_school", "school_code"
    convert = staticmethod(base_from_row)


class BasesByEnterpriseLoader(ManyByKeyLoader):
    """Keyed by commerce's USCC (no foreign key across departments)."""

    dept, query, key_column = "education", "education/school_enterprise_bases_by_enterprise", "enterprise_uscc"
    convert = staticmethod(base_from_row)


class DesignationsByMajorLoader(ManyByKeyLoader):
    """Keyed by the major's internal id (a school's offering)."""

    dept, query, key_column = "education", "education/major_designations_by_major", "major_id"
    convert = staticmethod(major_designation_from_row)


class SchoolDesignationsBySchoolLoader(ManyByKeyLoader):
    dept, query, key_column = "education", "education/school_designations_by_school", "school_code"
    convert = staticmethod(school_designation_from_row)
