"""Signed checkpoints of the audit chain's head: the log proves its own end (after RFC 6962's signed tree
heads and X-Road's time-stamped message log).

The hash chain (``hub.governance.audit_hash``) shows that no entry was altered or removed *between* entries, but
removing the newest entries, or rewriting an entry and re-hashing every later one, leaves a chain that
verifies. A checkpoint fixes the head: "entry E, the N-th entry of the chain, has hash H", signed with the
hub's Ed25519 key (``hub.governance.audit_keys``; the key is a file, never in the database). Checkpoints are stored in
``hub.audit_checkpoints`` (append-only, migration 0014) and appended to an export file
(``HUB_AUDIT_CHECKPOINT_EXPORT``, JSON lines) that the bureau keeps elsewhere; ``hub audit verify
--checkpoints FILE`` then fails, naming the checkpoint, when the chain no longer extends an exported head.
What stays undetectable: changes to entries newer than the newest exported head, and anything done by
someone who holds the signing key.

Signing (``Signer.checkpoint``): on a connection of its own, under a session advisory lock (one signer at
a time over every worker and replica; the others skip), read the newest checkpoint and the chain's head in
one snapshot; refuse to sign (``ChainRegression``) when the chain no longer holds the newest checkpoint's
entry with its hash; skip when the head did not move since (nothing new to prove); else sign the next
``seq``, store it, and make sure the export file ends with the newest stored checkpoint (so a failed append
is made good next time). Each hub process runs ``Signer.run`` in the app's lifespan: every
``HUB_AUDIT_CHECKPOINT_SECONDS`` it signs unless another process signed less than 0.9 of that interval ago.
``hub audit checkpoint`` signs at once.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import json
import logging
import os
import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping

import asyncpg
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hub import SQL_DIR
from hub.db.pools import strip_header
from hub.errors import SetupError
from hub.governance.audit_hash import utc_text
from hub.governance.audit_keys import key_id, load_private_key

log = logging.getLogger("hub.checkpoints")

VERSION = 1
MESSAGE_HEADER = "talent-data-hub audit checkpoint v1"
DUE_FRACTION = 0.9  # the periodic signer skips when another process signed within 0.9 intervals
LOCK_WAIT_SECONDS = 10.0  # hub audit checkpoint waits this long for a signer holding the lock
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
_TAIL_BYTES = 8192  # the export file's last line is read from its tail


@dataclass(frozen=True)
class SignedHead:
    """One checkpoint, as stored and as exported (one JSON line)."""

    seq: int
    entry_id: int
    entry_hash: str
    entry_count: int
    signed_at: str  # UTC, microseconds (hub.governance.audit_hash.utc_text)
    key_id: str
    signature: str  # base64 of the Ed25519 signature of message()

    def message(self) -> bytes:
        """The signed bytes: every field but the signature, one ``name: value`` line each, after a header."""
        return "\n".join((
            MESSAGE_HEADER, f"seq: {self.seq}", f"entry_id: {self.entry_id}", f"entry_hash: {self.entry_hash}",
            f"entry_count: {self.entry_count}", f"signed_at: {self.signed_at}", f"key_id: {self.key_id}",
        )).encode("ascii")

    @property
    def label(self) -> str:
        return f"checkpoint #{self.seq} (entry {self.entry_id}, signed {self.signed_at})"

    def to_line(self) -> str:
        return json.dumps({"version": VERSION, **asdict(self)}, separators=(",", ":")) + "\n"

    @classmethod
    def from_json(cls, obj: Any) -> "SignedHead":
        """A checkpoint from an export line's JSON; ValueError saying what is wrong."""
        if not isinstance(obj, dict):
            raise ValueError("not a JSON object")
        if obj.get("version") != VERSION:
            raise ValueError(f"version {obj.get('version')!r}, expected {VERSION}")
        values: dict[str, Any] = {}
        for name in ("seq", "entry_id", "entry_count"):
            value = obj.get(name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
            values[name] = value
        for name, pattern in (("entry_hash", _HEX64), ("key_id", _HEX64), ("signed_at", _UTC)):
            value = obj.get(name)
            if not isinstance(value, str) or not pattern.match(value):
                raise ValueError(f"{name} is malformed: {value!r}")
            values[name] = value
        signature = obj.get("signature")
        if not isinstance(signature, str) or len(_unbase64(signature)) != 64:
            raise ValueError("signature is not 64 bytes of base64")
        return cls(signature=signature, **values)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "SignedHead":
        return cls(row["seq"], row["entry_id"], row["entry_hash"], row["entry_count"], utc_text(row["signed_at"]),
                   row["key_id"], row["signature"])


def _unbase64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return b""


def sign(key: Ed25519PrivateKey, *, seq: int, entry_id: int, entry_hash: str, entry_count: int,
         signed_at: dt.datetime) -> SignedHead:
    unsigned = SignedHead(seq, entry_id, entry_hash, entry_count, utc_text(signed_at), key_id(key.public_key()), "")
    signature = base64.b64encode(key.sign(unsigned.message())).decode("ascii")
    return SignedHead(**{**asdict(unsigned), "signature": signature})


def signature_problem(head: SignedHead, public_keys: Mapping[str, Ed25519PublicKey]) -> str | None:
    """None when ``head`` is signed by one of ``public_keys`` (by key id), else what is wrong."""
    key = public_keys.get(head.key_id)
    if key is None:
        return f"{head.label} is signed by key {head.key_id[:16]}…, not by a given public key"
    try:
        key.verify(_unbase64(head.signature), head.message())
    except InvalidSignature:
        return f"{head.label}: the signature does not verify (the checkpoint was altered or forged)"
    return None


# --- the export file ----------------------------------------------------------------------------------

def read_export(path: Path) -> tuple[list[tuple[int, SignedHead]], list[str]]:
    """The checkpoints of an export file with their line numbers, and the lines that are not checkpoints.
    OSError when the file cannot be read."""
    heads: list[tuple[int, SignedHead]] = []
    problems: list[str] = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                heads.append((number, SignedHead.from_json(json.loads(line))))
            except ValueError as exc:  # json.JSONDecodeError is a ValueError
                problems.append(f"{path.name} line {number} is not a checkpoint: {exc}")
    return heads, problems


def seq_gaps(name: str, heads: list[SignedHead]) -> list[str]:
    """What is missing between the checkpoints of an export file (in file order): the signer appends every
    checkpoint, so seqs go up by one; a gap means lines were removed (which would hide what they covered)."""
    problems = []
    for before, after in zip(heads, heads[1:]):
        if after.seq != before.seq + 1:
            missing = (f"checkpoint #{before.seq + 1}" if after.seq == before.seq + 2
                       else f"checkpoints #{before.seq + 1}–#{after.seq - 1}")
            problems.append(f"{name}: {missing} missing between {before.label} and {after.label} (lines removed?)"
                            if after.seq > before.seq else
                            f"{name}: {after.label} follows {before.label} (lines out of order or repeated)")
    return problems


def last_exported(path: Path) -> SignedHead | None:
    """The checkpoint on the export file's last complete line (None: no file, empty, or not a checkpoint)."""
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - _TAIL_BYTES))
            tail = f.read()
    except FileNotFoundError:
        return None
    lines = [line for line in tail.split(b"\n")[:-1] if line.strip()]  # [:-1]: a partial last line
    if not lines:
        return None
    try:
        return SignedHead.from_json(json.loads(lines[-1]))
    except ValueError:
        return None


