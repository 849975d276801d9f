-- Statistics refresh: planner statistics of the previous release just copied (stats_keep_previous), so that the
-- protection's reads join it by hashing.
analyze hub.stat_stage_previous_supply, hub.stat_stage_previous_graduates
