"""What the big-data bureau adds to the hub (read by ``hub.assembly``): the catalog, grants, audit and sync fields.
Its tables are the hub's own (schema ``hub``), not a dataset of the catalog."""

from hub.assembly import Contribution
from resolvers.bigdata.audit import AuditQuery
from resolvers.bigdata.catalog import CatalogQuery
from resolvers.bigdata.grants import GrantMutation, GrantQuery
from resolvers.bigdata.sync import SyncMutation, SyncQuery, SyncSubscription

CONTRIBUTION = Contribution(
    query=(CatalogQuery, GrantQuery, AuditQuery, SyncQuery),
    mutation=(GrantMutation, SyncMutation),
    subscription=(SyncSubscription,),
)
