-- The demo-data marker written by the seeder (null when no demo data was loaded).
select value from hub.meta where key = 'demo_data'
