-- Major-industry match of year $1 in district $2 (null: the whole city): a major's share of the graduates
-- of the district's schools / the share of the district's annual demand in the industries mapped to it;
-- status OVERSUPPLIED above $3, UNDERSUPPLIED below $4, else BALANCED (null when the index is undefined).
-- Graduates (a major's and the total) are exact when $5 (the reader owns them), else as the refresh stored them for
-- non-owners (hub.stat_graduate_cells: cell-key method, 0015_cell_key.sql, each count from its own records);
-- shares, index and status are computed from the counts shown.
with grads_exact as (
    select major_code, min(major_name) as major_name, sum(graduates)::bigint as graduates
    from hub.stat_major_outcomes
    where year = $1 and ($2::text is null or district_code = $2)
    group by major_code
), cells as (
    select major_code, public_graduates
    from hub.stat_graduate_cells
    where year = $1 and district_code is not distinct from $2::text
), grads as (
    select e.major_code, e.major_name, case when $5::boolean then e.graduates else c.public_graduates end as graduates
    from grads_exact e
    left join cells c on c.major_code = e.major_code
), grads_total as (
    select case when $5::boolean then (select coalesce(sum(graduates), 0)::bigint from grads_exact)
                else coalesce((select public_graduates from cells where major_code is null), 0) end as graduates
), demand as (
    select major_code, sum(demand)::bigint as demand
    from hub.stat_major_demand
    where year = $1 and ($2::text is null or district_code = $2)
    group by major_code
), demand_total as (
    select coalesce(sum(demand), 0)::bigint as demand
    from hub.stat_demand_industry
    where year = $1 and ($2::text is null or district_code = $2)
), mapped as (
    select mi.major_code,
           json_agg(json_build_object('code', mi.industry_code, 'name', i.name) order by mi.industry_code) as industries
    from hub.stat_major_industries mi
    left join hub.stat_industries i on i.code = mi.industry_code
    where mi.major_code in (select major_code from grads)
    group by mi.major_code
), figures as (
    select g.major_code, g.major_name, g.graduates, t.graduates as total_graduates,
           coalesce(d.demand, 0)::bigint as demand, dt.demand as total_demand, m.industries
    from grads g
    cross join grads_total t
    cross join demand_total dt
    left join demand d on d.major_code = g.major_code
    left join mapped m on m.major_code = g.major_code
)
select f.major_code, f.major_name, f.graduates, f.total_graduates, f.demand, f.total_demand,
       coalesce(f.industries::text, '[]') as industries,
       (f.graduates::numeric / nullif(f.total_graduates, 0))::float8 as graduates_share,
       (f.demand::numeric / nullif(f.total_demand, 0))::float8 as demand_share,
       ((f.graduates::numeric * f.total_demand) / nullif(f.total_graduates::numeric * f.demand, 0))::float8 as index,
       case when f.total_graduates = 0 or f.demand = 0 then null
            when f.graduates::numeric * f.total_demand > $3::numeric * f.total_graduates * f.demand
                then 'OVERSUPPLIED'
            when f.graduates::numeric * f.total_demand < $4::numeric * f.total_graduates * f.demand
                then 'UNDERSUPPLIED'
            else 'BALANCED' end as status
from figures f
order by f.major_code
