-- Statistics refresh: the years of the summary rows.
select distinct year from hub.stat_supply_demand order by year
