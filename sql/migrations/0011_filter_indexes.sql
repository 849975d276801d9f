-- Indexes for the remaining API filters (each with id, for keyset pages under the filter).
create index enterprises_size_idx on commerce.enterprises (size, id);
create index investment_projects_starts_on_idx on commerce.investment_projects (starts_on, id);
create index occupations_major_group_idx on labor.occupations (major_group, id);
create index job_postings_education_idx on labor.job_postings (education, id);
create index skill_certificates_skill_level_idx on labor.skill_certificates (skill_level, id);
create index schools_kind_idx on education.schools (kind, id);
create index innovation_platforms_level_idx on science.innovation_platforms (level, id);

-- Foreign keys of the governance tables.
create index grants_revoked_by_idx on hub.grants (revoked_by);
create index access_requests_reviewed_by_idx on hub.access_requests (reviewed_by);
