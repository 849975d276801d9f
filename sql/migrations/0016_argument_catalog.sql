-- Issue 12: filters never reveal a masked value; masked ID numbers keep their entropy.
--
-- hub.dataset_arguments records, for every argument of every GraphQL field that reads a catalog dataset
-- (root fields and joins alike), which of the dataset's fields (GraphQL names, any sensitivity) the
-- argument filters or orders on; '{}' means none (e.g. `first`). An argument that filters or orders on
-- a PERSONAL field is accepted only from readers who see that field in clear (the owning department, or
-- a grant naming the field); any other reader gets FORBIDDEN naming the field before any SQL runs
-- (hub.access, on the general and the compiled path). Every argument has a row: a test fails on one
-- without, and the hub treats an unrecorded argument as touching every personal field of its dataset.
create table hub.dataset_arguments (
    parent_type text not null,  -- the GraphQL type holding the field ('Query' for root fields)
    field text not null,        -- the GraphQL field that reads the dataset
    argument text not null,     -- the GraphQL argument name
    dataset text not null references hub.datasets (name),
    fields text[] not null default '{}',  -- the dataset fields the argument filters or orders on
    description text not null default '',
    primary key (parent_type, field, argument)
);
create index dataset_arguments_dataset_idx on hub.dataset_arguments (dataset);

create function hub.dataset_arguments_fields_known() returns trigger
language plpgsql as $$
begin
  if exists (select from unnest(new.fields) f
             where not exists (select from hub.dataset_fields d where d.dataset = new.dataset and d.field = f)) then
    raise exception 'argument %.%(%) names a field that dataset % does not have: %',
      new.parent_type, new.field, new.argument, new.dataset, new.fields;
  end if;
  return new;
end $$;
create trigger dataset_arguments_fields_known before insert or update on hub.dataset_arguments
  for each row execute function hub.dataset_arguments_fields_known();

