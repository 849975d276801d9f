"""What a reader sees of a statistics refresh's data watermark (``resolvers.analytics.statistics.Watermark``).

The watermark records, per department, the reading snapshot's xmin and every source table's row count and max
id. Those move by one when one person is added: a reader that does not own the persons would learn from two
refreshes exactly how many seekers (or graduates' outcomes) were added, which is what differencing two releases
of the perturbed figures needs (docs/statistics.md, "Across releases"). So:

* a department sees its own source exactly (it holds those rows anyway);
* the bureau's admins see every source exactly (they run the refreshes and publish; ``hub stats refresh`` prints
  the watermark to the operator too);
* everyone else — other departments, and the public reading a report's JSON — sees of each source only what
  says nothing about its size (labor's horizon year); the refresh's id and times stay.

Published versions keep their watermark as frozen; it is shown through this rule like the live one.
"""

from __future__ import annotations

from typing import Any

PUBLIC_SOURCE_KEYS = ("horizonYear",)


def for_reader(watermark: dict[str, Any] | None, department: str | None = None,
               admin: bool = False) -> dict[str, Any] | None:
    """``watermark`` as a reader of ``department`` (None: the public) sees it."""
    if watermark is None or admin:
        return watermark
    sources = {name: source if name == department else
               {k: v for k, v in source.items() if k in PUBLIC_SOURCE_KEYS}
               for name, source in (watermark.get("sources") or {}).items()}
    return {**watermark, "sources": sources}
