"""Word lists and code catalogs for the demo-data generator (``hub.demo.seed``), read from ``names.json``.

Real codes where known: Guangzhou's administrative divisions (GB/T 2260), GB/T 4754-2017 industry
sections/divisions/groups/classes, occupations of the national occupational classification and majors of
the 2021 vocational-education major catalog. Lists are ordered: the generator depends on the order.

The data is a JSON file shipped as package data; this module gives it the shapes the generator reads
(rows as tuples, the occupation subgroup table keyed by its integer group); the annotations below give each
list's row shape.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

_DATA: dict[str, Any] = json.loads(resources.files(__package__).joinpath("names.json").read_text(encoding="utf-8"))


def _rows(name: str) -> list[tuple]:
    return [tuple(row) for row in _DATA[name]]


CITY: tuple[str, str] = tuple(_DATA["CITY"])  # type: ignore[assignment]
DISTRICTS: list[tuple[str, str]] = _rows("DISTRICTS")
SECTIONS: list[tuple[str, str]] = _rows("SECTIONS")
SECTION_DIVISIONS: dict[str, tuple[int, int]] = {k: tuple(v) for k, v in _DATA["SECTION_DIVISIONS"].items()}
INDUSTRY_CATALOG: str = _DATA["INDUSTRY_CATALOG"]
DIVISION_TRADES: dict[str, list[str]] = _DATA["DIVISION_TRADES"]
SECTION_DOMAINS: dict[str, list[str]] = _DATA["SECTION_DOMAINS"]
DIVISION_DOMAINS: dict[str, list[str]] = _DATA["DIVISION_DOMAINS"]
OCCUPATIONS: list[tuple[str, str, str, float, str]] = _rows("OCCUPATIONS")
GEN_OCCUPATION_PARTS: list[tuple[int, str, list[str], list[str]]] = _rows("GEN_OCCUPATION_PARTS")
GEN_OCCUPATION_SUBGROUPS: dict[int, tuple[int, int]] = {
    int(k): tuple(v) for k, v in _DATA["GEN_OCCUPATION_SUBGROUPS"].items()}
POSTING_TITLE_PREFIXES: list[str] = _DATA["POSTING_TITLE_PREFIXES"]
POSTING_TITLE_SUFFIXES: list[str] = _DATA["POSTING_TITLE_SUFFIXES"]
SURNAMES: list[tuple[str, float]] = _rows("SURNAMES")
GIVEN_MALE: list[str] = _DATA["GIVEN_MALE"]
GIVEN_FEMALE: list[str] = _DATA["GIVEN_FEMALE"]
GIVEN_ANY: list[str] = _DATA["GIVEN_ANY"]
PHONE_PREFIXES: list[str] = _DATA["PHONE_PREFIXES"]
TRADE_NAME_CHARS: list[str] = _DATA["TRADE_NAME_CHARS"]
SCHOOL_STEMS: list[str] = _DATA["SCHOOL_STEMS"]
SCHOOL_PATTERNS: dict[str, str] = _DATA["SCHOOL_PATTERNS"]
MAJORS: list[tuple[str, str, str, list[str], list[str]]] = _rows("MAJORS")
PARKS: list[tuple[str, str, float]] = _rows("PARKS")
RESEARCH_FIELDS: list[str] = _DATA["RESEARCH_FIELDS"]
FIELD_INDUSTRIES: dict[str, list[str]] = _DATA["FIELD_INDUSTRIES"]
FIELD_TOPICS: dict[str, list[str]] = _DATA["FIELD_TOPICS"]
RESEARCH_TITLE_SUFFIXES: list[str] = _DATA["RESEARCH_TITLE_SUFFIXES"]
PLATFORM_KINDS: dict[str, list[str]] = _DATA["PLATFORM_KINDS"]
