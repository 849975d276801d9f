-- Statistics refresh: the installation's secret behind the record keys of the cell-key method (0015_cell_key.sql).
select secret from hub.stat_cell_key_secret
