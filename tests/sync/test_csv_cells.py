"""CSV injection (OWASP): the one cell rule of ``hub.sync.csv_cells``, and that every CSV producer uses it.

The producers themselves are exercised over HTTP with a ``=HYPERLINK(...)`` training provider in
``tests/statistics/test_reports.py`` (``/reports/{year}.csv`` and ``/sync/{dataset}/snapshot?format=csv``)."""

from __future__ import annotations

import ast
import csv
import datetime as dt
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest

from hub.sync.csv_cells import cell, neutralise, writer

ROOT = Path(__file__).resolve().parents[2]
# Every module that writes CSV, and what it produces. A new producer must use hub.sync.csv_cells and be listed here
# (and get an HTTP test like those in tests/statistics/test_reports.py).
PRODUCERS = {
    "resolvers/analytics/report/build.py": "GET /reports/{year}.csv (resolvers.analytics.report.build.as_csv)",
    "hub/sync/feed.py": "GET /sync/{dataset}/snapshot?format=csv (hub.sync.feed.Snapshot)",
}


@pytest.mark.parametrize("text", ['=HYPERLINK("http://evil.example/x","click")', "+1+2", "-2+3", "@SUM(A1:A2)",
                                  "\t=1", "\r=1", "-", "-44", "=", "'=already quoted", "''+twice"])
def test_text_starting_with_a_trigger_is_quoted(text: str) -> None:
    assert cell(text) == "'" + text


@pytest.mark.parametrize("text", ["plain", "a=b", "1-2", " =1", "'quoted", "''", "#cursor", "张三", ""])
def test_other_text_is_unchanged(text: str) -> None:
    assert cell(text) == text


@pytest.mark.parametrize("value", [-44, 0, 12, -1.5, 2.25, Decimal("-3.10")])
def test_numbers_stay_numbers(value: object) -> None:
    assert cell(value) is value
    out = io.StringIO()
    writer(out, lineterminator="\n").writerow([value])
    assert out.getvalue() == f"{value}\n"


def test_other_types() -> None:
    assert [cell(v) for v in (None, True, False, dt.date(2024, 1, 2), dt.datetime(2024, 1, 2, 3, 4))] == [
        "", "true", "false", "2024-01-02", "2024-01-02T03:04:00"]
    assert cell(["-x"]) == "['-x']" and cell(_Text("=1")) == "'=1"  # anything else: its text, neutralised


class _Text:
    def __init__(self, text: str):
        self.text = text

    def __str__(self) -> str:
        return self.text


def test_the_rule_is_reversible() -> None:
    """Removing one leading quote from a cell that starts with quotes and then a trigger gives the text back,
    whatever it was (the rule the module's docstring gives readers)."""
    def undo(value: str) -> str:
        return value[1:] if re.match(r"'+[=+\-@\t\r]", value) else value

    for text in ["=1", "'=1", "''=1", "'", "'a", "a", "-", "", "''", "@", "'@x"]:
        assert undo(neutralise(text)) == text, text


def test_the_writer_writes_through_cell() -> None:
    out = io.StringIO()
    writer(out, lineterminator="\n").writerow(["=1+1", -44, None, "名字", True])
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [["'=1+1", "-44", "", "名字", "true"]]


def _writes_csv(path: Path) -> bool:
    """The module creates a ``csv.writer``/``csv.DictWriter`` or imports one of them from ``csv``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("writer", "DictWriter") and \
                isinstance(node.value, ast.Name) and node.value.id == "csv":
            return True
        if isinstance(node, ast.ImportFrom) and node.module == "csv" and \
                any(a.name in ("writer", "DictWriter") for a in node.names):
            return True
    return False


def _uses_csv_cells(path: Path) -> bool:
    text = path.read_text(encoding="utf-8")
    return "from hub.sync import csv_cells" in text or "from hub.sync.csv_cells import" in text


def test_every_csv_producer_uses_the_one_rule() -> None:
    modules = [p for d in ("hub", "resolvers") for p in sorted((ROOT / d).rglob("*.py"))]
    assert len(modules) > 50
    raw = [str(p.relative_to(ROOT)) for p in modules if _writes_csv(p) and p.name != "csv_cells.py"]
    assert raw == [], f"these modules write CSV with the csv module directly: use hub.sync.csv_cells.writer: {raw}"
    users = {str(p.relative_to(ROOT)) for p in modules if _uses_csv_cells(p)}
    assert users == set(PRODUCERS), f"CSV producers changed: list them in PRODUCERS and test them: {users}"
