"""labor DataLoaders: one statement per batch on the labor pool."""

from __future__ import annotations

from typing import Any, Hashable, Sequence

from hub.api.loaders import ByKeyLoader, PageByKeyLoader, SqlLoader, row_converter
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


class PostingCountByOccupationLoader(SqlLoader):
    dept, query = "labor", "labor/posting_counts_by_occupation"

    async def load_batch(self, keys: Sequence[Hashable]) -> list[Any]:
        rows = await self.fetch(list(keys))
        counts = {r["occupation_code"]: r["n"] for r in rows}
        return [counts.get(k, 0) for k in keys]


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
