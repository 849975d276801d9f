"""What education adds to the hub (read by ``hub.assembly``): its root fields, its batch specs, its datasets and
what ingest accepts for them."""

from hub.assembly import Contribution
from resolvers.education import specs  # noqa: F401 - registers the batch specs of education's joins
from resolvers.education.ingest import INGEST
from resolvers.education.queries import EducationQuery

CONTRIBUTION = Contribution(
    ingest=INGEST,
    query=(EducationQuery,),
    dataset_types={
        "School": "education.schools",
        "Major": "education.majors",
        "MajorOutcome": "education.major_outcomes",
    },
)
