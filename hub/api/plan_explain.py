"""``hub plan --explain FILE.graphql``: what the compiled path does with a document, statement by statement.

For every query operation of the document: each field that fetches data, the statement that answers it
(a file of ``sql/queries/`` on its department's pool, a batch function, or a statement generated from the
join specs, printed whole: ``hub.api.fused``) — or why the general path answers the document instead.
"""

from __future__ import annotations

from typing import Any

from hub.api import specs
from hub.api.compiled import query_names
from hub.api.fastpath import FieldPlan, SelectionPlan
from hub.api.plan_cache import PlanCache
from hub.api.schema import build_schema
from hub.api.trusted import document_hash
from hub.db.pools import SqlRegistry


def explain(text: str, settings: Any, with_sql: bool = True) -> str:
    cache = PlanCache(build_schema(settings), settings, 1)
    digest = document_hash(text)
    names = [n for n in query_names(text) if n is not None] or [None]
    lines: list[str] = []
    for name in names:
        planned = cache.plan(digest, text, name)
        if planned.reason is not None:
            lines.append(f"query {name or '(anonymous)'}: answered by the general path: {planned.reason}")
            continue
        operation = planned.plans[name]
        datasets = ", ".join(sorted(operation.datasets)) or "no dataset"
        lines.append(f"query {operation.name or '(anonymous)'}: may read {datasets} (each checked by its guard when read)")
        _walk(operation.root, "  ", lines, set(), with_sql)
    return "\n".join(lines)


def _walk(plan: SelectionPlan, indent: str, lines: list[str], fused_children: set[int], with_sql: bool) -> None:
    for fp in plan.nested:
        label = f"{indent}{plan.type_name}.{fp.where[1]}" + (f" (as {fp.key})" if fp.key != fp.where[1] else "")
        if fp.dataset:
            label += f"  [dataset {fp.dataset}]"
        if fp.kind == "join":
            lines.append(f"{label}: {_statement(fp, fused_children)}")
            if fp.fused is not None and id(fp) not in fused_children:
                fused_children.update(id(c.plan) for c in fp.fused.children)
                how = "generated from the join specs" if fp.fused.children else "reading only the columns the plan reads"
                lines.append(f"{indent}  one statement on {fp.fused.parent.dept}'s pool, {how} ({fp.fused.name}):")
                if with_sql:
                    lines.extend(f"{indent}    {line}" for line in fp.fused.sql.splitlines())
            if fp.narrowed is not None:
                query = fp.narrowed[0].query
                lines.append(f"{indent}  reading only the columns the plan reads ({query}):")
                if with_sql:
                    lines.extend(f"{indent}    {line}" for line in SqlRegistry.generated[query].splitlines())
        else:
            lines.append(label)
        if fp.child is not None:
            _walk(fp.child, indent + "  ", lines, fused_children, with_sql)


def _statement(fp: FieldPlan, fused_children: set[int]) -> str:
    if id(fp) in fused_children:
        return "answered by its parent's statement (fused)"
    join = fp.join
    loader = getattr(join, "loader", None)
    if isinstance(join, specs.RootPage):
        fused = "; see below" if fp.fused is not None else ""
        return f"sql/queries/{join.query}.sql on {join.dept}'s pool, one statement{fused}"
    if loader is not None and hasattr(loader, "query"):
        how = "one statement for the whole level" if not isinstance(join, specs.Root) else "one statement"
        fused = "; see below" if fp.fused is not None else ""
        return f"sql/queries/{loader.query}.sql on {loader.dept}'s pool, {how}{fused}"
    fn = getattr(join, "fn", None) or getattr(join, "resolve", None)
    name = getattr(fn, "__qualname__", type(join).__name__)
    return f"batch function {getattr(fn, '__module__', '')}.{name} (its loaders' statements, one per level)"


__all__ = ["explain"]
