-- The resource catalog's arguments: which dataset fields each argument of a dataset-reading field filters
-- or orders on (hub.access refuses one touching a personal field the reader sees masked).
select parent_type, field, argument, dataset, fields, description
from hub.dataset_arguments
order by parent_type, field, argument
