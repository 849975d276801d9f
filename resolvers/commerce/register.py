"""What commerce adds to the hub (read by ``hub.assembly``): its root fields, its batch specs, its datasets and
what ingest accepts for them."""

from hub.assembly import Contribution
from resolvers.commerce import specs  # noqa: F401 - registers the batch specs of commerce's joins
from resolvers.commerce.ingest import INGEST
from resolvers.commerce.queries import CommerceQuery

CONTRIBUTION = Contribution(
    ingest=INGEST,
    query=(CommerceQuery,),
    dataset_types={
        "Industry": "commerce.industries",
        "Enterprise": "commerce.enterprises",
        "Park": "commerce.parks",
        "InvestmentProject": "commerce.investment_projects",
    },
)
