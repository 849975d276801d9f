"""The demo's national vocational major catalog (``education.major_catalog``, issue 16) and the catalog-level
mappings of the majors no demo school teaches.

Every major of ``hub.demo.names.MAJORS`` is in the catalog, with its category (专业大类): the catalog's first two
digits name it — 21-39 vocational undergraduate, 41-59 higher vocational, 61-79 secondary vocational, the same 19
categories in the same order in each range. Majors no school teaches get their industry and occupation mappings
from the catalog's own lists (those present in the demo's industries and occupations), without drawing a random
number, so the mappings of the majors schools teach stay as ``hub.demo.education`` draws them.
"""

from __future__ import annotations

from typing import Callable, Iterable

from hub.demo import names as N

CATEGORIES = ("农林牧渔大类", "资源环境与安全大类", "能源动力与材料大类", "土木建筑大类", "水利大类", "装备制造大类",
              "生物与化工大类", "轻工纺织大类", "食品药品与粮食大类", "交通运输大类", "电子与信息大类", "医药卫生大类",
              "财经商贸大类", "旅游大类", "文化艺术大类", "新闻传播大类", "教育与体育大类", "公安与司法大类",
              "公共管理与服务大类")


def category(code: str) -> str:
    """The category (专业大类) of a 6-digit major code."""
    return CATEGORIES[(int(code[:2]) - 1) % 20]


def catalog_rows() -> list[tuple]:
    """(id, code, name, category) of every catalog major, in code order."""
    return [(i + 1, code, name, category(code)) for i, (code, name, *_rest) in
            enumerate(sorted(N.MAJORS, key=lambda m: m[0]))]


def untaught_mappings(taught: Iterable[str], classes: list[str], occupations: set[str],
                      division_of: Callable[[str], str]) -> tuple[list[tuple], list[tuple]]:
    """(major, industry) and (major, occupation) rows of the catalog majors not in ``taught``."""
    taught = set(taught)
    industries, occs = [], []
    for code, _, _, inds, occ_codes in sorted(N.MAJORS, key=lambda m: m[0]):
        if code in taught:
            continue
        found = [c for c in inds if c in classes] or [c for c in classes if division_of(c) in {division_of(i)
                                                                                               for i in inds}][:3]
        industries += [(code, c) for c in sorted(set(found))]
        occs += [(code, o) for o in sorted({o for o in occ_codes if o in occupations})]
    return industries, occs
