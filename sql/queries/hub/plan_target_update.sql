-- An admin's change of plan target $1: value $2 (null: no number), base year $3, target year $4, by $5.
update hub.plan_targets
set target_value = $2, base_year = $3, target_year = $4, updated_at = now(), updated_by = $5
where indicator = $1
returning indicator, position, unit, target_value, base_year, target_year, updated_at, updated_by
