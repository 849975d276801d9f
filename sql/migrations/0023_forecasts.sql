-- Demand and supply forecasts and their backtest (issue 16; docs/statistics.md, "Forecasts"), fitted by the
-- statistics refresh (resolvers.analytics.forecast_refresh) from hub.stat_supply_demand and replaced inside its transaction like
-- every summary table. Never fitted per request.

-- One row per series and forecast quarter: an occupation city-wide (district_code null) or in a district (only
-- series with enough history), for the quarters after the latest complete quarter of data (step 1, 2, ...).
-- demand_*: fitted on demand (postings' headcount, not a person count: one view for everyone);
-- supply_*: fitted on the exact supply (what labor, the owner of the seekers, is shown);
-- public_supply_*: fitted on the supply non-owners are shown (the cell-key perturbed quarterly values), so
-- everything a non-owner sees of a forecast is computed from figures already published to it.
create table hub.stat_forecasts (
    occupation_code text not null,
    district_code text,
    step smallint not null check (step between 1 and 8),
    year smallint not null,
    quarter smallint not null check (quarter between 1 and 4),
    history smallint not null,  -- quarters of data the models were fitted on
    demand double precision not null,
    demand_lo80 double precision not null,
    demand_hi80 double precision not null,
    demand_lo95 double precision not null,
    demand_hi95 double precision not null,
    supply double precision not null,
    supply_lo80 double precision not null,
    supply_hi80 double precision not null,
    supply_lo95 double precision not null,
    supply_hi95 double precision not null,
    public_supply double precision not null,
    public_supply_lo80 double precision not null,
    public_supply_hi80 double precision not null,
    public_supply_lo95 double precision not null,
    public_supply_hi95 double precision not null
);
create unique index stat_forecasts_series_idx
    on hub.stat_forecasts (occupation_code, coalesce(district_code, ''), step);
create index stat_forecasts_district_idx on hub.stat_forecasts (district_code, occupation_code, step);

-- Rolling-origin backtest per occupation (city-wide) and measure; occupation_code null: the overall figure (mean
-- over occupations). Supply is backtested on the published (perturbed) series, so one table serves every reader.
create table hub.stat_forecast_accuracy (
    measure text not null check (measure in ('DEMAND', 'SUPPLY')),
    occupation_code text,
    mase double precision not null,        -- the model's mean absolute scaled error
    mase_naive double precision not null,  -- the seasonal-naive forecast's, on the same origins and quarters
    origins integer not null,
    points integer not null
);
create unique index stat_forecast_accuracy_idx
    on hub.stat_forecast_accuracy (measure, coalesce(occupation_code, ''));
