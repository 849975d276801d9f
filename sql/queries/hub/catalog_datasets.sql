-- The resource catalog: every dataset with its sharing class.
select name, department, graphql_type, title, sharing_class, update_cycle, description
from hub.datasets
order by name
