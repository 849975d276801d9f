-- Statistics refresh: planner statistics of the freshly staged department aggregates.
analyze hub.stat_stage_demand, hub.stat_stage_supply