def append_export(path: Path, head: SignedHead) -> None:
    """Append ``head`` as one line with one write (O_APPEND), then fsync; after a partial line left by a
    crash, start on a new line."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        data = head.to_line().encode("ascii")
        size = os.fstat(fd).st_size
        if size:
            with open(path, "rb") as f:
                f.seek(size - 1)
                if f.read(1) != b"\n":
                    data = b"\n" + data
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


# --- signing ------------------------------------------------------------------------------------------

class ChainRegression(Exception):
    """The chain no longer extends the newest stored checkpoint: the signer refuses to sign."""


@dataclass(frozen=True)
class Outcome:
    """What one signing attempt did: ``signed`` a new head, or skipped (``busy``: another process holds
    the lock; ``empty``: no entries; ``unchanged``: the head is the newest checkpoint's; ``not due``:
    another process signed recently). ``newest``: the newest stored checkpoint afterwards."""

    status: str
    newest: SignedHead | None = None
    exported: bool = False  # this attempt appended ``newest`` to the export file


@lru_cache(maxsize=None)
def _sql(name: str) -> str:
    return strip_header((SQL_DIR / "queries" / "hub" / f"{name}.sql").read_text(encoding="utf-8"))


class Signer:
    """Signs the audit chain's head with one key; see the module docstring."""

    def __init__(self, key: Ed25519PrivateKey, export: Path | None, interval: float,
                 connect_timeout: float = 5.0, statement_timeout_ms: int = 15_000):
        self.key = key
        self.key_id = key_id(key.public_key())
        self.export = export
        self.interval = interval
        self.connect_timeout = connect_timeout
        self.statement_timeout_ms = statement_timeout_ms

    async def checkpoint(self, url: str, *, periodic: bool = False) -> Outcome:
        """One attempt on a connection of its own to ``url`` (the hub schema's database). ``periodic``: skip
        when another process holds the lock or signed recently; else wait for the lock (LOCK_WAIT_SECONDS)."""
        conn = await asyncpg.connect(url, timeout=self.connect_timeout, server_settings={
            "application_name": "talent-data-hub audit checkpoint",
            "statement_timeout": str(self.statement_timeout_ms)})
        try:
            outcome = await self._locked(conn, periodic)
        except BaseException:
            conn.terminate()  # never wait on a cancelled or broken connection; the server drops the lock
            raise
        await conn.close()  # releases the session lock
        return outcome

    async def _locked(self, conn: asyncpg.Connection, periodic: bool) -> Outcome:
        deadline = asyncio.get_running_loop().time() + LOCK_WAIT_SECONDS
        while not await conn.fetchval(_sql("audit_checkpoint_lock")):
            if periodic:
                return Outcome("busy")
            if asyncio.get_running_loop().time() > deadline:
                raise SetupError(f"another process has been signing a checkpoint for over {LOCK_WAIT_SECONDS:.0f} s")
            await asyncio.sleep(0.1)
        last = await conn.fetchrow(_sql("audit_checkpoint_last"))  # the newest of any key: the next seq, its age
        # The table is append-only, not insert-proof: the signer continues only from a checkpoint its own key
        # signed (one claiming its key id whose signature fails is a forgery: refused); rows of an earlier key
        # (before a rotation) or of an unknown one are not vouched for.
        mine = await conn.fetchrow(_sql("audit_checkpoint_last_of_key"), self.key_id)
        previous = self._own(SignedHead.from_row(mine)) if mine is not None else None
        head = await conn.fetchrow(_sql("audit_checkpoint_head"), previous.entry_id if previous else 0)
        if previous is not None:
            _check_extends(previous, head)
        if head is None:
            return Outcome("empty")
        status, newest = "signed", previous
        if previous is not None and head["id"] == previous.entry_id:
            status = "unchanged"
        elif periodic and last is not None and last["age_seconds"] < DUE_FRACTION * self.interval:
            status = "not due"
        else:
            newest = sign(self.key, seq=(last["seq"] + 1) if last is not None else 1, entry_id=head["id"],
                          entry_hash=head["hash"], entry_count=(previous.entry_count if previous else 0) + head["added"],
                          signed_at=head["now"])
            await conn.execute(_sql("audit_checkpoint_insert"), newest.seq, newest.entry_id, newest.entry_hash,
                               newest.entry_count, head["now"], newest.key_id, newest.signature)
        exported = False
        if self.export is not None and newest is not None:
            tail = await asyncio.to_thread(last_exported, self.export)
            # Every checkpoint since the file's last line (a failed append is made up for, so that the file's
            # seqs have no gap); a new file starts at the newest.
            after = tail.seq if tail is not None else newest.seq - 1
            missing = [self._own(SignedHead.from_row(r))
                       for r in await conn.fetch(_sql("audit_checkpoints_after"), after) if r["key_id"] == self.key_id]
            exported = bool(missing) and await asyncio.to_thread(self._export, missing)
        return Outcome(status, newest, exported)

    def _own(self, head: SignedHead) -> SignedHead:
        """``head`` (a stored checkpoint with this signer's key id) if the key signed it, else ChainRegression: a
        row someone inserted is never continued from nor exported."""
        problem = signature_problem(head, {self.key_id: self.key.public_key()})
        if problem is not None:
            raise ChainRegression(f"the stored {problem}; nothing is signed or exported over it")
        return head

    def _export(self, heads: list[SignedHead]) -> bool:
        """Append ``heads`` in order, one line each."""
        assert self.export is not None
        for head in heads:
            append_export(self.export, head)
        return True

    async def run(self, url: str) -> None:
        """The lifespan's task: an attempt now, then every ``interval`` seconds, until cancelled. Failures are
        logged and retried at the next interval; a chain that no longer extends the newest checkpoint is
        logged as an error every time (nothing is signed over it)."""
        while True:
            try:
                outcome = await self.checkpoint(url, periodic=True)
                if outcome.status == "signed" and outcome.newest is not None:
                    log.info("audit checkpoint %s: %d entries", outcome.newest.label, outcome.newest.entry_count)
            except asyncio.CancelledError:
                raise
            except ChainRegression as exc:
                log.error("AUDIT LOG TAMPERED: %s; no checkpoint is signed over it", exc)
            except Exception:  # noqa: BLE001 - e.g. the database is restarting, the export disk is full
                log.warning("audit checkpoint failed; retrying in %.0f s", self.interval, exc_info=True)
            await asyncio.sleep(self.interval)


