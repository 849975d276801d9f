"""What education adds to the hub (read by ``hub.assembly``): its root fields, its batch specs, its datasets and
what ingest accepts for them."""

from hub.assembly import Contribution
from resolvers.education import specs  # noqa: F401 - registers the batch specs of education's joins
from resolvers.education.ingest import INGEST
from resolvers.education.catalog import MajorCatalogQuery
from resolvers.education.plan_queries import EducationPlanQuery
from resolvers.education.queries import EducationQuery

CONTRIBUTION = Contribution(
    ingest=INGEST,
    query=(EducationQuery, MajorCatalogQuery, EducationPlanQuery),
    dataset_types={
        "School": "education.schools",
        "Major": "education.majors",
        "MajorOutcome": "education.major_outcomes",
        "MajorCatalogEntry": "education.major_catalog",
        "SpecialtyTeacher": "education.specialty_teachers",
        "SchoolEnterpriseBase": "education.school_enterprise_bases",
        "MajorDesignation": "education.major_designations",
        "SchoolDesignation": "education.school_designations",
    },
)
