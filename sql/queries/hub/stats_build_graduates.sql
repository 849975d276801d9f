-- Statistics refresh: graduates as non-owners see them (cell-key method, 0015_cell_key.sql): every school major's
-- year (graduates, employed), and the cells of the major-industry match: per district and major, per district,
-- per major (the city) and in all, each perturbed from its own records' key sum. hub.disclosure.protect then
-- moves any value a reader could pin (stats_graduates_protect_*).
with outcomes as (
    update hub.stat_major_outcomes
    set public_graduates = hub.stat_perturbed(graduates, graduates_key),
        public_employed = hub.stat_perturbed(employed, employed_key)
    returning 1
)
insert into hub.stat_graduate_cells (year, district_code, major_code, graduates, public_graduates)
select year, district_code, major_code, sum(graduates)::bigint,
       hub.stat_perturbed(sum(graduates)::bigint, (sum(graduates_key) % 4294967296)::bigint)
from hub.stat_major_outcomes
group by year, grouping sets ((district_code, major_code), (district_code), (major_code), ())
