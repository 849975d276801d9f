-- Enrollment guidance (issue 16; docs/statistics.md, "Enrollment guidance"): what the statistics refresh copies
-- from education (the national major catalog, the major -> occupation mappings) and the demand forecasts per
-- industry class it fits, so that the guidance is computed from the hub's own tables like every published figure.

create table hub.stat_major_catalog (
    code text primary key,
    name text not null,
    category text not null
);

create table hub.stat_major_occupations (
    major_code text not null,
    occupation_code text not null,
    primary key (major_code, occupation_code)
);
create index stat_major_occupations_occupation_idx on hub.stat_major_occupations (occupation_code, major_code);

-- Demand per industry class (the posting enterprise's GB/T 4754 class, commerce's map) city-wide (district_code
-- null) and per district with enough history: the latest 4 complete quarters' actual demand and the forecast of
-- the 4 quarters after them (ETS, as hub.stat_forecasts; point forecasts).
create table hub.stat_industry_forecasts (
    industry_code text not null,
    district_code text,
    last_year_demand double precision not null,
    forecast_demand double precision not null
);
create unique index stat_industry_forecasts_idx
    on hub.stat_industry_forecasts (coalesce(district_code, ''), industry_code);
