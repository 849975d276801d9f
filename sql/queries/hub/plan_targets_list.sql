-- The plan's targets (hub.plan_targets), in the plan's order.
select indicator, position, unit, target_value, base_year, target_year, updated_at, updated_by
from hub.plan_targets
order by position
