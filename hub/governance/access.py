"""Sharing rules: the catalog, each department's grants, and their enforcement on every field.

Rules (docs/design.md, "Sharing rules"): the owning department always reads its datasets;
UNCONDITIONAL datasets any authenticated department; CONDITIONAL ones only under an active grant;
NOT_SHARED ones the owner only. PERSONAL fields are masked for every reader but the owner unless its
grant names them, and an argument that filters or orders on a PERSONAL field (the catalog's
``hub.dataset_arguments``) is accepted only from readers who see that field in clear: otherwise a
filter would confirm or enumerate the masked value (``Access.check_arguments``).

Enforcement is installed once on the built GraphQL schema (``install_guards``): every field whose
type is a catalog dataset (an object, a list of them, or a connection of them) — on Query and on every
join — gets a guard that checks access before resolving, then masks personal fields and counts rows
for the audit. A field added later is guarded without anyone remembering to. A denied field resolves to
null with a FORBIDDEN error naming the dataset at its path; the rest of the response is returned.
"""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable

from graphql import GraphQLNonNull, GraphQLObjectType, GraphQLSchema, get_named_type
from hub.errors import Forbidden, HubError, Unauthenticated

if TYPE_CHECKING:
    from hub.db.pools import Databases
    from hub.governance.consumers import Consumer

# Scalar fields that read another dataset than their parent type's.
EXTRA_GUARDS: dict[tuple[str, str], str] = {("Occupation", "postingCount"): "labor.job_postings"}


# --- masking ---------------------------------------------------------------------------------------

def mask_person_name(value: str) -> str:
    """Keep the surname (the first character; two for common compound surnames)."""
    if not value:
        return value
    keep = 2 if value[:2] in COMPOUND_SURNAMES and len(value) > 2 else 1
    return value[:keep] + "*" * (len(value) - keep)


ID_NUMBER_KEPT = 6


def mask_id_number(value: str) -> str:
    """Keep the first 6 characters (the district of issue) of an 18-character GB 11643 number; mask anything else
    entirely.

    Birth date, sequence digits and check character are hidden: readers who see the number masked also see the
    public ``birthYear`` and ``gender`` (the parity of the last sequence digit), which still leave 365 x 500
    (about 182,000) candidate numbers per person. Keeping the last 4 characters as well (sequence digits and check
    character) left 32-35: the check character fixes the birth date within the year (tests/governance/test_id_masking.py).
    """
    if len(value) != 18:
        return "*" * len(value)
    return value[:ID_NUMBER_KEPT] + "*" * (len(value) - ID_NUMBER_KEPT)


def mask_phone(value: str) -> str:
    """Keep the first 3 and last 4 digits."""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