insert into hub.dataset_arguments (parent_type, field, argument, dataset, fields) values
  ('Query', 'enterprise', 'uscc', 'commerce.enterprises', '{uscc}'),
  ('Query', 'enterprises', 'first', 'commerce.enterprises', '{}'),
  ('Query', 'enterprises', 'after', 'commerce.enterprises', '{}'),
  ('Query', 'enterprises', 'district', 'commerce.enterprises', '{districtCode}'),
  ('Query', 'enterprises', 'industryCodePrefix', 'commerce.enterprises', '{industryCode}'),
  ('Query', 'enterprises', 'search', 'commerce.enterprises', '{name}'),
  ('Query', 'enterprises', 'foundedFrom', 'commerce.enterprises', '{foundedOn}'),
  ('Query', 'enterprises', 'foundedTo', 'commerce.enterprises', '{foundedOn}'),
  ('Query', 'enterprises', 'size', 'commerce.enterprises', '{size}'),
  ('Industry', 'enterprises', 'first', 'commerce.enterprises', '{}'),
  ('Industry', 'enterprises', 'after', 'commerce.enterprises', '{}'),
  ('Industry', 'enterprises', 'district', 'commerce.enterprises', '{districtCode}'),
  ('Query', 'industries', 'first', 'commerce.industries', '{}'),
  ('Query', 'industries', 'after', 'commerce.industries', '{}'),
  ('Query', 'industries', 'codePrefix', 'commerce.industries', '{code}'),
  ('Query', 'industries', 'level', 'commerce.industries', '{level}'),
  ('Query', 'industries', 'search', 'commerce.industries', '{name}'),
  ('Query', 'industry', 'code', 'commerce.industries', '{code}'),
  ('Query', 'investmentProjects', 'first', 'commerce.investment_projects', '{}'),
  ('Query', 'investmentProjects', 'after', 'commerce.investment_projects', '{}'),
  ('Query', 'investmentProjects', 'parkCode', 'commerce.investment_projects', '{parkCode}'),
  ('Query', 'investmentProjects', 'startsFrom', 'commerce.investment_projects', '{startsOn}'),
  ('Query', 'investmentProjects', 'startsTo', 'commerce.investment_projects', '{startsOn}'),
  ('Query', 'parks', 'first', 'commerce.parks', '{}'),
  ('Query', 'parks', 'after', 'commerce.parks', '{}'),
  ('Query', 'parks', 'district', 'commerce.parks', '{districtCode}'),
  ('Query', 'major', 'code', 'education.majors', '{code}'),
  ('Query', 'major', 'schoolCode', 'education.majors', '{schoolCode}'),
  ('Query', 'majors', 'first', 'education.majors', '{}'),
  ('Query', 'majors', 'after', 'education.majors', '{}'),
  ('Query', 'majors', 'codePrefix', 'education.majors', '{code}'),
  ('Query', 'majors', 'schoolCode', 'education.majors', '{schoolCode}'),
  ('Query', 'majors', 'search', 'education.majors', '{name}'),
  ('Query', 'school', 'code', 'education.schools', '{code}'),
  ('Query', 'schools', 'first', 'education.schools', '{}'),
  ('Query', 'schools', 'after', 'education.schools', '{}'),
  ('Query', 'schools', 'district', 'education.schools', '{districtCode}'),
  ('Query', 'schools', 'kind', 'education.schools', '{kind}'),
  ('Query', 'schools', 'search', 'education.schools', '{name}'),
  ('Query', 'apprenticeships', 'first', 'labor.apprenticeships', '{}'),
  ('Query', 'apprenticeships', 'after', 'labor.apprenticeships', '{}'),
  ('Query', 'apprenticeships', 'enterpriseUscc', 'labor.apprenticeships', '{enterpriseUscc}'),
  ('Query', 'apprenticeships', 'occupationCodePrefix', 'labor.apprenticeships', '{occupationCode}'),
  ('Query', 'apprenticeships', 'schoolCode', 'labor.apprenticeships', '{schoolCode}'),
  ('Query', 'jobPosting', 'id', 'labor.job_postings', '{id}'),
  ('Query', 'jobPostings', 'first', 'labor.job_postings', '{}'),
  ('Query', 'jobPostings', 'after', 'labor.job_postings', '{id}'),
  ('Query', 'jobPostings', 'district', 'labor.job_postings', '{districtCode}'),
  ('Query', 'jobPostings', 'occupationCodePrefix', 'labor.job_postings', '{occupationCode}'),
  ('Query', 'jobPostings', 'enterpriseUscc', 'labor.job_postings', '{enterpriseUscc}'),
  ('Query', 'jobPostings', 'skillLevel', 'labor.job_postings', '{skillLevel}'),
  ('Query', 'jobPostings', 'postedFrom', 'labor.job_postings', '{postedOn}'),
  ('Query', 'jobPostings', 'postedTo', 'labor.job_postings', '{postedOn}'),
  ('Query', 'jobPostings', 'education', 'labor.job_postings', '{education}'),
  ('Enterprise', 'postings', 'first', 'labor.job_postings', '{}'),
  ('Enterprise', 'postings', 'after', 'labor.job_postings', '{id}'),
  ('Occupation', 'postings', 'first', 'labor.job_postings', '{}'),
  ('Occupation', 'postings', 'after', 'labor.job_postings', '{id}'),
  ('Occupation', 'postings', 'district', 'labor.job_postings', '{districtCode}'),
  ('Occupation', 'postings', 'skillLevel', 'labor.job_postings', '{skillLevel}'),
  ('Occupation', 'postings', 'postedFrom', 'labor.job_postings', '{postedOn}'),
  ('Occupation', 'postings', 'postedTo', 'labor.job_postings', '{postedOn}'),
  ('Query', 'jobSeekers', 'first', 'labor.job_seekers', '{}'),
  ('Query', 'jobSeekers', 'after', 'labor.job_seekers', '{id}'),
  ('Query', 'jobSeekers', 'district', 'labor.job_seekers', '{districtCode}'),
  ('Query', 'jobSeekers', 'occupationCodePrefix', 'labor.job_seekers', '{occupationCode}'),
  ('Query', 'jobSeekers', 'skillLevel', 'labor.job_seekers', '{skillLevel}'),
  ('Query', 'jobSeekers', 'registeredFrom', 'labor.job_seekers', '{registeredOn}'),
  ('Query', 'jobSeekers', 'registeredTo', 'labor.job_seekers', '{registeredOn}'),
  ('Query', 'jobSeekers', 'search', 'labor.job_seekers', '{name}'),
  ('Occupation', 'seekers', 'first', 'labor.job_seekers', '{}'),
  ('Occupation', 'seekers', 'after', 'labor.job_seekers', '{id}'),
  ('Occupation', 'seekers', 'district', 'labor.job_seekers', '{districtCode}'),
  ('Query', 'occupation', 'code', 'labor.occupations', '{code}'),
  ('Query', 'occupations', 'first', 'labor.occupations', '{}'),
  ('Query', 'occupations', 'after', 'labor.occupations', '{}'),
  ('Query', 'occupations', 'codePrefix', 'labor.occupations', '{code}'),
  ('Query', 'occupations', 'search', 'labor.occupations', '{name}'),
  ('Query', 'occupations', 'majorGroup', 'labor.occupations', '{majorGroup}'),
  ('Query', 'skillCertificates', 'first', 'labor.skill_certificates', '{}'),
  ('Query', 'skillCertificates', 'after', 'labor.skill_certificates', '{id}'),
  ('Query', 'skillCertificates', 'occupationCodePrefix', 'labor.skill_certificates', '{occupationCode}'),
  ('Query', 'skillCertificates', 'skillLevel', 'labor.skill_certificates', '{skillLevel}'),
  ('Query', 'skillCertificates', 'issuedFrom', 'labor.skill_certificates', '{issuedOn}'),
  ('Query', 'skillCertificates', 'issuedTo', 'labor.skill_certificates', '{issuedOn}'),
  ('Query', 'trainingPrograms', 'first', 'labor.training_programs', '{}'),
  ('Query', 'trainingPrograms', 'after', 'labor.training_programs', '{}'),
  ('Query', 'trainingPrograms', 'district', 'labor.training_programs', '{districtCode}'),
  ('Query', 'trainingPrograms', 'occupationCodePrefix', 'labor.training_programs', '{occupationCode}'),
  ('Query', 'trainingPrograms', 'runningFrom', 'labor.training_programs', '{endsOn}'),
  ('Query', 'trainingPrograms', 'runningTo', 'labor.training_programs', '{startsOn}'),
  ('Occupation', 'trainingPrograms', 'first', 'labor.training_programs', '{}'),
  ('Occupation', 'trainingPrograms', 'after', 'labor.training_programs', '{}'),
  ('Query', 'innovationPlatforms', 'first', 'science.innovation_platforms', '{}'),
  ('Query', 'innovationPlatforms', 'after', 'science.innovation_platforms', '{}'),
  ('Query', 'innovationPlatforms', 'district', 'science.innovation_platforms', '{districtCode}'),
  ('Query', 'innovationPlatforms', 'kind', 'science.innovation_platforms', '{kind}'),
  ('Query', 'researchProject', 'code', 'science.research_projects', '{code}'),
  ('Query', 'researchProjects', 'first', 'science.research_projects', '{}'),
  ('Query', 'researchProjects', 'after', 'science.research_projects', '{}'),
  ('Query', 'researchProjects', 'field', 'science.research_projects', '{field}'),
  ('Query', 'researchProjects', 'industryCodePrefix', 'science.research_projects', '{industryCode}'),
  ('Query', 'researchProjects', 'leadEnterpriseUscc', 'science.research_projects', '{leadEnterpriseUscc}'),
  ('Query', 'researchProjects', 'partnerSchoolCode', 'science.research_projects', '{partnerSchoolCode}'),
  ('Query', 'researchProjects', 'startsFrom', 'science.research_projects', '{startsOn}'),
  ('Query', 'researchProjects', 'startsTo', 'science.research_projects', '{startsOn}'),
  ('Query', 'researchProjects', 'search', 'science.research_projects', '{title}'),
  ('Enterprise', 'researchProjects', 'first', 'science.research_projects', '{}'),
  ('Enterprise', 'researchProjects', 'after', 'science.research_projects', '{}'),
  ('School', 'researchProjects', 'first', 'science.research_projects', '{}'),
  ('School', 'researchProjects', 'after', 'science.research_projects', '{}'),
  ('Query', 'techTransfers', 'first', 'science.tech_transfers', '{}'),
  ('Query', 'techTransfers', 'after', 'science.tech_transfers', '{}'),
  ('Query', 'techTransfers', 'projectCode', 'science.tech_transfers', '{projectCode}'),
  ('Query', 'techTransfers', 'transferredFrom', 'science.tech_transfers', '{transferredOn}'),
  ('Query', 'techTransfers', 'transferredTo', 'science.tech_transfers', '{transferredOn}');

