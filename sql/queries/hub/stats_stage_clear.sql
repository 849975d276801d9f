-- Statistics refresh: empty the staging tables (only a refresh, under its lock, uses them).
truncate hub.stat_stage_demand, hub.stat_stage_supply, hub.stat_stage_previous_supply,
    hub.stat_stage_previous_graduates
