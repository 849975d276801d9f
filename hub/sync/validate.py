"""Field kinds for ingest: each turns a raw input value (JSON value, or CSV text) into the column's Python
value, or raises ``Invalid`` with a reason. The rules mirror the CHECK constraints of the migrations
(``sql/migrations/0001_hub.sql`` ...), so that a row accepted here is accepted by the database.

CSV has no null: an empty CSV field is null (a missing value).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Callable

from hub.sync.check_chars import id_number_check_char, uscc_check_char

MAX_TEXT = 1000
DATE_MIN, DATE_MAX = dt.date(1900, 1, 1), dt.date(2100, 12, 31)


class Invalid(ValueError):
    """A value (or row) that cannot be ingested; ``field`` None for a row-level problem."""

    def __init__(self, reason: str, field: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.field = field


# --- code formats (0001_hub.sql) -------------------------------------------------------------------

_USCC = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$")
_ID_NUMBER = re.compile(r"^[0-9]{17}[0-9X]$")


_VALID_USCCS: set[str] = set()  # a bulk load names the same enterprises again and again


def check_uscc(code: str) -> None:
    if code in _VALID_USCCS:
        return
    if not _USCC.fullmatch(code):
        raise Invalid(f"{code!r} is not a unified social credit code (18 characters of the GB 32100 set)")
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        raise Invalid(f"{code!r}: wrong check character {code[17]!r} (GB 32100 gives {expected!r})")
    if len(_VALID_USCCS) < 500_000:
        _VALID_USCCS.add(code)


def check_id_number(code: str) -> None:
    """An identity number is PERSONAL: the reason does not repeat it (nor its check character, computed from
    it), since ingest reports go to readers who see it masked (``hub.sync.report_view``)."""
    if not _ID_NUMBER.fullmatch(code):
        raise Invalid("is not an identity number (17 digits and a check character)")
    if code[17] != id_number_check_char(code[:17]):
        raise Invalid("has a wrong check character (GB 11643)")


def pattern(regex: str, what: str, echo: bool = True) -> Callable[[str], None]:
    """A format check; ``echo=False`` for a PERSONAL kind: the reason does not repeat the value."""
    compiled = re.compile(regex)

    def check(value: str) -> None:
        if not compiled.fullmatch(value):  # not match: its $ also matches before a final newline
            raise Invalid(f"{value!r} is not {what}" if echo else f"is not {what}")

    return check


check_district = pattern(r"^[1-9][0-9]{5}$", "a 6-digit district code")
check_occupation = pattern(r"^[1-8]-[0-9]{2}-[0-9]{2}-[0-9]{2}$", "an occupation code like 6-18-01-01")
check_industry = pattern(r"^([A-T]|[0-9]{2}|[0-9]{3}|[0-9]{4})$", "a GB/T 4754 industry code")
check_school = pattern(r"^[0-9]{10}$", "a 10-digit school code")
check_major = pattern(r"^[0-9]{6}$", "a 6-digit major code")
check_phone = pattern(r"^1[3-9][0-9]{9}$", "a mobile phone number", echo=False)
# Not echoed: a job seeker's source id may be the person's identity number (PERSONAL, masked: migration 0028).
check_source_id = pattern(r"^[!-~]{1,100}$", "a source id (1-100 printable ASCII characters, no spaces)", echo=False)


# --- kinds -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Kind:
    """Base: text."""

    check: Callable[[str], None] | None = None
    choices: frozenset[str] | None = None
    max_length: int = MAX_TEXT
    pg_type: str = "text"

    def convert(self, raw: Any) -> Any:
        if type(raw) is not str:
            raise Invalid(f"expected a string, got {_json_type(raw)}")
        if not raw or raw.isspace():
            raise Invalid("must not be empty")
        if len(raw) > self.max_length:
            raise Invalid(f"longer than {self.max_length} characters")
        if "\x00" in raw:
            raise Invalid("contains a NUL character")
        if self.choices is not None and raw not in self.choices:
            raise Invalid(f"{raw!r} is not one of {', '.join(sorted(self.choices))}")
        if self.check is not None:
            self.check(raw)
        return raw


@dataclass(frozen=True)
class Integer(Kind):
    low: int = -2**31
    high: int = 2**31 - 1
    pg_type: str = "integer"

    def convert(self, raw: Any) -> Any:
        if isinstance(raw, bool):
            raise Invalid("expected an integer, got a boolean")
        if isinstance(raw, str):
            text = raw.strip()
            if not text.lstrip("-").isdigit() or len(text) > 20:
                raise Invalid(f"{raw!r} is not an integer")
            raw = int(text)
        elif isinstance(raw, float) and raw.is_integer():
            raw = int(raw)
        if not isinstance(raw, int):
            raise Invalid(f"expected an integer, got {_json_type(raw)}")
        if not self.low <= raw <= self.high:
            raise Invalid(f"{raw} is out of range [{self.low}, {self.high}]")
        return raw


@dataclass(frozen=True)
class Numeric(Kind):
    """numeric(precision, scale) with a lower bound."""

    precision: int = 14
    scale: int = 2
    low: Decimal = Decimal(0)
    low_inclusive: bool = True
    pg_type: str = "numeric"

    def convert(self, raw: Any) -> Any:
        if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
            raise Invalid(f"expected a number, got {_json_type(raw)}")
        try:
            value = Decimal(str(raw).strip())
        except InvalidOperation:
            raise Invalid(f"{raw!r} is not a number") from None
        if not value.is_finite():
            raise Invalid(f"{raw!r} is not a finite number")
        if value.as_tuple().exponent < -self.scale:
            raise Invalid(f"{raw} has more than {self.scale} decimals")
        if abs(value) >= Decimal(10) ** (self.precision - self.scale):
            raise Invalid(f"{raw} is too large (at most {self.precision - self.scale} digits before the point)")
        if value < self.low or (value == self.low and not self.low_inclusive):
            raise Invalid(f"{raw} must be {'>=' if self.low_inclusive else '>'} {self.low}")
        return value


@dataclass(frozen=True)
class Date(Kind):
    pg_type: str = "date"

    def convert(self, raw: Any) -> Any:
        if not isinstance(raw, str):
            raise Invalid(f"expected a date YYYY-MM-DD, got {_json_type(raw)}")
        try:
            if len(raw) != 10:
                raise ValueError
            value = dt.date.fromisoformat(raw)
        except ValueError:
            raise Invalid(f"{raw!r} is not a date YYYY-MM-DD") from None
        if not DATE_MIN <= value <= DATE_MAX:
            raise Invalid(f"{raw} is outside {DATE_MIN} .. {DATE_MAX}")
        return value


_TRUE = frozenset({"true", "t", "1", "yes"})
_FALSE = frozenset({"false", "f", "0", "no"})


@dataclass(frozen=True)
class Boolean(Kind):
    pg_type: str = "boolean"

    def convert(self, raw: Any) -> Any:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
            return raw.strip().lower() in _TRUE
        raise Invalid(f"{raw!r} is not a boolean (true/false)")


def _json_type(value: Any) -> str:
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list",
            dict: "an object"}.get(type(value), type(value).__name__)


TEXT = Kind()
DATE = Date()
BOOLEAN = Boolean()
USCC = Kind(check=check_uscc)
DISTRICT = Kind(check=check_district)
OCCUPATION = Kind(check=check_occupation)
INDUSTRY = Kind(check=check_industry)
SCHOOL = Kind(check=check_school)
MAJOR = Kind(check=check_major)
SOURCE_ID = Kind(check=check_source_id)
SKILL_LEVEL = Integer(low=1, high=5, pg_type="smallint")
EDUCATION = Kind(choices=frozenset({"NONE", "JUNIOR_HIGH", "HIGH_SCHOOL", "SECONDARY_VOCATIONAL", "JUNIOR_COLLEGE",
                                    "BACHELOR", "MASTER"}))


def code(regex: str, what: str) -> Kind:
    return Kind(check=pattern(regex, what))


def choice(*values: str) -> Kind:
    return Kind(choices=frozenset(values))
