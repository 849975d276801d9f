"""HTTP side of the compiled path: answer a POSTed trusted query without graphql-core's executor.

``CompiledQueries`` compiles every query operation of the registered documents at start-up
(``hub.api.fastpath``). For a request it takes the JSON body; when it names a compiled operation (by its
text's hash or ``extensions.persistedQuery``), it coerces the variables, checks the cost limit, runs the
plan, writes the audit entry and answers. In every other case — or on any error — it returns None and
the general path (strawberry + graphql-core) answers the same request from the same body, so errors
look exactly as they always do.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any, Iterator

import orjson
from opentelemetry import context as otel_context
from opentelemetry import trace

from hub.api.document_limits import DocumentAnalysis
from hub.api.fastpath import (
    CompiledOperation,
    Compiler,
    Executor,
    NotCompilable,
    coerce_variables,
)
from hub.api.trusted import document_hash
from hub.governance.audit import AuditEntry, append, build_entry
from hub.telemetry.tracing import current_ids

log = logging.getLogger("hub.compiled")


@contextlib.contextmanager
def _operation_span(ctx: Any, operation: CompiledOperation, text: str) -> Iterator[Any]:
    """The operation span of the general path (``hub.api.telemetry.OperationSpan``), for a plan: same
    name and attributes, current while the plan's loader and SQL spans and the audit write run. When the
    plan falls back, the general path opens its own operation span under the same HTTP span."""
    telemetry = getattr(getattr(ctx, "db", None), "telemetry", None)
    label = f"query {operation.name}" if operation.name else "query"
    if telemetry is None or not trace.get_current_span().is_recording():
        yield None
    else:
        consumer = ctx.consumer
        attributes: dict[str, Any] = {"graphql.operation.type": "query", "hub.compiled": True,
                                      "graphql.document.hash": document_hash(text)}
        if operation.name:
            attributes["graphql.operation.name"] = operation.name
        if consumer is not None:
            attributes.update({"hub.consumer.id": consumer.id, "hub.consumer.department": consumer.department,
                               "hub.consumer.name": consumer.name})
        span = telemetry.tracer.start_span(label, attributes=attributes)
        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            yield span
        finally:
            cost = getattr(ctx, "cost", None)
            if cost is not None:
                span.set_attribute("hub.cost", cost)
            otel_context.detach(token)
            span.end()


COST_CACHE_SIZE = 4096


class CompiledQueries:
    def __init__(self, schema: Any, settings: Any, trusted: Any):
        self.schema = schema
        self.settings = settings
        self.trusted = trusted
        self.plans: dict[str, dict[str | None, CompiledOperation]] = {}
        self.texts: dict[str, str] = {}
        self.skipped: dict[str, str] = {}
        self.answered = 0  # requests answered by a plan (the rest fell back to the general path)
        # cost of (operation, variables): the same variables always cost the same (bounded, cleared when full)
        self._costs: dict[tuple[int, Any], int] = {}
        compiler = Compiler(schema, getattr(schema, "guarded_fields", {}))
        for doc in trusted:
            try:
                self._check_static_limits(doc.text)
                plans = compiler.compile(doc.text)
            except (NotCompilable, Exception) as exc:  # noqa: BLE001 - anything: the general path answers
                self.skipped[doc.path] = str(exc)
                continue
            if plans:
                self.plans[doc.hash] = plans
                self.texts[doc.hash] = doc.text
        log.info("compiled %d trusted documents (%d left to the general path)", len(self.plans), len(self.skipped))

    def _check_static_limits(self, text: str) -> None:
        from graphql import parse

        document = parse(text)
        analysis = DocumentAnalysis(document, self.schema._schema)
        for op in analysis.operations:
            summary = analysis.operation(op)
            if summary.depth > self.settings.max_depth or summary.aliases > self.settings.max_aliases:
                raise NotCompilable("the document exceeds the depth or alias limit")

    def lookup(self, body: Any) -> tuple[CompiledOperation, str, dict[str, Any]] | None:
        """The compiled operation a request body names, with its text and raw variables."""
        if not isinstance(body, dict):
            return None
        query = body.get("query")
        extensions = body.get("extensions")
        digest = None
        if isinstance(query, str):
            digest = document_hash(query)
            persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
            if persisted is not None and (not isinstance(persisted, dict) or persisted.get("sha256Hash") != digest):
                return None  # a mismatch: the general path reports it
        elif query is None and isinstance(extensions, dict):
            persisted = extensions.get("persistedQuery")
            if isinstance(persisted, dict) and persisted.get("version", 1) == 1:
                digest = persisted.get("sha256Hash")
        if not isinstance(digest, str):
            return None
        plans = self.plans.get(digest)
        if plans is None:
            return None
        name = body.get("operationName")
        if name is not None and not isinstance(name, str):
            return None
        operation = plans.get(name)
        variables = body.get("variables")
        if operation is None or not (variables is None or isinstance(variables, dict)):
            return None
        return operation, self.texts[digest], variables or {}

    async def answer(self, ctx: Any, found: tuple[CompiledOperation, str, dict[str, Any]]) -> bytes | None:
        """The response body for a compiled operation (``found`` = ``lookup(body)``), or None to let the
        general path answer."""
        operation, text, raw_variables = found
        primary = getattr(ctx.db, "primary", ctx.db)
        consumer_id = getattr(ctx.consumer, "id", None)
        ctx.db = primary.reader(consumer_id) if hasattr(primary, "reader") else primary  # replicas (hub.db.replicas)
        try:
            with _operation_span(ctx, operation, text) as span:
                data = await self._run(ctx, operation, text, raw_variables)
                if data is None and span is not None:
                    span.set_attribute("hub.compiled.fallback", True)
        finally:
            ctx.db = primary
        if data is None:
            return None
        request = getattr(ctx, "request", None)
        info = request.scope.get("hub.request") if request is not None else None
        if info is not None:  # the access log's and request metrics' operation name
            info.operations.append(f"query {operation.name}" if operation.name else "query")
        self.answered += 1
        response: dict[str, Any] = {"data": data}
        trace_id, _ = current_ids()
        if trace_id is not None:  # as HubGraphQL.process_result adds it on the general path
            response["extensions"] = {"traceId": trace_id}
        return orjson.dumps(response)

    async def _run(self, ctx: Any, operation: CompiledOperation, text: str, raw_variables: dict[str, Any]) -> Any:
        try:
            variables = coerce_variables(self.schema._schema, operation, raw_variables)
            if variables is None:
                return None
            cost = self._cost(operation, raw_variables)
            if cost > self.settings.max_cost:
                return None
            ctx.cost = cost
            data = await Executor(ctx, operation, self.schema, variables).run()
            await append(ctx.db, self._entry(ctx, operation, text))  # waits for its batch to commit
        except Exception as exc:  # noqa: BLE001 - the general path answers (and reports) instead
            log.debug("compiled path fell back for %s: %r", operation.name, exc)
            return None
        return data

    def _cost(self, operation: CompiledOperation, raw_variables: dict[str, Any]) -> int:
        try:
            key: Any = (id(operation), frozenset(raw_variables.items()))
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
    def _entry(ctx: Any, operation: CompiledOperation, text: str) -> AuditEntry:
        return build_entry("query", operation.name, document_hash(text), [], ctx.consumer, ctx.access,
                           current_ids()[0])
