"""Plans of query documents by document hash: every document is compiled on first sight.

A query document (POST or GET, persisted or not, registered or not) is parsed with the token limit,
validated with graphql-core's rules plus the hub's depth and alias rules (``hub.api.document_limits``), and compiled
(``hub.api.fastpath``) the first time its SHA-256 is seen; the result is kept in a bounded LRU
(``HUB_PLAN_CACHE_SIZE`` documents, ``cachetools.LRUCache``). A document the planner cannot answer
exactly (invalid, over a limit, a directive, introspection, a field without a batch spec ...) is cached
too, with the reason, so that it costs one compile attempt and then goes straight to the general path.
The cost limit depends on the variables and is checked per request (``hub.api.compiled``). An entry is one
operation — the one a request names, with the fragments it spreads, parsed without locations — so a
document of many operations costs the cache what one of them does; documents over ``MAX_DOCUMENT_CHARS``
are not planned at all.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from cachetools import LRUCache
from graphql import (DocumentNode, FragmentDefinitionNode, FragmentSpreadNode, OperationDefinitionNode, Visitor, parse,
                     specified_rules, validate, visit)

from hub.api.fastpath import CompiledOperation, Compiler, NotCompilable
from hub.api.limit_rules import alias_rule, depth_rule

log = logging.getLogger("hub.plan_cache")

# The largest document planned (and kept); longer ones (never a department system's query) go to the general path.
MAX_DOCUMENT_CHARS = 20_000


@dataclass(frozen=True)
class Planned:
    """The plan of one operation of a document, by the name a request selects it with (None: the only
    operation), or why there is none."""

    digest: str
    plans: dict[str | None, CompiledOperation] = field(default_factory=dict)
    reason: str | None = None  # set when the general path answers every operation of this document


@dataclass
class PlanStats:
    hits: int = 0
    compiled: int = 0  # documents compiled with at least one plan
    fallback: int = 0  # documents the planner cannot answer (reason kept in the cache entry)
    compile_seconds: float = 0.0  # total time spent compiling on first sight


class PlanCache:
    def __init__(self, schema: Any, settings: Any, size: int):
        self.schema = schema
        self.settings = settings
        self.compiler = Compiler(schema, getattr(schema, "guarded_fields", {}))
        self.rules = (*specified_rules, depth_rule(settings.max_depth), alias_rule(settings.max_aliases))
        self.entries: LRUCache[tuple[str, str | None], Planned] = LRUCache(maxsize=size)
        self.stats = PlanStats()

    def get(self, digest: str, text: str, operation_name: str | None = None) -> Planned:
        """The plan of one operation of ``text`` (whose SHA-256 hex is ``digest``), compiled now if not cached.
        Only the operation a request names is compiled and kept (with the fragments it spreads), so a document
        of many operations costs the cache one operation per entry."""
        key = (digest, operation_name)
        found = self.entries.get(key)
        if found is not None:
            self.stats.hits += 1
            return found
        if len(text) > MAX_DOCUMENT_CHARS:  # bounded memory (see the module)
            return Planned(digest, reason=f"documents over {MAX_DOCUMENT_CHARS} characters are not planned")
        started = time.perf_counter()
        planned = self.plan(digest, text, operation_name)
        self.stats.compile_seconds += time.perf_counter() - started
        if planned.plans:
            self.stats.compiled += 1
        else:
            self.stats.fallback += 1
        self.entries[key] = planned
        return planned

    def plan(self, digest: str, text: str, operation_name: str | None = None) -> Planned:
        """Parse (token limit), validate (graphql-core's rules, depth, aliases) and compile one operation."""
        try:
            document = parse(text, max_tokens=self.settings.max_tokens, no_location=True)
            if validate(self.schema._schema, document, self.rules):
                raise NotCompilable("the document does not validate or exceeds the depth or alias limit")
            operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
            if operation_name is None:
                chosen = operations if len(operations) == 1 else []
            else:
                chosen = [op for op in operations if op.name is not None and op.name.value == operation_name]
            if not chosen:
                raise NotCompilable("no operation of the document is selected by the operation name")
            plans = self.compiler.compile(_only(document, chosen[0]))
            if not plans:
                raise NotCompilable("the operation is not a query")
        except Exception as exc:  # noqa: BLE001 - anything: the general path answers (and reports errors)
            log.debug("document %s is answered by the general path: %r", digest[:12], exc)
            return Planned(digest, reason=f"{type(exc).__name__}: {exc}")
        return Planned(digest, plans)


class _Spreads(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_: Any) -> None:
        self.names.add(node.name.value)


def _only(document: DocumentNode, operation: OperationDefinitionNode) -> DocumentNode:
    """The document reduced to one operation and the fragments it spreads (directly or through fragments)."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    spreads, todo, kept = _Spreads(), [operation], []
    while todo:
        visit(todo.pop(), spreads)
        for name in sorted(spreads.names - {f.name.value for f in kept}):
            if name in fragments:
                kept.append(fragments[name])
                todo.append(fragments[name])
    return DocumentNode(definitions=(operation, *kept))


__all__ = ["PlanCache", "Planned", "PlanStats"]
