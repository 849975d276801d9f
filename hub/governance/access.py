"""The sharing policy: the catalog and grants in force, and what one request may read and did read (for the audit).

Rules (docs/design.md, "Sharing rules"): the owning department always reads its datasets;
UNCONDITIONAL datasets any authenticated department; CONDITIONAL ones only under an active grant;
NOT_SHARED ones the owner only. PERSONAL fields are masked for every reader but the owner unless its
grant names them, and an argument that filters or orders on a PERSONAL field (the catalog's
``hub.dataset_arguments``) is accepted only from readers who see that field in clear: otherwise a
filter would confirm or enumerate the masked value (``Access.check_arguments``).

Here: the catalog and grants cached per process (``PolicyStore``) and the per-request decision (``Access``). The
catalog's types are in ``hub.governance.catalog``, the masks in ``hub.governance.masking``, and the guards that call
``Access`` on every dataset-reading field are installed by ``hub.governance.guards``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable

from hub.errors import Forbidden, HubError, Unauthenticated
from hub.governance.catalog import Catalog, Dataset, DatasetArgument, DatasetField, Grant
from hub.governance.masking import MASKS

if TYPE_CHECKING:
    from hub.db.pools import Databases
    from hub.governance.consumers import Consumer


# --- the catalog and grants, cached per process ----------------------------------------------------

def _grants_by_dataset(rows: list[tuple[int, str, frozenset[str], float]], now: float
                       ) -> tuple[list[tuple[int, str, frozenset[str], float]], float, dict[str, Grant]]:
    """The grant rows still in force at ``now`` (epoch seconds), the earliest expiry among them, and the grants by
    dataset: several grants on one dataset add up their personal fields, and a read under them uses every one (the
    audit entry names them all, not just one: which one unmasked a field would be lost)."""
    live = [r for r in rows if r[3] > now]
    grants: dict[str, Grant] = {}
    for grant_id, dataset, fields, _expires in live:
        prev = grants.get(dataset)
        grants[dataset] = Grant((prev.ids if prev else frozenset()) | {grant_id}, dataset,
                                fields | (prev.fields if prev else frozenset()))
    return live, min((r[3] for r in live), default=float("inf")), grants


class PolicyStore:
    """The catalog and each department's active grants, cached for ``ttl`` seconds per process.

    Writes made through this process (grant reviews, revocations) invalidate at once; writes made by
    other processes are seen within ``ttl``.
    """

    def __init__(self, db: "Databases", ttl: float):
        self.db = db
        self.ttl = ttl
        self._catalog: tuple[float, Catalog] | None = None
        # department -> (loaded at, rows in force, earliest expiry, grants by dataset)
        self._grants: dict[str, tuple[float, list[tuple[int, str, frozenset[str], float]], float,
                                      dict[str, Grant]]] = {}

    async def catalog(self) -> Catalog:
        now = time.monotonic()
        if self._catalog is None or now - self._catalog[0] >= self.ttl:
            rows = await self.db.hub.fetch("hub/catalog_datasets")
            field_rows = await self.db.hub.fetch("hub/catalog_fields")
            by_dataset: dict[str, list[DatasetField]] = {}
            for r in field_rows:
                by_dataset.setdefault(r["dataset"], []).append(DatasetField(**dict(r)))
            datasets = {r["name"]: Dataset(**dict(r), fields=tuple(by_dataset.get(r["name"], ())))
                        for r in rows}
            arguments: dict[tuple[str, str], dict[str, DatasetArgument]] = {}
            for r in await self.db.hub.fetch("hub/catalog_arguments"):
                arguments.setdefault((r["parent_type"], r["field"]), {})[r["argument"]] = DatasetArgument(
                    **{**dict(r), "fields": tuple(r["fields"])})
            self._catalog = (now, Catalog(datasets, arguments))
        return self._catalog[1]

    async def grants(self, department: str) -> dict[str, Grant]:
        """The department's active grants by dataset. Cached for ``ttl``, except that a grant stops counting the
        moment its ``expires_at`` passes (revocations by other processes are seen within ``ttl``)."""
        now = time.monotonic()
        cached = self._grants.get(department)
        if cached is None or now - cached[0] >= self.ttl:
            rows = await self.db.hub.fetch("hub/grants_active_for_department", department)
            rows = [(r["id"], r["dataset"], frozenset(r["fields"] or ()), r["expires_at"].timestamp()) for r in rows]
            cached = self._grants[department] = (now, *_grants_by_dataset(rows, time.time()))
        elif time.time() >= cached[2]:  # a cached grant has expired since: drop it now, not a window later
            _, rows, _, _ = cached
            cached = self._grants[department] = (cached[0], *_grants_by_dataset(rows, time.time()))
        return cached[3]

    def invalidate(self) -> None:
        self._catalog = None
        self._grants.clear()


# --- the per-request access decision ---------------------------------------------------------------


@dataclass
class Access:
    """What one request may read, and what it did read (for the audit)."""

    consumer: "Consumer | None"
    catalog: Catalog
    grants: dict[str, Grant]
    datasets_read: set[str] = field(default_factory=set)
    grants_used: set[int] = field(default_factory=set)
    rows: dict[str, int] = field(default_factory=dict)
    masked: set[str] = field(default_factory=set)
    denied: set[str] = field(default_factory=set)
    _maskers: dict[str, dict[str, Callable[[str], str]]] = field(default_factory=dict)
    _masked_fields: dict[str, frozenset[str]] = field(default_factory=dict)

    def check(self, dataset: Dataset, where: tuple[str, str] | None = None,
              arguments: dict[str, Any] | None = None) -> None:
        """May this consumer read ``dataset`` (FORBIDDEN otherwise)? With ``where`` (parent type, field) and the
        field's ``arguments`` (GraphQL names), also ``check_arguments``. Nothing is recorded as read when refused."""
        refusal = self._refusal(dataset)
        if refusal is not None:
            if isinstance(refusal, Forbidden):
                self.denied.add(dataset.name)
            raise refusal
        if self.consumer.department == dataset.department:
            self.datasets_read.add(dataset.name)
            return
        if where is not None and arguments:
            self.check_arguments(dataset, where, arguments)
        grant = self.grants.get(dataset.name)
        if grant is not None and (dataset.sharing_class == "CONDITIONAL" or dataset.personal):  # it may unmask
            self.grants_used |= grant.ids
        self.datasets_read.add(dataset.name)

    def allows(self, dataset: Dataset) -> bool:
        """Would ``check(dataset)`` (without arguments) pass? Nothing is recorded: the compiled path asks before
        it reads a field together with its parent in one statement (``hub.api.fused``)."""
        return self._refusal(dataset) is None

    def _refusal(self, dataset: Dataset) -> HubError | None:
        """The sharing rule: None when this consumer may read ``dataset``, else the error to raise."""
        consumer = self.consumer
        if consumer is None:
            return Unauthenticated("authentication required")
        if consumer.department == dataset.department:
            return None
        cls = dataset.sharing_class
        if cls == "CONDITIONAL":
            if self.grants.get(dataset.name) is None:
                return Forbidden(
                    f"dataset {dataset.name} is CONDITIONAL: department {consumer.department} needs an active "
                    f"grant from {dataset.department} (requestAccess)",
                    dataset=dataset.name, sharingClass=cls)
        elif cls != "UNCONDITIONAL":
            return Forbidden(f"dataset {dataset.name} is NOT_SHARED: only {dataset.department} may read it",
                             dataset=dataset.name, sharingClass=cls)
        return None

    def renew(self, fresh: "Access") -> None:
        """Go on under ``fresh`` (the same consumer's current catalog and grants) — a long-running operation, e.g.
        a subscription: every dataset read so far must still pass ``check``, else FORBIDDEN (and the dataset is
        recorded as denied); masking then follows the current grants."""
        for name in sorted(self.datasets_read):
            dataset = fresh.catalog.datasets.get(name)
            try:
                if dataset is None:
                    raise Forbidden(f"dataset {name} is not in the catalog, so it is not shared", dataset=name)
                fresh.check(dataset)
            except Forbidden:
                self.denied.add(name)
                raise
        self.consumer, self.catalog, self.grants = fresh.consumer, fresh.catalog, fresh.grants
        self.grants_used |= fresh.grants_used
        self._maskers.clear()
        self._masked_fields.clear()

    def check_arguments(self, dataset: Dataset, where: tuple[str, str], arguments: dict[str, Any]) -> None:
        """FORBIDDEN, naming the field, when an argument given a value filters or orders on a PERSONAL field of
        ``dataset`` that this consumer sees masked: its answers would confirm or enumerate the hidden value.

        What each argument touches is in the catalog (``hub.dataset_arguments``); an argument missing there is
        taken to touch every personal field of the dataset (a test keeps the catalog complete). Call it before
        the field's SQL runs: both the guards below and the compiled path (``hub.api.fastpath``) do.
        """
        masked = self.masked_fields(dataset)
        if not masked:
            return
        declared = self.catalog.arguments.get(where, {})
        for name, value in arguments.items():
            if value is None:
                continue
            use = declared.get(name)
            touched = use.fields if use is not None else tuple(sorted(dataset.personal))
            hidden = [f for f in touched if f in masked]
            if not hidden:
                continue
            self.denied.add(dataset.name)
            department = self.consumer.department if self.consumer is not None else None
            how = "filters or orders on" if use is not None else "is not in the catalog, so it counts as filtering on"
            raise Forbidden(
                f"argument {name} of {where[0]}.{where[1]} {how} {dataset.name}.{hidden[0]}, a PERSONAL field "
                f"department {department} sees masked: only {dataset.department} or a grant naming {hidden[0]} "
                f"may filter or order on it (requestAccess)",
                dataset=dataset.name, field=hidden[0], argument=name)

    def masked_fields(self, dataset: Dataset) -> frozenset[str]:
        """The PERSONAL fields (GraphQL names) of ``dataset`` this consumer sees masked."""
        found = self._masked_fields.get(dataset.name)
        if found is None:
            personal = dataset.personal
            if not personal or (self.consumer is not None and self.consumer.department == dataset.department):
                found = frozenset()
            else:
                grant = self.grants.get(dataset.name)
                found = frozenset(personal) - (grant.fields if grant else frozenset())
            self._masked_fields[dataset.name] = found
        return found

    def maskers(self, dataset: Dataset) -> dict[str, Callable[[str], str]]:
        """attribute name -> mask function, for the personal fields this consumer must not see."""
        found = self._maskers.get(dataset.name)
        if found is None:
            kinds = dataset.personal
            found = {_snake(name): MASKS[kinds[name]] for name in sorted(self.masked_fields(dataset))}
            self._maskers[dataset.name] = found
        return found

    def after_resolve(self, dataset: Dataset, value: Any) -> Any:
        """Mask and count the objects a guarded field returned."""
        if value is None:
            return value
        nodes = value.nodes if hasattr(value, "nodes") else value if isinstance(value, list) else [value]
        if nodes:
            self.mask_and_count(dataset, nodes)
        return value

    def mask_and_count(self, dataset: Dataset, nodes: list[Any]) -> None:
        """Mask and count the objects a guarded field returned (for many parents at once on the compiled path)."""
        self.rows[dataset.name] = self.rows.get(dataset.name, 0) + len(nodes)
        maskers = self.maskers(dataset)
        if maskers:
            for node in nodes:
                for attr, fn in maskers.items():
                    raw = getattr(node, attr, None)
                    if isinstance(raw, str):
                        setattr(node, attr, fn(raw))
            self.note_masked(dataset, maskers)

    def note_masked(self, dataset: Dataset, columns: Iterable[str]) -> None:
        """Record, for the audit entry, the personal fields of ``dataset`` masked for this consumer (by their
        GraphQL names): the GraphQL guards, the sync feed and snapshot, and ingest reports."""
        self.masked.update(f"{dataset.name}.{_camel(c)}" for c in columns)


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)