def _check_extends(previous: SignedHead, head: Mapping[str, Any] | None) -> None:
    """ChainRegression unless the log still holds ``previous``'s entry with ``previous``'s hash."""
    if head is None:
        raise ChainRegression(f"the audit log is empty, but {previous.label} covers {previous.entry_count} entries")
    if head["previous_hash"] is None:
        raise ChainRegression(f"{previous.label} not found: the log has no entry {previous.entry_id} "
                              f"(its head is entry {head['id']})")
    if head["previous_hash"] != previous.entry_hash:
        raise ChainRegression(f"entry {previous.entry_id} hash differs from {previous.label}: it, or an entry "
                              "before it, was rewritten and the chain re-hashed")


_said_off = False


def signer_from_settings(settings: Any) -> Signer | None:
    """The process's signer, or None when ``HUB_AUDIT_SIGNING_KEY`` is not set (said once per process).
    SetupError when the key file cannot be used or the export file's folder does not exist."""
    global _said_off
    if settings.audit_signing_key is None:
        if not _said_off:
            _said_off = True
            log.warning("audit checkpoints are off: HUB_AUDIT_SIGNING_KEY is not set, so removing the newest audit "
                        "entries, or rewriting and re-hashing them, is not detectable (see `hub audit keygen`)")
        return None
    key = load_private_key(settings.audit_signing_key)
    export = settings.audit_checkpoint_export
    if export is not None and not export.parent.is_dir():
        raise SetupError(f"HUB_AUDIT_CHECKPOINT_EXPORT: the folder of {export} does not exist")
    if export is None:
        log.warning("audit checkpoints are signed and stored but not exported: set HUB_AUDIT_CHECKPOINT_EXPORT to "
                    "a file kept away from the database")
    return Signer(key, export, settings.audit_checkpoint_seconds,
                  connect_timeout=settings.db_connect_timeout_ms / 1000,
                  statement_timeout_ms=settings.statement_timeout_ms)


def public_keys_by_id(keys: Iterable[Ed25519PublicKey]) -> dict[str, Ed25519PublicKey]:
    return {key_id(k): k for k in keys}
