-- Statistics refresh (forecasts): delete the forecasts (occupations, industries) and their backtest (inside the refresh transaction).
with accuracy as (delete from hub.stat_forecast_accuracy),
     industries as (delete from hub.stat_industry_forecasts)
delete from hub.stat_forecasts
