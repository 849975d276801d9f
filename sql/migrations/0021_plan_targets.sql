-- Issue 16: the district plan's numeric targets, in the bureau's own schema. Seeded with the plan's values
-- (by 2022: 35 key major groups, 12 double bases, 35 industry-education training bases, 35 shortage-industry
-- specialty majors, 24 modern-apprenticeship majors, 1 city-level high-standard vocational school; by 2025:
-- dual-qualified teachers >= 60 % of specialty teachers; certified integration enterprises: no number), editable
-- by an admin (mutation setPlanTarget, audited like every operation). A status (MET / ON_TRACK / BEHIND) compares
-- the measured value with the linear trajectory from the value at the end of base_year to target_value at the end
-- of target_year (docs/statistics.md); an indicator without target_value has no status.
create table hub.plan_targets (
    indicator text primary key check (indicator in ('KEY_MAJOR_GROUPS', 'DOUBLE_BASES', 'TRAINING_BASES',
        'SHORTAGE_SPECIALTY_MAJORS', 'APPRENTICESHIP_MAJORS', 'CITY_HIGH_STANDARD_SCHOOLS', 'DUAL_QUALIFIED_SHARE',
        'CERTIFIED_INTEGRATION_ENTERPRISES')),
    position smallint not null unique,  -- order of the plan's list
    unit text not null check (unit in ('COUNT', 'SHARE')),
    target_value numeric check (target_value >= 0 and (unit = 'COUNT' or target_value <= 1)),
    base_year smallint not null check (base_year between 2015 and 2100),
    target_year smallint not null check (target_year between 2015 and 2100),
    updated_at timestamptz not null default now(),
    updated_by text not null default 'plan (migration 0021)',
    check (target_year >= base_year)
);

insert into hub.plan_targets (indicator, position, unit, target_value, base_year, target_year) values
  ('KEY_MAJOR_GROUPS', 1, 'COUNT', 35, 2020, 2022),
  ('DOUBLE_BASES', 2, 'COUNT', 12, 2020, 2022),
  ('TRAINING_BASES', 3, 'COUNT', 35, 2020, 2022),
  ('SHORTAGE_SPECIALTY_MAJORS', 4, 'COUNT', 35, 2020, 2022),
  ('APPRENTICESHIP_MAJORS', 5, 'COUNT', 24, 2020, 2022),
  ('CITY_HIGH_STANDARD_SCHOOLS', 6, 'COUNT', 1, 2020, 2022),
  ('DUAL_QUALIFIED_SHARE', 7, 'SHARE', 0.60, 2020, 2025),
  ('CERTIFIED_INTEGRATION_ENTERPRISES', 8, 'COUNT', null, 2020, 2025);
