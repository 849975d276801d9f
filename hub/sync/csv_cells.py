"""CSV that is safe to open in a spreadsheet: the one writer every CSV the hub produces goes through.

OWASP "CSV injection": a spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula
(``=HYPERLINK("http://evil.example/x","click")`` becomes a live link), and TAB or CR can smuggle one in. The
rule, written once here: a *text* cell starting with one of ``= + - @ TAB CR`` gets a leading single quote
``'`` (spreadsheets show it as text, without the quote). Numbers (``int``, ``float``, ``Decimal``; not
``bool``) are written unchanged, so a gap of -44 stays the number -44.

Decided: the type decides, not the look. A text cell is neutralised even when it looks like a number or a
code (the string ``"-44"``, a code ``"-"``): only the producer knows it is text, and OWASP says neutralise text.
The rule is reversible: a text cell that already starts with quotes followed by one of those characters
(``'=x``) gets one more quote too, so a program reading the CSV recovers the exact text by removing ONE
leading quote from every cell that starts with one or more ``'`` followed by ``= + - @``, TAB or CR (``'=x``
-> ``=x``, ``''=x`` -> ``'=x``); other cells are as written. Machine copies need not bother: NDJSON (the sync
snapshot's default, what ``hub sync pull`` uses) and JSON carry the values as they are.

Hand-written because no maintained library does it: the ``csv`` module quotes fields but knows nothing of
formulas, and the spreadsheet libraries that do (e.g. writing .xlsx) are not CSV writers.

Producers (``tests/sync/test_csv_cells.py`` fails when a module writes CSV without this module):
``resolvers.analytics.report.build.as_csv`` (``GET /reports/{year}.csv``) and ``hub.sync.feed.Snapshot`` (``GET
/sync/{dataset}/snapshot?format=csv``).
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from decimal import Decimal
from typing import Any, Iterable

TRIGGERS = "=+-@\t\r"
_NEEDS_QUOTE = re.compile(r"'*[=+\-@\t\r]")
_FIRST = frozenset(TRIGGERS + "'")


def neutralise(text: str) -> str:
    """``text`` as a safe text cell: with a leading ``'`` when it starts (after any quotes) with ``= + - @``,
    TAB or CR."""
    if text and text[0] in _FIRST and _NEEDS_QUOTE.match(text):
        return "'" + text
    return text


def cell(value: Any) -> Any:
    """One CSV cell: None is empty, booleans ``true``/``false``, numbers unchanged, dates ISO 8601, anything
    else its text, neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, Decimal)):
        return value
    if isinstance(value, (dt.date, dt.time)):  # datetime is a date
        return value.isoformat()
    return neutralise(value if isinstance(value, str) else str(value))


class Writer:
    """``csv.writer`` whose rows go through ``cell`` (same dialect options).

    A text cell holding a CR or LF is always quoted: the csv module quotes only the characters of its own line
    terminator (with ``"\n"`` a lone CR goes out bare), and a spreadsheet starts a new row at any of them, so the
    text after the break would be a cell of its own, unchecked by ``cell``. Such a row is written with every text
    cell quoted (numbers stay bare).
    """

    def __init__(self, out: Any, **options: Any):
        self._writer = csv.writer(out, **options)
        self._quoting_text = csv.writer(out, **{**options, "quoting": csv.QUOTE_NONNUMERIC})

    def writerow(self, values: Iterable[Any]) -> Any:
        row = [cell(v) for v in values]
        if any(isinstance(v, str) and ("\r" in v or "\n" in v) for v in row):
            return self._quoting_text.writerow(row)
        return self._writer.writerow(row)


def writer(out: Any, **options: Any) -> Writer:
    """A CSV writer on ``out`` (a text stream) whose every cell is safe (``cell``)."""
    return Writer(out, **options)
