-- Statistics refresh: occupation names.
select code, name from labor.occupations
