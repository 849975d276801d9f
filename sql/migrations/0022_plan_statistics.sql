-- Issue 16: the measured values of the plan's indicators, filled by the statistics refresh (resolvers.analytics.plan_refresh)
-- from the owners' pools (education's designations, bases and teachers; commerce's certified enterprises), never
-- by a join across departments. Values are cumulative as of each year's end.
create table hub.stat_plan_counts (
    indicator text not null,
    year smallint not null,
    value bigint not null,
    primary key (indicator, year)
);

-- Specialty teachers on a school's staff on 31 December of the year, and the dual-qualified among them, with the
-- key sums of the cell-key method (sql/migrations/0015_cell_key.sql) and the values non-owners see; school_code
-- null: the whole city (the sum of the schools).
create table hub.stat_plan_teachers (
    year smallint not null,
    school_code text,
    school_name text,
    district_code text,
    teachers bigint not null,
    teachers_key bigint not null,
    dual bigint not null,
    dual_key bigint not null,
    public_teachers bigint,
    public_dual bigint
);
create unique index stat_plan_teachers_idx on hub.stat_plan_teachers (year, school_code) nulls not distinct;
