"""Masking of PERSONAL fields: one function per mask kind of the catalog (``hub.dataset_fields.mask``).

Which fields a reader sees masked is decided by ``hub.governance.access.Access``; how a value is masked is here.
"""

from __future__ import annotations

from typing import Callable


def mask_person_name(value: str) -> str:
    """Keep the surname (the first character; two for common compound surnames)."""
    if not value:
        return value
    keep = 2 if value[:2] in COMPOUND_SURNAMES and len(value) > 2 else 1
    return value[:keep] + "*" * (len(value) - keep)


ID_NUMBER_KEPT = 6


def mask_id_number(value: str) -> str:
    """Keep the first 6 characters (the district of issue) of an 18-character GB 11643 number; mask anything else
    entirely.

    Birth date, sequence digits and check character are hidden: readers who see the number masked also see the
    public ``birthYear`` and ``gender`` (the parity of the last sequence digit), which still leave 365 x 500
    (about 182,000) candidate numbers per person. Keeping the last 4 characters as well (sequence digits and check
    character) left 32-35: the check character fixes the birth date within the year (tests/governance/test_id_masking.py).
    """
    if len(value) != 18:
        return "*" * len(value)
    return value[:ID_NUMBER_KEPT] + "*" * (len(value) - ID_NUMBER_KEPT)


def mask_phone(value: str) -> str:
    """Keep the first 3 and last 4 digits."""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


SOURCE_ID_MASK = "*" * 8


def mask_source_id(value: str) -> str:
    """Hide the whole value, and its length: a source system's identifier of a person's record may be, or contain,
    the person's identity number or phone (an 18-character id would tell itself by its length)."""
    return SOURCE_ID_MASK


COMPOUND_SURNAMES = frozenset({"欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "令狐", "慕容", "公孙", "尉迟", "长孙", "夏侯"})
MASKS: dict[str, Callable[[str], str]] = {
    "PERSON_NAME": mask_person_name, "ID_NUMBER": mask_id_number, "PHONE": mask_phone, "SOURCE_ID": mask_source_id,
}
