"""Plans of query documents by document hash: every document is compiled on first sight.

A query document (POST or GET, persisted or not, registered or not) is parsed with the token limit,
validated with graphql-core's rules plus the hub's depth and alias rules (``hub.limits``), and compiled
(``hub.fastpath``) the first time its SHA-256 is seen; the result is kept in a bounded LRU
(``HUB_PLAN_CACHE_SIZE`` documents, ``cachetools.LRUCache``). A document the planner cannot answer
exactly (invalid, over a limit, a directive, introspection, a field without a batch spec ...) is cached
too, with the reason, so that it costs one compile attempt and then goes straight to the general path.
The cost limit depends on the variables and is checked per request (``hub.compiled``). Documents over
``MAX_DOCUMENT_CHARS`` are not planned, so the cache's memory is bounded by its size times that.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from cachetools import LRUCache
from graphql import parse, specified_rules, validate

from hub.fastpath import CompiledOperation, Compiler, NotCompilable
from hub.limits import alias_rule, depth_rule

log = logging.getLogger("hub.plan_cache")

# The largest document planned (and kept); longer ones (never a department system's query) go to the general path.
MAX_DOCUMENT_CHARS = 20_000


@dataclass(frozen=True)
class Planned:
    """One document's plans by operation name (None: the only operation), or why there are none."""

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
        self.entries: LRUCache[str, Planned] = LRUCache(maxsize=size)
        self.stats = PlanStats()

    def get(self, digest: str, text: str) -> Planned:
        """The plans of ``text`` (whose SHA-256 hex is ``digest``), compiled now if not cached."""
        found = self.entries.get(digest)
        if found is not None:
            self.stats.hits += 1
            return found
        if len(text) > MAX_DOCUMENT_CHARS:  # bounded memory: the cache holds at most size x this much
            return Planned(digest, reason=f"documents over {MAX_DOCUMENT_CHARS} characters are not planned")
        started = time.perf_counter()
        planned = self.plan(digest, text)
        self.stats.compile_seconds += time.perf_counter() - started
        if planned.plans:
            self.stats.compiled += 1
        else:
            self.stats.fallback += 1
        self.entries[digest] = planned
        return planned

    def plan(self, digest: str, text: str) -> Planned:
        """Parse (token limit), validate (graphql-core's rules, depth, aliases) and compile one document."""
        try:
            document = parse(text, max_tokens=self.settings.max_tokens)
            if validate(self.schema._schema, document, self.rules):
                raise NotCompilable("the document does not validate or exceeds the depth or alias limit")
            plans = self.compiler.compile(document)
            if not plans:
                raise NotCompilable("the document has no query operation")
        except Exception as exc:  # noqa: BLE001 - anything: the general path answers (and reports errors)
            log.debug("document %s is answered by the general path: %r", digest[:12], exc)
            return Planned(digest, reason=f"{type(exc).__name__}: {exc}")
        return Planned(digest, plans)


__all__ = ["PlanCache", "Planned", "PlanStats"]
