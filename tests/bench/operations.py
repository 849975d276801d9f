"""The bench operations (``graphql/operations/bench/*.graphql``) and the reference figures of issue 7."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import orjson
from graphql import OperationDefinitionNode, parse

from hub.api.trusted import OPERATIONS_DIR

BENCH_OPERATIONS_DIR = OPERATIONS_DIR / "bench"

# req/s measured on a 2-core machine (wrk -c16, everything on the same 2 cores, `large` data, (fk, id)
# indexes): PostGraphile 4.14 and 5.1, and plain SQL returning the same rows (issue 7).
POSTGRAPHILE: dict[str, tuple[float, float]] = {
    "BenchEnterpriseByUscc": (1560, 1380),
    "BenchPostingsNested": (300, 316),
    "BenchOccupationsPostings": (107, 114),
    "BenchPostingsFlat": (80, 103),
    "BenchOccupationCounts": (280, 320),
}
PLAIN_SQL: dict[str, float] = {"BenchPostingsNested": 2050, "BenchPostingsFlat": 2500}
# Display order: the five shapes first.
ORDER = ("BenchEnterpriseByUscc", "BenchPostingsNested", "BenchOccupationsPostings", "BenchPostingsFlat",
         "BenchOccupationCounts", "BenchDeepCrossDepartment", "BenchSupplyDemand")


ADHOC_SUFFIX = "\n# sent as an ad-hoc document (not registered)\n"


@dataclass(frozen=True)
class Operation:
    name: str          # the GraphQL operation name
    path: Path
    text: str
    variables: dict = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.path.stem

    def body(self, persisted: bool = False, adhoc: bool = False) -> bytes:
        """The fixed POST body wrk sends (variables take their defaults).

        ``adhoc``: the same operation with a comment appended, so its text is NOT a registered trusted
        document; the hub then runs it through the general path (strawberry + graphql-core) instead of a
        path reserved to registered documents. Same data, same checks.
        """
        if adhoc:
            return orjson.dumps({"query": self.text + ADHOC_SUFFIX, "operationName": self.name})
        if persisted:
            import hashlib

            digest = hashlib.sha256(self.text.encode("utf-8")).hexdigest()
            return orjson.dumps({"operationName": self.name,
                                 "extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}})
        return orjson.dumps({"query": self.text, "operationName": self.name})


def load(selected: list[str] | None = None) -> list[Operation]:
    ops = []
    for path in sorted(BENCH_OPERATIONS_DIR.glob("*.graphql")):
        text = path.read_text(encoding="utf-8")
        names = [d.name.value for d in parse(text).definitions
                 if isinstance(d, OperationDefinitionNode) and d.name is not None]
        if len(names) != 1:
            raise SystemExit(f"{path}: a bench file holds exactly one named operation")
        ops.append(Operation(names[0], path, text))
    if selected:
        wanted = {s.lower() for s in selected}
        ops = [o for o in ops if o.name.lower() in wanted or o.key.lower() in wanted]
        if not ops:
            raise SystemExit(f"no bench operation matches {', '.join(selected)}")
    rank = {n: i for i, n in enumerate(ORDER)}
    return sorted(ops, key=lambda o: (rank.get(o.name, len(ORDER)), o.name))
