-- Statistics refresh (forecasts): delete the forecasts and their backtest (inside the refresh transaction).
with accuracy as (delete from hub.stat_forecast_accuracy)
delete from hub.stat_forecasts
