-- Statistics refresh: statement timeout $1 and work_mem $2 for the current transaction only (the refresh's
-- aggregations run longer than an API statement). Touches no table: used on every department's connection.
select set_config('statement_timeout', $1, true), set_config('work_mem', $2, true)
