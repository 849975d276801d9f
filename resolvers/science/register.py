"""What science adds to the hub (read by ``hub.assembly``): its root fields, its batch specs, its datasets and
what ingest accepts for them."""

from hub.assembly import Contribution
from resolvers.science import specs  # noqa: F401 - registers the batch specs of science's joins
from resolvers.science.ingest import INGEST
from resolvers.science.queries import ScienceQuery

CONTRIBUTION = Contribution(
    ingest=INGEST,
    query=(ScienceQuery,),
    dataset_types={
        "ResearchProject": "science.research_projects",
        "TechTransfer": "science.tech_transfers",
        "InnovationPlatform": "science.innovation_platforms",
    },
)
