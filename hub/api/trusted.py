"""Trusted documents (persisted operations): ``graphql/operations/**/*.graphql``, each registered by the
SHA-256 hex of its exact bytes.

A client sends ``{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "<hex>"}}}`` and no
``query`` (POST body, or GET with ``extensions`` as a JSON query parameter); the hub runs the registered
document. Errors (GraphQL errors, HTTP 200):

* unknown hash, no query text                        -> PERSISTED_QUERY_NOT_FOUND
* a hash together with a query text that does not match it, a malformed persistedQuery -> BAD_USER_INPUT
* ``trusted_documents_only`` (HUB_TRUSTED_DOCUMENTS_ONLY=true) and a document that is not registered
  (by hash or as text)                               -> PERSISTED_QUERY_NOT_ALLOWED

A query text whose hash is registered is accepted in every mode. Documents are found from
``hub.GRAPHQL_DIR``, never from the working directory, and loaded once at start-up.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub import GRAPHQL_DIR
from hub.errors import BadUserInput, HubError, SetupError

OPERATIONS_DIR = GRAPHQL_DIR / "operations"
_SHA256_HEX = re.compile(r"\A[0-9a-f]{64}\Z")


class PersistedQueryNotFound(HubError):
    code = "PERSISTED_QUERY_NOT_FOUND"


class PersistedQueryNotAllowed(HubError):
    code = "PERSISTED_QUERY_NOT_ALLOWED"


def document_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class TrustedDocument:
    hash: str
    text: str
    path: str  # relative to the operations directory, e.g. "examples/occupation_postings.graphql"


class TrustedDocuments:
    def __init__(self, documents: Mapping[str, TrustedDocument] | None = None):
        self._by_hash: dict[str, TrustedDocument] = dict(documents or {})

    @classmethod
    def load(cls, root: Path = OPERATIONS_DIR) -> "TrustedDocuments":
        documents: dict[str, TrustedDocument] = {}
        if root.is_dir():
            for path in sorted(root.rglob("*.graphql")):
                raw = path.read_bytes()
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise SetupError(f"trusted document {path} is not UTF-8: {exc}") from exc
                digest = document_hash(text)
                documents.setdefault(digest, TrustedDocument(digest, text, path.relative_to(root).as_posix()))
        return cls(documents)

    def __len__(self) -> int:
        return len(self._by_hash)

    def __contains__(self, digest: object) -> bool:
        return digest in self._by_hash

    def __iter__(self):
        return iter(sorted(self._by_hash.values(), key=lambda d: d.path))

    def get(self, digest: str) -> TrustedDocument | None:
        return self._by_hash.get(digest)

    def resolve(self, query: Any, extensions: Any, trusted_only: bool) -> tuple[str | None, str | None]:
        """The query text to run and its hash, or raise a HubError with the code to answer.

        ``query`` None and no persistedQuery: returned unchanged (strawberry answers "no query").
        """
        persisted = extensions.get("persistedQuery") if isinstance(extensions, Mapping) else None
        if persisted is None:
            if not isinstance(query, str):
                return query, None
            digest = document_hash(query)
            if trusted_only and digest not in self._by_hash:
                raise PersistedQueryNotAllowed(
                    "only trusted documents may run here: send a registered document's sha256Hash in "
                    "extensions.persistedQuery")
            return query, digest
        if not isinstance(persisted, Mapping):
            raise BadUserInput("extensions.persistedQuery must be an object with version and sha256Hash")
        version = persisted.get("version", 1)
        if version != 1 or isinstance(version, bool):
            raise BadUserInput(f"unsupported persistedQuery version {version!r}: only version 1 is supported")
        digest = persisted.get("sha256Hash")
        if not isinstance(digest, str) or not _SHA256_HEX.match(digest.lower()):
            raise BadUserInput("extensions.persistedQuery.sha256Hash must be a SHA-256 hex digest")
        digest = digest.lower()
        if isinstance(query, str) and query:
            if document_hash(query) != digest:
                raise BadUserInput("the query text does not match extensions.persistedQuery.sha256Hash")
            if trusted_only and digest not in self._by_hash:
                raise PersistedQueryNotAllowed("this document is not a registered trusted document")
            return query, digest
        document = self._by_hash.get(digest)
        if document is None:
            raise PersistedQueryNotFound("PersistedQueryNotFound: no trusted document has this sha256Hash",
                                         sha256Hash=digest)
        return document.text, digest
