-- Statistics refresh: the national vocational major catalog.
select code, name, category from education.major_catalog
