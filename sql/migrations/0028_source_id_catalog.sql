-- The source system's identifier of a record (source_id, ingest's natural key for job postings and job seekers,
-- migration 0009) goes out with every row of the sync snapshot and change feed, in delete tombstones and in an
-- ingest's rejected input, but was not in the catalog, so it was never masked: a labor system may well identify a
-- job seeker's registration by the person's identity number (or a number built from it), which a reader who sees
-- idNumber masked then read in clear, and could link to that person in any other data it holds.
-- A job seeker's sourceId is now a PERSONAL field, masked whole (mask SOURCE_ID, hub/governance/masking.py) for every
-- reader but the owner unless its grant names it; a posting's is PUBLIC (an enterprise's vacancy, no person).
-- GraphQL does not expose source_id: the field is read through /sync and ingest reports only.
alter table hub.dataset_fields drop constraint dataset_fields_mask_check;
alter table hub.dataset_fields add constraint dataset_fields_mask_check
    check (mask in ('PERSON_NAME', 'ID_NUMBER', 'PHONE', 'SOURCE_ID'));

insert into hub.dataset_fields (dataset, field, sensitivity, mask, description) values
  ('labor.job_seekers', 'sourceId', 'PERSONAL', 'SOURCE_ID',
   'The source system''s identifier of the registration (sync and ingest only; not in GraphQL). It may be or '
   'contain the person''s identity number: masked whole unless a grant names it.'),
  ('labor.job_postings', 'sourceId', 'PUBLIC', null,
   'The source system''s identifier of the posting (sync and ingest only; not in GraphQL).');
