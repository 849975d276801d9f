-- Published statistics (DESIGN.md, "Policy outputs"): summary tables in the hub's own schema, refreshed
-- by hub.statistics.refresh_statistics from each department's own pool (no cross-schema join, so they
-- work when departments live in separate databases), and published report versions, frozen forever.
--
-- Refresh: department aggregates are COPYed into the unlogged stat_stage_* tables, then every summary
-- table is replaced (delete + insert) inside ONE transaction: readers never block and never see half a
-- refresh. Thresholds are not baked in: the queries apply them (settings), so the tables hold raw figures.

-- Staging, written and read only by a refresh (which holds an advisory lock).
create unlogged table hub.stat_stage_demand (
    year smallint not null,
    quarter smallint not null,
    occupation_code text not null,
    district_code text not null,
    skill_level smallint,
    enterprise_uscc text not null,
    demand bigint not null
);

create unlogged table hub.stat_stage_supply (
    year smallint not null,
    quarter smallint not null,
    occupation_code text not null,
    district_code text not null,
    skill_level smallint,
    supply bigint not null,       -- seekers counted in the quarter
    new_persons bigint not null   -- of those, seekers counted for the first time in the year
);

-- One row per refresh: when, and the data watermark of every source it read.
create table hub.stat_refreshes (
    id bigint generated always as identity primary key,
    started_at timestamptz not null,
    refreshed_at timestamptz not null default now(),
    watermark jsonb not null check (jsonb_typeof(watermark) = 'object')
);

-- Names (labor's occupations, commerce's industries with their GB/T 4754 section).
create table hub.stat_occupations (
    code text primary key,
    name text not null
);

create table hub.stat_industries (
    code text primary key,
    name text not null,
    level smallint not null,
    section text
);

-- Commerce's enterprises: unified social credit code -> industry class and section.
create table hub.stat_enterprise_sections (
    uscc text primary key,
    industry_code text not null,
    section text
);

-- Job-to-applicant figures pre-aggregated for every combination of grouped dimensions.
-- dims: bit mask of the grouped dimensions, 1 occupation, 2 district, 4 skill level, 8 industry
-- section, 16 quarter (a dimension outside the mask is summed over: its column is null). Within a
-- grouped dimension null means "not stated" (skill level) or "enterprise unknown to commerce" (section).
-- supply and persons are null when the section is grouped: seekers seek an occupation, not an industry.
-- persons: distinct seekers behind supply (= supply per quarter; each seeker once per year otherwise).
create table hub.stat_supply_demand (
    year smallint not null,
    dims smallint not null check (dims between 0 and 31),
    occupation_code text,
    district_code text,
    skill_level smallint,
    section text,
    quarter smallint check (quarter between 1 and 4),
    demand bigint not null,
    supply bigint,
    persons bigint
);
create index stat_supply_demand_lookup_idx
    on hub.stat_supply_demand (year, dims, occupation_code, district_code, skill_level, section, quarter);

-- Annual demand per district and enterprise industry class (the major-industry match's denominator).
create table hub.stat_demand_industry (
    year smallint not null,
    district_code text not null,
    industry_code text,
    section text,
    demand bigint not null
);
create index stat_demand_industry_year_idx on hub.stat_demand_industry (year, district_code);

-- Education's majors: yearly outcomes per school offering, with the school's district.
create table hub.stat_major_outcomes (
    year smallint not null,
    major_code text not null,
    major_name text not null,
    school_code text not null,
    school_name text not null,
    district_code text not null,
    enrollment integer not null,
    graduates integer not null,
    employed integer not null,
    primary key (year, school_code, major_code)
);
create index stat_major_outcomes_major_idx on hub.stat_major_outcomes (major_code, school_code, year);

create table hub.stat_major_industries (
    major_code text not null,
    industry_code text not null,
    primary key (major_code, industry_code)
);

-- Annual demand per district in the industries mapped to each major (a posting counts once per major
-- even when two of the major's industries contain its enterprise's class).
create table hub.stat_major_demand (
    year smallint not null,
    district_code text not null,
    major_code text not null,
    demand bigint not null,
    primary key (year, major_code, district_code)
);

-- Training programs running in a year, per occupation.
create table hub.stat_training (
    year smallint not null,
    occupation_code text not null,
    programs integer not null,
    seats bigint not null,
    providers text[] not null,
    primary key (year, occupation_code)
);

-- Published report versions: the year's figures frozen with the refresh (and its watermark) they were
-- computed from. Append-only: a later refresh or data change never alters a published version.
create table hub.stat_publications (
    year smallint not null check (year between 2000 and 2100),
    version integer not null check (version >= 1),
    published_at timestamptz not null default now(),
    published_by text not null,
    refresh_id bigint not null references hub.stat_refreshes (id),
    watermark jsonb not null,
    thresholds jsonb not null,
    figures jsonb not null check (jsonb_typeof(figures) = 'object'),
    primary key (year, version)
);
create index stat_publications_refresh_id_idx on hub.stat_publications (refresh_id, year, version);

create function hub.stat_publications_refuse() returns trigger
language plpgsql as $$
begin
  raise exception 'hub.stat_publications is append-only'
    using errcode = '2F003', hint = 'a published report version cannot be changed; publish a new version';
end
$$;

create trigger stat_publications_no_update before update on hub.stat_publications
  for each row execute function hub.stat_publications_refuse();
create trigger stat_publications_no_delete before delete on hub.stat_publications
  for each row execute function hub.stat_publications_refuse();
create trigger stat_publications_no_truncate before truncate on hub.stat_publications
  for each statement execute function hub.stat_publications_refuse();
