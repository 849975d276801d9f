"""Withdrawn report versions: who may still read their figures, and the notice everyone else gets.

An admin withdraws a published version (``resolvers.analytics.report.build.withdraw``) when its figures must stop
being published: typically a version frozen before the disclosure control that protects them, which leaks small
cells by differencing (docs/statistics.md, Publishing). The version itself stays frozen (``hub.stat_publications``
is append-only) and its withdrawal is a public, append-only record (the versions list of every page, the
``publishedReports`` field), but its figures are no longer served to the public, in any format:

* ``may_read_figures`` is the one rule of who still may read them (admins, with a token);
* such a read is audited (``operation``) before it is answered, fail-closed like a draft read
  (``resolvers.analytics.report.routes``);
* everyone else gets the ``Notice``: the year, the version, when and why it was withdrawn and where its
  replacement is (HTTP 410 Gone: a page for the HTML URL, a JSON error with the code ``WITHDRAWN`` for .csv/.json).

``hub report YEAR --version N`` runs with database access, i.e. as the operator: it still writes a withdrawn
version's files, with an audit entry and a warning (``resolvers.analytics.cli``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hub.governance.consumers import Consumer
    from resolvers.analytics.report.build import Report

CODE = "WITHDRAWN"
MAX_VERSION = 1_000_000  # the largest version number a request may name (HTTP ?version=N, hub report --version N)
SUFFIXES = {"html": "", "csv": ".csv", "json": ".json"}  # the report's URL per format


def may_read_figures(consumer: "Consumer | None") -> bool:
    """Whether ``consumer`` (None: a request without a token) may read a withdrawn version's figures.

    Only admins of the big-data bureau may (``Consumer.is_admin``, the role that may publish and withdraw versions,
    ``resolvers.analytics.mutations``), with their bearer token; each such read writes one audit entry before it is
    answered (``operation``). Nobody else may: not the public, not another department's consumer — the figures were
    withdrawn because they must not be published, and any department could publish what it reads."""
    return consumer is not None and consumer.is_admin


def operation(year: int, version: int, fmt: str) -> str:
    """The audit entry's operation name of an admin's read of a withdrawn version (``fmt``: html, csv, json or the
    formats the command line writes)."""
    return f"report.withdrawn {year} v{version} ({fmt})"


def url(year: int, fmt: str, version: int | None) -> str:
    """Path of ``year``'s report in ``fmt``: ``version``, or as it stands (None: the latest version not withdrawn,
    else the draft)."""
    path = f"/reports/{year}{SUFFIXES[fmt]}"
    return path if version is None else f"{path}?version={version}"


@dataclasses.dataclass(frozen=True)
class Notice:
    """What the public learns of a withdrawn version: everything but its figures."""

    year: int
    version: int
    published_at: dt.datetime
    withdrawn_at: dt.datetime
    reason: str
    replaced_by: int | None  # the latest version not withdrawn; None: none is left, the year's report is the draft
    versions: list[dict[str, Any]]  # every published version of the year, as the page lists them

    @classmethod
    def of(cls, report: "Report") -> "Notice":
        w = report.withdrawal
        if w is None or report.version is None or report.published_at is None:
            raise ValueError(f"{report.year}'s report {report.status} {report.version} is not a withdrawn version")
        return cls(report.year, report.version, report.published_at, dt.datetime.fromisoformat(w["withdrawnAt"]),
                   w["reason"], w["replacedBy"], report.versions)

    def replacement(self, fmt: str) -> str:
        """Path of what replaces it, in ``fmt``: the replacing version, else the year's report (the draft)."""
        return url(self.year, fmt, self.replaced_by)

    def error(self, fmt: str) -> dict[str, Any]:
        """The JSON error body answered (with HTTP 410) for the version's CSV or JSON."""
        instead = (f"version {self.replaced_by} replaces it" if self.replaced_by is not None
                   else "no published version is left: the year's report is its draft")
        message = (f"version {self.version} of {self.year}'s report was withdrawn on {self.withdrawn_at:%Y-%m-%d}: "
                   f"{self.reason} ({instead}: {self.replacement(fmt)})")
        return {"errors": [{"message": message, "extensions": {
            "code": CODE, "year": self.year, "version": self.version, "publishedAt": self.published_at.isoformat(),
            "withdrawnAt": self.withdrawn_at.isoformat(), "reason": self.reason, "replacedBy": self.replaced_by,
            "replacementUrl": self.replacement(fmt)}}]}