COMPOUND_SURNAMES = frozenset({"欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "令狐", "慕容", "公孙", "尉迟", "长孙", "夏侯"})
MASKS: dict[str, Callable[[str], str]] = {
    "PERSON_NAME": mask_person_name, "ID_NUMBER": mask_id_number, "PHONE": mask_phone,
}


# --- catalog and grants ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Dataset:
    name: str
    department: str
    graphql_type: str
    title: str
    sharing_class: str
    update_cycle: str
    description: str
    fields: tuple["DatasetField", ...] = ()

    @property
    def personal(self) -> dict[str, str]:
        """GraphQL field name -> mask kind, for the PERSONAL fields."""
        return {f.field: f.mask for f in self.fields if f.sensitivity == "PERSONAL" and f.mask}


@dataclass(frozen=True)
class DatasetField:
    dataset: str
    field: str
    sensitivity: str
    mask: str | None
    description: str


@dataclass(frozen=True)
class DatasetArgument:
    """An argument of a dataset-reading GraphQL field and the dataset fields it filters or orders on."""

    parent_type: str
    field: str
    argument: str
    dataset: str
    fields: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class Grant:
    id: int
    dataset: str
    fields: frozenset[str]


@dataclass(frozen=True)
class Catalog:
    datasets: dict[str, Dataset]
    # (parent type, field) -> argument name -> what it filters or orders on
    arguments: dict[tuple[str, str], dict[str, DatasetArgument]] = field(default_factory=dict)

    @property
    def by_type(self) -> dict[str, Dataset]:
        return {d.graphql_type: d for d in self.datasets.values()}


def _grants_by_dataset(rows: list[tuple[int, str, frozenset[str], float]], now: float
                       ) -> tuple[list[tuple[int, str, frozenset[str], float]], float, dict[str, Grant]]:
    """The grant rows still in force at ``now`` (epoch seconds), the earliest expiry among them, and the grants by
    dataset: several grants on one dataset add up their personal fields."""
    live = [r for r in rows if r[3] > now]
    grants: dict[str, Grant] = {}
    for grant_id, dataset, fields, _expires in live:
        prev = grants.get(dataset)
        grants[dataset] = Grant(prev.id if prev else grant_id, dataset, fields | (prev.fields if prev else frozenset()))
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
            self.grants_used.add(grant.id)
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
            self._mask_and_count(dataset, nodes)
        return value

    def after_resolve_many(self, dataset: Dataset, values: list[Any]) -> None:
        """``after_resolve`` of one field's values for many parents at once (the compiled path)."""
        nodes: list[Any] = []
        for value in values:
            if value is None:
                continue
            if isinstance(value, list):
                nodes.extend(value)
            elif hasattr(value, "nodes"):
                nodes.extend(value.nodes)
            else:
                nodes.append(value)
        if nodes:
            self._mask_and_count(dataset, nodes)

    def _mask_and_count(self, dataset: Dataset, nodes: list[Any]) -> None:
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


# --- installing the guards on the schema -----------------------------------------------------------

def _dataset_type_name(gql_type: Any) -> str | None:
    """The object type a field returns: X, [X], or XConnection (whose nodes are X)."""
    named = get_named_type(gql_type)
    if not isinstance(named, GraphQLObjectType):
        return None
    if named.name.endswith("Connection") and "nodes" in named.fields:
        inner = get_named_type(named.fields["nodes"].type)
        return inner.name
    return named.name


def guarded_fields(schema: GraphQLSchema, type_names: set[str]) -> dict[tuple[str, str], str]:
    """(parent type, field) -> dataset GraphQL type, for every field that reads a dataset."""
    found: dict[tuple[str, str], str] = {}
    for parent in schema.type_map.values():
        if not isinstance(parent, GraphQLObjectType) or parent.name.startswith("__"):
            continue
        if parent.name.endswith(("Connection", "Edge")):
            continue  # their node lists belong to the field that returned the connection
        for fname, fdef in parent.fields.items():
            target = _dataset_type_name(fdef.type)
            if target in type_names:
                found[(parent.name, fname)] = target
    return found


def install_guards(schema: GraphQLSchema, type_to_dataset: dict[str, str]) -> dict[tuple[str, str], str]:
    """Wrap the resolver of every dataset-reading field. Returns (type, field) -> dataset name."""
    installed: dict[tuple[str, str], str] = {}
    targets = guarded_fields(schema, set(type_to_dataset))
    for (parent, fname), type_name in targets.items():
        installed[(parent, fname)] = type_to_dataset[type_name]
    for key, dataset in EXTRA_GUARDS.items():
        if key[0] in schema.type_map and key[1] in schema.type_map[key[0]].fields:
            installed[key] = dataset
    for (parent, fname), dataset_name in installed.items():
        fdef = schema.type_map[parent].fields[fname]
        if isinstance(fdef.type, GraphQLNonNull):
            raise RuntimeError(f"{parent}.{fname} reads dataset {dataset_name} and must be nullable, so that "
                               "a denied read returns null with a FORBIDDEN error instead of nulling its parent")
        fdef.resolve = _guard(fdef.resolve, dataset_name, (parent, fname), counts=(parent, fname) not in EXTRA_GUARDS)
    return installed


def _guard(resolve: Callable[..., Any] | None, dataset_name: str, where: tuple[str, str],
           counts: bool) -> Callable[..., Any]:
    from graphql import default_field_resolver

    inner = resolve or default_field_resolver

    async def finish(access: Access, dataset: Dataset, pending: Any) -> Any:
        return access.after_resolve(dataset, await pending)

    def guarded(source: Any, info: Any, **kwargs: Any) -> Any:
        access: Access = info.context.access
        dataset = access.catalog.datasets.get(dataset_name)
        if dataset is None:
            raise Forbidden(f"dataset {dataset_name} is not in the catalog, so it is not shared",
                            dataset=dataset_name)
        access.check(dataset, where, kwargs)  # the dataset, then the arguments (GraphQL names): before any SQL
        result = inner(source, info, **kwargs)
        if not counts:
            return result
        if inspect.isawaitable(result):
            return finish(access, dataset, result)
        return access.after_resolve(dataset, result)

    return guarded

