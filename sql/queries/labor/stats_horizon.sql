-- Statistics refresh: the last year in which labor registered postings or seekers; open postings (no
-- closes_on) and seekers still seeking (no left_on) count up to its end.
select coalesce(greatest(
    (select max(extract(year from posted_on)) from labor.job_postings),
    (select max(extract(year from registered_on)) from labor.job_seekers)
), extract(year from current_date))::int as horizon
