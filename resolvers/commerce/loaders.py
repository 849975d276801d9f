"""commerce DataLoaders: one statement per batch on the commerce pool."""

from __future__ import annotations

from hub.api.loaders import ByKeyLoader, ManyByKeyLoader, PageByKeyLoader, row_converter
from resolvers.commerce.types import Enterprise, Industry, InvestmentProject, Park


class IndustryByCodeLoader(ByKeyLoader):
    dept, query, key_column = "commerce", "commerce/industries_by_code", "code"
    convert = staticmethod(row_converter(Industry))


class IndustriesByParentLoader(ManyByKeyLoader):
    dept, query, key_column = "commerce", "commerce/industries_by_parent", "parent_code"
    convert = staticmethod(row_converter(Industry))


class EnterpriseByUsccLoader(ByKeyLoader):
    dept, query, key_column = "commerce", "commerce/enterprises_by_uscc", "uscc"
    convert = staticmethod(row_converter(Enterprise))


class EnterprisesByIndustryLoader(PageByKeyLoader):
    """Keys: (industry code, fetch, after id, district)."""

    dept, query, key_column = "commerce", "commerce/enterprises_by_industry", "parent_code"


class ParkByCodeLoader(ByKeyLoader):
    dept, query, key_column = "commerce", "commerce/parks_by_code", "code"
    convert = staticmethod(row_converter(Park))


class InvestmentProjectsByEnterpriseLoader(ManyByKeyLoader):
    dept, query, key_column = "commerce", "commerce/investment_projects_by_enterprise", "enterprise_uscc"
    convert = staticmethod(row_converter(InvestmentProject))
