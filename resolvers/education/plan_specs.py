"""Batch specs of the join fields of education's plan sources (issue 16; see hub.specs)."""

from __future__ import annotations

from hub.api.specs import ByKey, Many, Page
from resolvers.commerce.loaders import EnterpriseByUsccLoader
from resolvers.education.loaders import SchoolByCodeLoader
from resolvers.education.plan_loaders import (
    BasesByEnterpriseLoader, BasesBySchoolLoader, DesignationsByMajorLoader, SchoolDesignationsBySchoolLoader,
    TeachersBySchoolLoader,
)
from resolvers.education.plan_types import SpecialtyTeacherConnection, teacher_from_row

SCHOOL_TEACHERS = Page("School", "specialtyTeachers", loader=TeachersBySchoolLoader, key="code",
                       filters=("dual_qualified",), connection=SpecialtyTeacherConnection, convert=teacher_from_row)
Many("School", "enterpriseBases", loader=BasesBySchoolLoader, key="code")
Many("School", "designations", loader=SchoolDesignationsBySchoolLoader, key="code")
Many("Major", "designations", loader=DesignationsByMajorLoader, key="id")
Many("Enterprise", "schoolBases", loader=BasesByEnterpriseLoader, key="uscc")
ByKey("SchoolEnterpriseBase", "enterprise", loader=EnterpriseByUsccLoader, key="enterprise_uscc")
for _type in ("SpecialtyTeacher", "SchoolEnterpriseBase", "MajorDesignation", "SchoolDesignation"):
    ByKey(_type, "school", loader=SchoolByCodeLoader, key="school_code")
