"""What labor adds to the hub (read by ``hub.assembly``): its root fields, its batch specs, its datasets, what
ingest accepts for them and the folding of its posting counters (``resolvers.labor.counters``, a task of the
app's lifespan)."""

from typing import Any

from hub.assembly import Contribution
from resolvers.labor import specs  # noqa: F401 - registers the batch specs of labor's joins
from resolvers.labor.counters import compaction_loop
from resolvers.labor.ingest import INGEST
from resolvers.labor.queries import LaborQuery


def fold_counters(db: Any, settings: Any):
    return compaction_loop(db, settings.counters_compact_seconds)


CONTRIBUTION = Contribution(
    ingest=INGEST,
    query=(LaborQuery,),
    dataset_types={
        "Occupation": "labor.occupations",
        "JobPosting": "labor.job_postings",
        "JobSeeker": "labor.job_seekers",
        "TrainingProgram": "labor.training_programs",
        "SkillCertificate": "labor.skill_certificates",
        "Apprenticeship": "labor.apprenticeships",
    },
    background=(fold_counters,),
)
