-- Statistics refresh: delete every summary table's rows (inside the refresh transaction: readers keep seeing
-- the previous figures until it commits, and are never blocked).
with occupations as (delete from hub.stat_occupations),
     industries as (delete from hub.stat_industries),
     enterprises as (delete from hub.stat_enterprise_sections),
     supply_demand as (delete from hub.stat_supply_demand),
     demand_industry as (delete from hub.stat_demand_industry),
     outcomes as (delete from hub.stat_major_outcomes),
     major_industries as (delete from hub.stat_major_industries),
     major_demand as (delete from hub.stat_major_demand),
     graduate_cells as (delete from hub.stat_graduate_cells),
     major_catalog as (delete from hub.stat_major_catalog),
     major_occupations as (delete from hub.stat_major_occupations)
delete from hub.stat_training
