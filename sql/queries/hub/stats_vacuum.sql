-- Statistics refresh: reclaim the previous figures' rows and update planner statistics (never blocks readers).
vacuum (analyze) hub.stat_occupations, hub.stat_industries, hub.stat_enterprise_sections, hub.stat_supply_demand,
    hub.stat_demand_industry, hub.stat_major_outcomes, hub.stat_major_industries, hub.stat_major_demand,
    hub.stat_training, hub.stat_graduate_cells