update hub.dataset_arguments set description = 'the name contains this text (case-insensitive)'
where (parent_type, field, argument) = ('Query', 'jobSeekers', 'search');

-- The masking rules, stated in the catalog. An ID number masked as "first 6 + last 4" left 32-35
-- candidates per person once the public birthYear and the check character were taken into account;
-- the masked form now keeps only the district of issue, so at least 10,000 candidates remain.
update hub.dataset_fields set description = case field
  when 'name' then 'Name. Masked: the surname only (张**). Filtering on it (jobSeekers.search) needs it in clear.'
  when 'idNumber' then 'Citizen identity number (GB 11643-1999, 18 characters). Masked: only the first 6 characters '
                       '(the district of issue) are kept, 440106************; birth date, sequence digits and check '
                       'character are hidden, so with the public birthYear and gender at least 10,000 (about 182,000) '
                       'candidate numbers remain per person.'
  when 'phone' then 'Mobile number. Masked: the first 3 and last 4 digits are kept (138****5678).'
  when 'birthYear' then 'Year of birth. Public: a masked idNumber hides the whole birth date and the sequence digits, '
                        'so with the year known at least 10,000 candidate numbers remain (see idNumber).'
  when 'gender' then 'Public: a masked idNumber hides the sequence digits (the parity of the last one is the gender).'
  end
where dataset = 'labor.job_seekers' and field in ('name', 'idNumber', 'phone', 'birthYear', 'gender');
