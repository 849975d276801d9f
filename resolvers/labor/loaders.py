"""labor DataLoaders: one statement per batch on the labor pool."""

from __future__ import annotations

from hub.api.loaders import ByKeyLoader, PageByKeyLoader, ScalarByKeyLoader, row_converter
from resolvers.labor.types import JobPosting, JobSeeker, Occupation


class OccupationByCodeLoader(ByKeyLoader):
    dept, query, key_column = "labor", "labor/occupations_by_code", "code"
    convert = staticmethod(row_converter(Occupation))


class PostingByIdLoader(ByKeyLoader):
    dept, query, key_column = "labor", "labor/postings_by_id", "id"
    convert = staticmethod(row_converter(JobPosting))


class SeekerByIdLoader(ByKeyLoader):
    dept, query, key_column = "labor", "labor/seekers_by_id", "id"
    convert = staticmethod(row_converter(JobSeeker))


class PostingCountByOccupationLoader(ScalarByKeyLoader):
    """An occupation's number of postings: 0 without counter rows."""

    dept, query, key_column, value_column, default = "labor", "labor/posting_counts_by_occupation", "occupation_code", "n", 0


class PostingsByOccupationLoader(PageByKeyLoader):
    """Keys: (occupation code, fetch, after id, district, skill level, posted from, posted to)."""

    dept, query, key_column = "labor", "labor/postings_by_occupation", "occupation_code"


class PostingsByEnterpriseLoader(PageByKeyLoader):
    """Keys: (uscc, fetch, after id)."""

    dept, query, key_column = "labor", "labor/postings_by_enterprise", "enterprise_uscc"


class SeekersByOccupationLoader(PageByKeyLoader):
    """Keys: (occupation code, fetch, after id, district)."""

    dept, query, key_column = "labor", "labor/seekers_by_occupation", "occupation_code"


class TrainingProgramsByOccupationLoader(PageByKeyLoader):
    """Keys: (occupation code, fetch, after id)."""

    dept, query, key_column = "labor", "labor/training_programs_by_occupation", "occupation_code"
