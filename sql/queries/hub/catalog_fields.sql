-- The resource catalog's fields with their sensitivity and masking rule.
select dataset, field, sensitivity, mask, description
from hub.dataset_fields
order by dataset, field
