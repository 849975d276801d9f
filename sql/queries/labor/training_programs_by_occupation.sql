-- First N training programs per occupation code (TrainingProgramsByOccupationLoader).
select t.*
from unnest($1::text[]) as k(code)
cross join lateral (
    select id, code, name, occupation_code, provider, provider_uscc, seats, skill_level, district_code, starts_on, ends_on
    from labor.training_programs
    where occupation_code = k.code and id > $2
    order by id
    limit $3
) t
