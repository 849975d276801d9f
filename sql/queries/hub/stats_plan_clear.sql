-- Statistics refresh: delete the plan indicators' measured values (inside the refresh transaction).
with counts as (delete from hub.stat_plan_counts)
delete from hub.stat_plan_teachers
