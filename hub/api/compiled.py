"""HTTP side of the compiled path: answer a query without graphql-core's executor.

``CompiledQueries`` keeps the plans of query documents by document hash (``hub.api.plan_cache``): every
document is compiled the first time it is seen — the registered ones at start-up — whether it comes in
a POST body or a GET's parameters, as text or as a registered document's hash (``extensions.persistedQuery``).
For a request it finds the plan of the operation, coerces the variables, checks the cost limit, runs
the plan, writes the audit entry and answers. In every other case — or on any error — it returns None
and the general path (strawberry + graphql-core) answers the same request, so errors look exactly as
they always do. ``HUB_TRUSTED_DOCUMENTS_ONLY`` still refuses unregistered documents (on the general path).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import OperationDefinitionNode, OperationType, parse

from hub.api.document_limits import DocumentAnalysis
from hub.api.fastpath import CompiledOperation, Executor, coerce_variables
from hub.api.plan_cache import PlanCache, Planned
from hub.api.telemetry import operation_scope
from hub.api.trusted import document_hash
from hub.governance.audit import AuditEntry, append, build_entry
from hub.telemetry.tracing import current_ids, with_trace_id

log = logging.getLogger("hub.compiled")


COST_CACHE_SIZE = 4096


@dataclass(frozen=True)
class Found:
    """A request body's compiled operation, its document's SHA-256 hex and raw variables."""

    operation: CompiledOperation
    digest: str
    variables: dict[str, Any]


def query_names(text: str) -> list[str | None]:
    """The names a request may give to select each query operation of a registered document (None too when it
    holds only one operation)."""
    try:
        operations = [d for d in parse(text).definitions if isinstance(d, OperationDefinitionNode)]
    except Exception:  # noqa: BLE001 - the general path reports the syntax error
        return [None]
    names = [op.name.value for op in operations if op.operation is OperationType.QUERY and op.name is not None]
    return names + [None] if len(operations) == 1 or not names else names


class CompiledQueries:
    def __init__(self, schema: Any, settings: Any, trusted: Any):
        self.schema = schema
        self.settings = settings
        self.trusted = trusted
        self.cache = PlanCache(schema, settings, settings.plan_cache_size)
        self.skipped: dict[str, str] = {}  # registered documents the planner cannot answer: path -> why
        self.answered = 0  # requests answered by a plan (the rest fell back to the general path)
        # cost of (document, operation, variables): the same variables always cost the same (bounded, cleared when full)
        self._costs: dict[tuple[str, str | None, Any], int] = {}
        for doc in trusted:  # warm the cache with the registered documents (and report the ones left out)
            reasons = [planned.reason for name in query_names(doc.text)
                       if (planned := self.cache.get(doc.hash, doc.text, name)).reason is not None]
            if reasons:
                self.skipped[doc.path] = "; ".join(reasons)
        log.info("compiled %d trusted documents (%d left to the general path)",
                 len(trusted) - len(self.skipped), len(self.skipped))

    def planned(self, digest: str, operation_name: str | None = None) -> Planned | None:
        """The cache entry of a document's operation (None: not seen, or pushed out)."""
        return self.cache.entries.get((digest, operation_name))

    def lookup(self, body: Any) -> Found | None:
        """The compiled operation a request body (a POSTed JSON object or a GET's parameters) names, compiled
        on first sight. None: the general path answers (and reports whatever is wrong with the request)."""
        if not isinstance(body, dict):
            return None
        query = body.get("query")
        extensions = body.get("extensions")
        if not isinstance(extensions, (dict, type(None))):
            return None  # the general path refuses it (400)
        persisted = extensions.get("persistedQuery") if extensions is not None else None
        if persisted is not None:
            version = persisted.get("version", 1) if isinstance(persisted, dict) else None
            if version != 1 or isinstance(version, bool):
                return None  # a malformed persistedQuery: the general path reports it
        if isinstance(query, str):
            digest = document_hash(query)
            if persisted is not None and persisted.get("sha256Hash") != digest:
                return None  # a mismatch: the general path reports it
            text = query
        elif query is None and persisted is not None:
            digest = persisted.get("sha256Hash")
            document = self.trusted.get(digest) if isinstance(digest, str) else None
            if document is None:
                return None  # only registered documents are found by their hash alone
            text = document.text
        else:
            return None
        if self.settings.trusted_documents_only and digest not in self.trusted:
            return None  # refused by the general path (PERSISTED_QUERY_NOT_ALLOWED)
        name = body.get("operationName")
        variables = body.get("variables")
        if (name is not None and not isinstance(name, str)) or not (variables is None or isinstance(variables, dict)):
            return None
        operation = self.cache.get(digest, text, name).plans.get(name)
        if operation is None:
            return None
        return Found(operation, digest, variables or {})

    async def answer(self, ctx: Any, found: Found) -> bytes | None:
        """The response body for a compiled operation (``found`` = ``lookup(body)``), or None to let the
        general path answer."""
        operation = found.operation
        # The operation span, metrics and access-log operation of the general path; reads routed to a replica.
        with operation_scope(ctx, "query", operation.name, digest=found.digest,
                             attributes={"hub.compiled": True}) as outcome:
            data = await self._run(ctx, found)
            if data is None:  # the general path answers, under its own operation span
                outcome.hand_over("compiled plan (fell back)", {"hub.compiled.fallback": True})
        if data is None:
            return None
        self.answered += 1
        response: dict[str, Any] = {"data": data}
        extensions = with_trace_id(None)  # as HubGraphQL.process_result adds it on the general path
        if extensions is not None:
            response["extensions"] = extensions
        return orjson.dumps(response)

    async def _run(self, ctx: Any, found: Found) -> Any:
        operation = found.operation
        try:
            variables = coerce_variables(self.schema._schema, operation, found.variables)
            if variables is None:
                return None
            cost = self._cost(found)
            if cost > self.settings.max_cost:
                return None
            ctx.cost = cost
            data = await Executor(ctx, operation, self.schema, variables).run()
            await append(ctx.db, self._entry(ctx, operation, found.digest))  # waits for its batch to commit
        except Exception as exc:  # noqa: BLE001 - the general path answers (and reports) instead
            log.debug("compiled path fell back for %s: %r", operation.name, exc)
            return None
        return data

    def _cost(self, found: Found) -> int:
        operation, raw_variables = found.operation, found.variables
        try:
            key: Any = (found.digest, operation.name, frozenset(raw_variables.items()))
            cached = self._costs.get(key)
        except TypeError:  # a list or object among the variables: not hashable, computed every time
            key, cached = None, None
        if cached is not None:
            return cached
        cost = DocumentAnalysis(operation.document, self.schema._schema, variables=raw_variables,
                                default_page_size=self.settings.default_page_size,
                                max_page_size=self.settings.max_page_size).cost(operation.name)
        if key is not None:
            if len(self._costs) >= COST_CACHE_SIZE:
                self._costs.clear()
            self._costs[key] = cost
        return cost

    @staticmethod
    def _entry(ctx: Any, operation: CompiledOperation, digest: str) -> AuditEntry:
        return build_entry("query", operation.name, digest, [], ctx.consumer, ctx.access, current_ids()[0])
